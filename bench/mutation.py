"""Mutation score: how many small, realistic bugs in the modules users rely on most the tests catch.

Each mutant is one hand-written edit of the source text (a boundary moved, a condition dropped, a default
changed) in the store, the exports, incremental skipping, mirror failover, the dupe filter, date windows,
redaction, the drift alarm and the politeness defaults. The repository is copied once into a temporary folder
(the working tree is never touched); each mutant is applied there alone, the fast test files that cover its
module run against it (`-x`: the first failure kills it), and the file is restored. Prints one line per
mutant with the test that caught it (checked to pass without the mutant), then the kill ratio and the
survivors (docs/promises.md lists the known ones and why they are harmless).

    .venv/bin/python bench/mutation.py                    # every mutant (15-20 minutes on a loaded two-core machine)
    .venv/bin/python bench/mutation.py --only since,451   # mutants whose name contains one of these
    .venv/bin/python bench/mutation.py --list             # the mutants, applied to nothing
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

UNIT = tuple(sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("tests/**/test_unit_*.py")))
"""The in-process tests of every layer (tests/<layer>/test_unit_*.py)."""
FAST = ("tests/crawl/test_unit_promises.py", "tests/cli/test_export_window.py", "tests/store/test_store.py", *UNIT)
"""The fast tier (in process, about ten seconds): what most mutants are judged by. The edge tests come first, so
with `-x` most mutants are caught within seconds (pytest collects a file named twice once)."""


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...] = FAST


def m(name: str, path: str, old: str, new: str, *tests: str) -> Mutant:
    return Mutant(name, path, old, new, tests or FAST)


SQL = "crawler/store/sql.py"
WHEN = "crawler/store/when.py"
INCR = "crawler/crawl/storing/incremental.py"
MW = "crawler/crawl/middlewares.py"
MIRRORS = "crawler/crawl/mirrors.py"
ARCH = "crawler/crawl/spiders/archived.py"
SPIDER = "crawler/crawl/spiders/presstv.py"
CDX = "crawler/archives/cdx.py"
REDACT = "crawler/core/redact.py"
EXPORT = "crawler/cli/commands/export.py"
OUTPUTS = "crawler/core/outputs.py"
TERMINAL = "crawler/core/terminal.py"
KEY = "crawler/core/articlekey.py"
EXT = "crawler/crawl/extensions.py"
SETTINGS = "crawler/crawl/settings.py"
WARC_TEST = "tests/cli/test_export_warc.py::test_every_stored_page_is_a_response_record_that_warcio_check_passes"
POLITE_TEST = "tests/crawl/test_politeness_defaults.py"
FLOOR_TEST = "tests/crawl/test_drift_alarm.py::test_each_coverage_floor_alarms_just_below_it_and_not_at_it"
POOL_TEST = (
    "tests/crawl/test_failover.py::test_mirror_pool_prefers_healthy_mirrors_sets_failing_ones_aside_and_takes_them_back"
)

MUTANTS: tuple[Mutant, ...] = (
    # ---- the store: windows, order, versions -----------------------------------------------------------
    m("store-since-exclusive", SQL, 'clauses.append(f"{column} >= ?")', 'clauses.append(f"{column} > ?")'),
    m("store-until-inclusive", SQL, 'clauses.append(f"{column} < ?")', 'clauses.append(f"{column} <= ?")'),
    m(
        "store-export-newest-first",
        SQL,
        'f"{where} ORDER BY a.published_utc NULLS FIRST, a.article_id"',
        'f"{where} ORDER BY a.published_utc DESC NULLS FIRST, a.article_id"',
    ),
    m("store-export-any-order", SQL, 'f"{where} ORDER BY a.published_utc NULLS FIRST, a.article_id"', 'f"{where}"'),
    m("store-section-case-sensitive", SQL, '"lower(a.section) = lower(?)"', '"a.section = ?"'),
    m("store-changed-since-exclusive", SQL, '"a.changed_at >= ?"', '"a.changed_at > ?"'),
    m(
        "store-edited-includes-unedited",
        SQL,
        '"a.version > 1 AND a.changed_at >= ?"',
        '"a.version >= 1 AND a.changed_at >= ?"',
    ),
    m("store-version-not-incremented", SQL, "version = int(current[0]) + 1", "version = int(current[0])"),
    m(
        "store-metadata-change-dropped",
        SQL,
        "if {k: v for k, v in old.items() if k not in _VOLATILE} != {",
        "if {k: v for k, v in old.items() if k not in _VOLATILE} == {",
    ),
    m("store-same-text-is-a-version", SQL, "if current[1] != digest or headline_changed(old_item, data):", "if True:"),
    # ---- user dates and durations ---------------------------------------------------------------------
    m(
        "since-bare-date-end-of-day",
        WHEN,
        "date.fromisoformat(text), datetime.min.time()",
        "date.fromisoformat(text), datetime.max.time()",
    ),
    m(
        "when-offset-ignored",
        WHEN,
        "return utc_key(datetime.fromisoformat(str(text)))",
        "return utc_key(datetime.fromisoformat(str(text)).replace(tzinfo=None))",
    ),
    m("when-day-is-an-hour", WHEN, '"d": 86400', '"d": 3600'),
    m("when-zero-duration-accepted", WHEN, "if seconds <= 0:", "if seconds < 0:"),
    # ---- incremental skipping ---------------------------------------------------------------------------
    m("refresh-published-only", INCR, ' or (stored.modified_utc or "") >= cutoff', ""),
    m(
        "refresh-window-edge-excluded",
        INCR,
        'if (stored.published_utc or "") >= cutoff',
        'if (stored.published_utc or "") > cutoff',
    ),
    m("full-ignored", INCR, "if handle is None or self.full:", "if handle is None:"),
    m(
        "incremental-skips-nothing",
        INCR,
        "        if stored is None:\n            return None",
        "        if stored is None or True:\n            return None",
    ),
    # ---- mirror failover, Retry-After -----------------------------------------------------------------
    m("failover-451-not-a-block", MW, "if response.status in (403, 451):", "if response.status in (403,):"),
    m("failover-403-not-a-block", MW, "if response.status in (403, 451):", "if response.status in (451,):"),
    m("failover-410-not-gone", MW, "if response.status in (404, 410):", "if response.status in (404,):"),
    m(
        "pool-threshold-off-by-one",
        MIRRORS,
        "if m.failures >= self.fail_threshold",
        "if m.failures > self.fail_threshold",
    ),
    m(
        "pool-no-cooldown",
        MIRRORS,
        "m.set_aside_until = self._clock() + self.cooldown",
        "m.set_aside_until = self._clock()",
    ),
    m("pool-seized-not-last", MIRRORS, "return (3, 0.0)", "return (0, 0.0)"),
    m("pool-recent-failure-not-ranked-down", MIRRORS, "return (1, 0.0)", "return (0, 0.0)", *FAST, POOL_TEST),
    m(
        "pool-success-keeps-failures",
        MIRRORS,
        "        m.responses += 1\n        m.failures = 0\n",
        "        m.responses += 1\n",
    ),
    m("notice-word-limit-low", MW, "NOTICE_MAX_WORDS = 400", "NOTICE_MAX_WORDS = 40"),
    m("retry-after-http-date-ignored", MW, "return max(0.0, when.timestamp() - time.time())", "return None"),
    m(
        "archive-retry-after-ignored",
        MW,
        "wait = min(self.backoff if asked is None else asked, self.max_wait)",
        "wait = min(self.backoff, self.max_wait)",
    ),
    m(
        "archive-retry-after-uncapped",
        MW,
        "wait = min(self.backoff if asked is None else asked, self.max_wait)",
        "wait = self.backoff if asked is None else asked",
    ),
    m(
        "archive-stops-one-early",
        MW,
        "if count > self.max_throttles:\n            self._stop(source, response.status",
        "if count >= self.max_throttles:\n            self._stop(source, response.status",
    ),
    m(
        "archive-rate-not-halved",
        MW,
        "slot.delay = min(max(slot.delay * 2, 0.1), max(self.max_delay, slot.delay))",
        "slot.delay = min(max(slot.delay, 0.1), max(self.max_delay, slot.delay))",
    ),
    # ---- the dupe filter --------------------------------------------------------------------------------
    m(
        "dupe-key-includes-url",
        KEY,
        'return article_key(request.meta.get("article_id"))',
        "return article_key(f\"{request.meta.get('article_id')}:{request.url}\")",
    ),
    m(
        "dupe-redirect-exemption-widened",
        KEY,
        'return bool(request.meta.get("article_id") and request.meta.get("redirect_urls"))',
        'return bool(request.meta.get("article_id") or request.meta.get("redirect_urls"))',
    ),
    # ---- date windows: backfills and live runs ----------------------------------------------------------
    m(
        "backfill-drops-last-day",
        ARCH,
        "not since <= parsed.path_date <= until",
        "not since <= parsed.path_date < until",
    ),
    m(
        "backfill-drops-first-day",
        ARCH,
        "not since <= parsed.path_date <= until",
        "not since < parsed.path_date <= until",
    ),
    m(
        "backfill-drops-last-month",
        CDX,
        "while (year, month) <= (until.year, until.month):",
        "while (year, month) < (until.year, until.month):",
    ),
    m("backfill-captures-from-month-start", CDX, 'start = f"{since:%Y%m%d}000000"', 'start = f"{since:%Y%m}01000000"'),
    m("backfill-unpadded-months-dropped", CDX, "if month < 10:", "if month < 1:"),
    m(
        "sitemap-january-previous-year",
        SPIDER,
        "prev = date(today.year - 1, 12, 1) if today.month == 1",
        "prev = date(today.year, 12, 1) if today.month == 1",
    ),
    m(
        "sitemap-utc-not-outlet-day",
        SPIDER,
        "today = self.clock().astimezone(self.outlet.timezone).date()",
        "today = self.clock().date()",
    ),
    m("live-window-drops-last-day", SPIDER, "(self.until and day > self.until)", "(self.until and day >= self.until)"),
    m(
        "one-day-window-refused",
        SPIDER,
        "if self.since and self.until and self.since > self.until:",
        "if self.since and self.until and self.since >= self.until:",
    ),
    # ---- redaction -------------------------------------------------------------------------------------
    m("redact-password-param-case", REDACT, '(?P<secret>[^&\\s#]+)", re.IGNORECASE)', '(?P<secret>[^&\\s#]+)")'),
    m("redact-password-stops-at-at", REDACT, "(?P<secret>[^/\\s]+)@", "(?P<secret>[^/\\s@]+)@"),
    m(
        "redact-keyword-needs-url",
        REDACT,
        'if "://" not in text and "password" not in text.lower() and not any(s in text for s in secrets):',
        'if "://" not in text:',
    ),
    m("redact-logs-off", REDACT, "        masked = redact(message)\n", "        masked = message\n"),
    # ---- exports and the drift alarm --------------------------------------------------------------------
    m("export-gz-not-compressed", EXPORT, 'if name.endswith(".gz") else raw', 'if name.endswith(".gzip") else raw'),
    m("export-part-file-kept", OUTPUTS, "        os.replace(tmp, path)\n", "        os.link(tmp, path)\n"),
    m(
        "export-ascii-escaped",
        TERMINAL,
        "text = json.dumps(value, ensure_ascii=False, **kwargs)",
        "text = json.dumps(value, **kwargs)",
    ),
    m(
        "warc-date-is-fetch-time",
        EXPORT,
        "datetime.fromisoformat(page.archived_at or page.fetched_at)",
        "datetime.fromisoformat(page.fetched_at)",
        WARC_TEST,
    ),
    m("alarm-not-at-half", EXT, "missed * 2 >= items", "missed * 2 > items"),
    m("alarm-floor-inclusive", EXT, "if share < floors[floor_key]:", "if share <= floors[floor_key]:", FLOOR_TEST),
    # ---- politeness defaults -------------------------------------------------------------------------
    m("robots-not-obeyed", SETTINGS, "ROBOTSTXT_OBEY = True", "ROBOTSTXT_OBEY = False", POLITE_TEST),
    m("no-download-delay", SETTINGS, "DOWNLOAD_DELAY = 0.5", "DOWNLOAD_DELAY = 0", POLITE_TEST),
)


def copy_repository(dest: Path) -> None:
    """The repository's files (tracked, and new ones not ignored) under `dest`."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_tests(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[bool, str]:
    """(passed, last lines of output) of pytest on `tests` in the copy, its own code first on the path."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-rf",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=-p hermetic",
        *tests,
    ]
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s (a hang counts as caught)"
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    failed = [ln.split()[1] for ln in lines if ln.startswith("FAILED ")]
    if failed:
        return False, f"caught by {failed[0]}"
    return proc.returncode == 0, lines[-1] if lines else proc.stderr.strip()[-200:]


def check(mutants: list[Mutant]) -> None:
    for mutant in mutants:
        text = (ROOT / mutant.path).read_text(encoding="utf-8")
        found = text.count(mutant.old)
        if found != 1:
            raise SystemExit(f"mutant {mutant.name}: its text occurs {found} times in {mutant.path} (must be once)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated parts of mutant names to run")
    parser.add_argument("--list", action="store_true", help="list the mutants and check they apply, run nothing")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one mutant's tests may take")
    args = parser.parse_args()
    wanted = [w for w in args.only.split(",") if w]
    mutants = [mu for mu in MUTANTS if not wanted or any(w in mu.name for w in wanted)]
    if not mutants:
        raise SystemExit(f"no mutant matches {args.only!r}")
    check(mutants)
    if args.list:
        for mu in mutants:
            print(f"{mu.name:<40} {mu.path}")
        return 0
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copy = Path(tmp) / "repo"
        copy_repository(copy)
        started = time.monotonic()
        baseline, detail = run_tests(copy, tuple(sorted({t for mu in mutants for t in mu.tests})), args.timeout)
        if not baseline:
            print(f"the unmutated tests fail, no score: {detail}", file=sys.stderr)
            return 1
        print(f"baseline passes ({time.monotonic() - started:.0f} s); {len(mutants)} mutants", flush=True)
        survivors: list[Mutant] = []
        for mu in mutants:
            target = copy / mu.path
            original = target.read_text(encoding="utf-8")
            target.write_text(original.replace(mu.old, mu.new, 1), encoding="utf-8")
            began = time.monotonic()
            try:
                passed, detail = run_tests(copy, mu.tests, args.timeout)
            finally:
                target.write_text(original, encoding="utf-8")
            if not passed and detail.startswith("caught by "):
                # A kill counts only if the catching test passes without the mutant: a test that failed for
                # another reason (a flaky one on a loaded machine) proves nothing, and the mutant counts as alive.
                catcher = detail.removeprefix("caught by ")
                if not run_tests(copy, (catcher,), args.timeout)[0]:
                    passed, detail = True, f"not decided: {catcher} fails without the mutant too"
            if passed:
                survivors.append(mu)
            print(
                f"{'SURVIVED' if passed else 'killed':<8} {mu.name:<40} {time.monotonic() - began:5.1f} s  {detail}",
                flush=True,
            )
    killed = len(mutants) - len(survivors)
    print(f"\nkill ratio {killed}/{len(mutants)} = {killed / len(mutants):.0%} in {time.monotonic() - started:.0f} s")
    for mu in survivors:
        print(f"survivor: {mu.name} ({mu.path}): {mu.old!r} -> {mu.new!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
