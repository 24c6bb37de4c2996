"""Subcommands of the `crawler` command line, one module each."""
