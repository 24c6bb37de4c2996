"""`crawler fixtures check|regen`: judge the saved fixture pages, or refresh chosen expected fields."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.core.status import CommandError
from crawler.extract import NotAnArticle
from crawler.testing.fixturecheck import DEFAULT_DIR, SNIPPET_KEYS, Fixture, compare, load_fixtures, regen

FAILED_STATUS = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fixtures", help="check extraction against the saved fixture pages, or refresh them")
    fsub = p.add_subparsers(dest="fixtures_command", metavar="ACTION", required=True)
    check = fsub.add_parser(
        "check",
        help="judge every fixture against its snapshot and hand-written truth",
        description="Judge every fixture: expected.json field by field, meta.json's hand-written "
        "truth (title, published, section, authors) and the body_contains/body_excludes lists. A "
        "fixture whose hand-written lists are empty, too short or hold text its page does not "
        "have fails too. Exit status 1 when any fixture fails.",
    )
    check.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"fixture folder (default {DEFAULT_DIR})")
    check.add_argument("--only", metavar="NAME", help="only fixtures whose folder name contains NAME")
    check.set_defaults(func=run_check)
    re = fsub.add_parser(
        "regen",
        help="refresh expected.json from the current extraction (default: only fill missing fields)",
        description="Refresh expected.json. Without --fields only missing fields are filled; the "
        "hand-written body_contains, body_excludes and not_an_article entries are never touched.",
    )
    re.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"fixture folder (default {DEFAULT_DIR})")
    re.add_argument("--fields", help="comma-separated item fields to rewrite, e.g. body,lead")
    re.add_argument("--only", metavar="NAME", help="only fixtures whose folder name contains NAME")
    re.set_defaults(func=run_regen)


def _fixtures(root: Path, only: str | None) -> list[Fixture]:

    if not root.is_dir():
        raise CommandError(f"no fixture folder at {root}")
    try:
        found = load_fixtures(root, only)
    except (OSError, ValueError, KeyError) as exc:
        raise CommandError(f"bad fixture under {root}: {exc}") from None
    if not found:
        raise CommandError(f"no fixtures under {root}" + (f" matching {only!r}" if only else ""))
    return found


def run_check(args: argparse.Namespace) -> int:
    fixtures = _fixtures(args.dir, args.only)
    rows = []
    for fx in fixtures:
        v = compare(fx)
        verdict = "ok" if v.ok else "FAIL"
        f1 = f"{v.body_f1:.3f}" if v.body_f1 is not None else "-"
        failing = "; ".join(f"{k}: {why}" for k, why in v.failures.items())
        rows.append((f"{fx.kind[:-1].replace('_', '-')}/{fx.name}", verdict, f1, failing))
    width = max(len(r[0]) for r in rows)
    print(f"{'fixture':<{width}}  verdict  body F1  failing fields")
    for name, verdict, f1, failing in rows:
        print(f"{name:<{width}}  {verdict:<7}  {f1:>7}  {failing}")
    failed = sum(1 for r in rows if r[1] != "ok")
    print(f"\n{len(rows) - failed} of {len(rows)} fixtures pass")
    return FAILED_STATUS if failed else 0


def run_regen(args: argparse.Namespace) -> int:

    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    if fields:
        bad = [f for f in fields if f in SNIPPET_KEYS or f == "not_an_article"]
        if bad:
            raise CommandError(f"{bad[0]} is hand-written and never regenerated; edit expected.json instead")
        from crawler.core.items import ARTICLE_FIELDS

        unknown = [f for f in fields if f not in ARTICLE_FIELDS]
        if unknown:
            raise CommandError(f"unknown item field {unknown[0]!r} (fields: {', '.join(ARTICLE_FIELDS)})")
    status = 0
    for fx in _fixtures(args.dir, args.only):
        try:
            changed = regen(fx, fields)
        except NotAnArticle as exc:
            print(f"{fx.name}: not regenerated: {exc.reason}")
            status = FAILED_STATUS
            continue
        print(f"{fx.name}: {', '.join(changed) if changed else 'unchanged'}")
    return status
