"""`python -m crawler` runs the command-line interface."""

from crawler.cli import main

raise SystemExit(main())
