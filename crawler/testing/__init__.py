"""Test aids that ship with the package: the look-alike site, its fixture pages, mutations and fixture checks."""
