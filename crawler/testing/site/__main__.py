"""Run the look-alike site as a process: `python -m crawler.testing.site --mirrors seized,refuse,503,healthy`."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from crawler.testing.site import BEHAVIOURS, FIXTURES_ROOT, MirrorSpec, SiteCorpus, serve_site


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; the first stdout line is `mirrors=<comma-separated base URLs>`."""
    parser = argparse.ArgumentParser(prog="python -m crawler.testing.site", description=__doc__)
    parser.add_argument(
        "--mirrors", default="healthy", help=f"comma-separated behaviours in priority order ({', '.join(BEHAVIOURS)})"
    )
    parser.add_argument("--port", type=int, default=0, help="port of the first mirror, the next ones follow (0: free)")
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 or ::1 (nothing else is allowed)")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES_ROOT, help="fixture root to serve")
    parser.add_argument("--generate", type=int, default=0, help="also serve this many generated articles")
    parser.add_argument("--pad-to", type=int, default=0, help="size of generated pages in bytes")
    args = parser.parse_args(argv)
    behaviours = [b.strip() for b in args.mirrors.split(",") if b.strip()]
    try:
        specs = [MirrorSpec(behaviour=b, port=args.port + i if args.port else 0) for i, b in enumerate(behaviours)]
        corpus = SiteCorpus()
        if args.fixtures.is_dir():
            corpus.add_fixtures(args.fixtures)
        if args.generate:
            corpus.generate(args.generate, pad_to_bytes=args.pad_to)
        with serve_site(corpus, specs, host=args.host) as site:
            print(f"mirrors={site.mirrors_arg}", flush=True)
            print(f"serving {len(corpus.articles())} pages; Ctrl-C to stop", file=sys.stderr, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    except (ValueError, OSError) as exc:
        print(f"crawler.testing.site: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
