"""`crawler import-warc`: store the outlet's article pages found in WARC/ARC files, as a crawl would have."""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures.process import BrokenProcessPool

from tqdm import tqdm

from crawler.archives.warc import WarcSkip
from crawler.cli.commands.argtypes import whole
from crawler.core.status import CommandError, ExitStatus
from crawler.core.terminal import safe
from crawler.store import StoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-warc",
        help="extract and store the outlet's article pages held in WARC/ARC files (gzipped or not)",
        description="Read WARC and ARC files, extract every response record of an outlet article URL and store "
        'it like a crawled page (fetched_from "warc", archived_at = the record\'s WARC-Date). Other records are '
        "counted by reason; damaged ones are reported with their file and offset. Importing the same files "
        "again adds nothing; an interrupted import resumes when run again. Not while a crawl writes to the "
        "same store.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH_OR_GLOB",
        help="WARC/ARC files or globs (quote a glob to let the command expand it; ** recurses)",
    )
    p.add_argument(
        "--workers", type=whole(1, 1024), default=None, metavar="N", help="extraction processes (default: every core)"
    )
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def _page_size_limit() -> int:
    """The DOWNLOAD_MAXSIZE setting (the crawl's page size limit), which bounds each record's decoded payload."""
    from scrapy.utils.project import get_project_settings

    return get_project_settings().getint("DOWNLOAD_MAXSIZE") or 16 * 1024 * 1024


def run(args: argparse.Namespace) -> int:
    from crawler.cli.commands.common import store_path
    from crawler.services.warcimport import WarcInputError, import_warcs, resolve_inputs

    if args.workers is not None and args.workers < 1:
        raise CommandError("--workers must be at least 1")
    path = store_path(args)
    try:
        files = resolve_inputs(args.paths)
    except WarcInputError as exc:
        raise CommandError(str(exc)) from None
    total = sum(f.stat().st_size for f in files)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        desc="import-warc",
        dynamic_ncols=True,
    )
    records = 0
    started = last = time.monotonic()

    def progress(more_records: int, more_bytes: int) -> None:
        nonlocal records, last
        records += more_records
        bar.update(more_bytes)
        now = time.monotonic()
        if now - last >= 0.5:
            last = now
            bar.set_postfix_str(f"{records} records, {records / max(now - started, 1e-9):.0f} records/s", refresh=False)

    def problem(skip: WarcSkip) -> None:
        bar.write(
            safe(f"crawler: warning: {skip.file} at offset {skip.offset}: {skip.reason}", newlines=False),
            file=sys.stderr,
        )

    try:
        counts = import_warcs(
            path, files, workers=args.workers, progress=progress, on_problem=problem, max_bytes=_page_size_limit()
        )
    except KeyboardInterrupt:
        bar.close()
        print(
            "import-warc: interrupted; what was imported is kept, run the same command again to resume", file=sys.stderr
        )
        return ExitStatus.INTERRUPTED
    except StoreError as exc:
        raise CommandError(str(exc), ExitStatus.STORE_ERROR) from None
    except BrokenProcessPool:
        raise CommandError(
            "an extraction worker died (out of memory?); what was imported is kept: run the same "
            "command again to resume, with fewer --workers"
        ) from None
    except OSError as exc:
        raise CommandError(
            f"cannot read {getattr(exc, 'filename', '') or 'a WARC file'}: {exc.strerror or exc}"
        ) from None
    finally:
        bar.close()
    print(f"import-warc: {counts.line()}")
    return 0
