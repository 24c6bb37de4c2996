"""Build shim for `scrapyd-deploy` (it runs `setup.py bdist_egg`); all metadata lives in pyproject.toml."""

from setuptools import setup

setup()
