"""`crawler serve`: the store as a browsable, searchable archive in Datasette, opened read-only."""

from __future__ import annotations

import argparse
import sys

from crawler.cli.commands.argtypes import whole
from crawler.cli.commands.common import open_reader, store_path
from crawler.core.status import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="browse and search the store in a web browser (Datasette, read-only)",
        description="Open the store read-only in Datasette: articles with search and facets (section, author, "
        "language, month), each article's versions, failures and runs. Safe while a crawl writes. SQLite stores "
        "only. Listens on 127.0.0.1 unless told otherwise.",
    )
    p.add_argument("--port", type=whole(1, 65535), default=8001, help="port to listen on (default 8001)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; another address needs --allow-remote)",
    )
    p.add_argument(
        "--allow-remote",
        nargs="*",
        metavar="NAME",
        help="allow a --host other than loopback: anyone who can reach it reads the whole store "
        "and can run read-only SQL on it. Requests must name the server (Host header) by a loopback "
        "address or one of the NAMEs given here; with no NAME, by any name",
    )
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crawler.core.extras import missing

    if needs := missing("serve", "crawler serve"):
        raise CommandError(needs)
    from crawler.services.browse import is_loopback

    path = store_path(args)
    if "://" in path:
        raise CommandError(
            f"crawler serve works on SQLite store files only, not {path.split('://', 1)[0]}:// "
            "stores; use `crawler search`, `diff`, `coverage` and `export` there"
        )
    if not is_loopback(args.host) and args.allow_remote is None:
        raise CommandError(
            f"--host {args.host} is not loopback: add --allow-remote to serve the whole store to "
            "anyone who can reach that address"
        )
    # Checks the store and brings an older schema up to date before serving it read-only.
    open_reader(path).close()

    import uvicorn
    from datasette.app import Datasette
    from datasette.plugins import pm

    from crawler.outlet import load_outlet
    from crawler.services.browse import SETTINGS, ArchiveLinks, HostCheck, ReadOnlySQL, limit_sqlite_heap, metadata

    for plugin, name in ((ArchiveLinks, "crawler-archive-links"), (ReadOnlySQL, "crawler-read-only-sql")):
        if not pm.is_registered(plugin):
            pm.register(plugin, name=name)
    limit_sqlite_heap()
    # A mutable (not immutable) database: Datasette opens it with mode=ro, so it sees what a running crawl
    # commits and never writes the file.
    datasette = Datasette(files=[path], metadata=metadata(path, load_outlet("presstv").display_name), settings=SETTINGS)
    print(f"crawler: serving {path} read-only at http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    # Loopback names only, unless --allow-remote names others (or, given alone, accepts any).
    allowed = None if args.allow_remote == [] else [args.host, *(args.allow_remote or [])]
    uvicorn.run(HostCheck(datasette.app(), allowed), host=args.host, port=args.port, log_level="warning")
    return 0
