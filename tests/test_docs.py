"""The README and the docs/ manual hold: every relative link and anchor resolves, every `crawler ...` and
`scrapy crawl ...` command line in a fenced block parses (without running), its spider arguments and settings
exist, and the README stays a landing page."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.cmdline import ScrapyArgumentParser
from scrapy.exceptions import UsageError
from scrapy.settings import default_settings
from scrapy.utils.project import get_project_settings

from crawler.cli import build_parser
from crawler.crawl import settings as project_settings
from crawler.crawl.commands.crawl import Command as CrawlCommand
from crawler.crawl.spiders.presstv import PresstvSpider

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

FIRST_LINES = [
    "bash scripts/bootstrap.sh && .venv/bin/crawler demo",
    "bash scripts/bootstrap.sh && .venv/bin/python -m pytest -q -n 2",
]
"""The README's first two commands, exactly: CI runs the second, and users paste the first."""

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")
SHELL_LANGS = ("bash", "sh", "shell", "console", "cron", "ini")
"""Fenced blocks whose lines are commands (a block without a language shows a program's output)."""
OPERATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "(", ")", "2>", "2>&1"}


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    lang: str
    text: str


def _blocks_and_prose(page: Path) -> tuple[list[Block], str]:
    """The fenced blocks of a page, and the rest of its text (where links count)."""
    blocks: list[Block] = []
    prose: list[str] = []
    fence: str | None = None
    lang, start = "", 0
    body: list[str] = []
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence, lang, start, body = m.group(2), m.group(3).strip(), n, []
        elif fence is not None and line.strip().startswith(fence) and not line.strip()[len(fence) :].strip():
            blocks.append(Block(page, start, lang, "\n".join(body)))
            fence = None
        elif fence is not None:
            body.append(line)
        else:
            prose.append(re.sub(r"`[^`]*`", "", line))  # a link written as code is not a link
    assert fence is None, f"{page.name}: code block opened at line {start} is never closed"
    return blocks, "\n".join(prose)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*?|_(?=\w)|(?<=\w)_", "", heading.strip()).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    _, prose = _blocks_and_prose(page)
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in prose.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def _links() -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for page in PAGES:
        _, prose = _blocks_and_prose(page)
        out.extend((page, target) for target in LINK.findall(prose))
    return out


def test_the_readme_is_a_landing_page_that_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"
    commands = [line.split("#", 1)[0].strip() for line in lines[:8] if line.startswith("bash ")]
    assert commands == FIRST_LINES
    assert "source .venv/bin/activate" in text
    assert "docs/README.md" in text and "docs/09-settings.md" in text and "docs/10-troubleshooting.md" in text


def test_every_relative_link_and_anchor_resolves() -> None:
    links = _links()
    assert len(links) > 50  # the manual is linked together, not a pile of pages
    broken = []
    for page, target in links:
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{page.relative_to(ROOT)}: {target} (no heading with that anchor)")
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_reachable_from_the_manual_index() -> None:
    linked = {
        (page.parent / t.partition("#")[0]).resolve()
        for page, t in _links()
        if page.name == "README.md" and not re.match(r"^[a-z]+:", t)
    }
    missing = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert not missing, f"not linked from README.md or docs/README.md: {missing}"


def test_every_crawler_setting_is_in_the_settings_reference_once() -> None:
    names = {
        m
        for path in (ROOT / "crawler").rglob("*.py")
        for m in re.findall(r"\bCRAWLER_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    reference = (ROOT / "docs" / "09-settings.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(CRAWLER_[A-Z0-9_]+)` \|", reference, flags=re.M)
    assert sorted(rows) == sorted(set(rows)), "a setting has two rows"
    assert sorted(names) == sorted(rows)


# ---- command lines in fenced blocks ---------------------------------------------------------------


def _command_lines() -> list[tuple[str, list[str]]]:
    """(where, argv) of every `crawler ...` and `scrapy crawl ...` in a fenced block, argv[0] the program."""
    found: list[tuple[str, list[str]]] = []
    for page in PAGES:
        blocks, _ = _blocks_and_prose(page)
        for block in blocks:
            if block.lang not in SHELL_LANGS:
                continue  # a program's output, Python, JSON: not command lines
            for k, raw in enumerate(block.text.replace("\\\n", " ").splitlines()):
                where = f"{page.relative_to(ROOT)}:{block.line + k + 1}"
                try:
                    lexer = shlex.shlex(raw, posix=True, punctuation_chars=True)
                    lexer.whitespace_split = True
                    lexer.commenters = "" if block.lang == "ini" else "#"
                    tokens = list(lexer)
                except ValueError:
                    assert block.lang not in ("bash", "sh"), f"{where}: cannot be read as a shell line: {raw}"
                    continue
                found.extend((where, argv) for argv in _commands_in(tokens))
    return found


def _commands_in(tokens: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i].rsplit("=", 1)[-1] if "/" in tokens[i] else tokens[i]
        rest = tokens[i + 1 :]
        start = None
        if tok == "crawler" or tok.endswith("bin/crawler"):
            start = ["crawler"]
        elif (tok == "python" or tok.endswith("bin/python")) and rest[:2] == ["-m", "crawler"]:
            start, rest = ["crawler"], rest[2:]
        elif (tok == "scrapy" or tok.endswith("bin/scrapy")) and rest[:1] == ["crawl"]:
            start, rest = ["scrapy", "crawl"], rest[1:]
        if start is None:
            i += 1
            continue
        args = []
        for t in rest:
            if t in OPERATORS:
                break
            args.append(t)
        out.append(start + args)
        i += 1 + len(args)
    return out


KNOWN_SPIDER_ARGS = {
    name
    for name, p in inspect.signature(PresstvSpider.__init__).parameters.items()
    if name not in ("self", "kwargs", "outlet_profile") and p.kind is not p.VAR_KEYWORD
} | {"refresh", "full"}  # read by the incremental middleware from the spider's attributes
KNOWN_SETTINGS = {n for n in dir(default_settings) if n.isupper()} | {n for n in dir(project_settings) if n.isupper()}


def _check_names(where: str, spider_args: list[str], settings: list[str]) -> None:
    for arg in spider_args:
        name = arg.split("=", 1)[0]
        assert "=" in arg and name in KNOWN_SPIDER_ARGS, f"{where}: unknown spider argument -a {arg}"
    for setting in settings:
        name = setting.split("=", 1)[0]
        assert "=" in setting and name in KNOWN_SETTINGS, f"{where}: unknown setting -s {setting}"


def _check_crawler(where: str, argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 0, f"{where}: `{shlex.join(argv)}` does not parse: {err.getvalue().strip()}"
            return
    assert getattr(args, "func", None) or argv[:1] in (["--version"], ["--help"]), f"{where}: no command"
    extra = list(getattr(args, "scrapy_args", None) or getattr(args, "crawl_args", None) or [])
    settings = list(getattr(args, "settings", None) or [])
    settings += [extra[i + 1] for i, t in enumerate(extra[:-1]) if t == "-s"]
    _check_names(where, list(getattr(args, "spider_args", None) or []), settings)


def _check_scrapy_crawl(where: str, argv: list[str]) -> None:
    cmd = CrawlCommand()
    cmd.settings = get_project_settings().copy()
    parser = ScrapyArgumentParser(prog="scrapy crawl", conflict_handler="resolve")
    cmd.add_options(parser)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            opts, args = parser.parse_known_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: `scrapy crawl {shlex.join(argv)}` does not parse: {err.getvalue().strip()}")
    assert args == ["presstv"], f"{where}: `scrapy crawl {shlex.join(argv)}`: expected the spider name alone"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            cmd.process_options(args, opts)
        except UsageError as exc:
            pytest.fail(f"{where}: `scrapy crawl {shlex.join(argv)}`: {exc}")
        except SystemExit:
            # The command's own check of the names, one line on stderr (as a user would see it).
            raise AssertionError(f"{where}: `scrapy crawl {shlex.join(argv)}`: {err.getvalue().strip()}") from None
    _check_names(
        where, list((opts.spargs and [f"{k}={v}" for k, v in opts.spargs.items()]) or []), list(opts.set or [])
    )


def test_every_command_line_in_the_docs_parses() -> None:
    commands = _command_lines()
    assert sum(1 for _, argv in commands if argv[0] == "crawler") > 60
    assert sum(1 for _, argv in commands if argv[0] == "scrapy") > 10
    for where, argv in commands:
        if argv[0] == "crawler":
            _check_crawler(where, argv[1:])
        else:
            _check_scrapy_crawl(where, argv[2:])


def test_the_checker_refuses_what_a_user_would_trip_on() -> None:
    with pytest.raises(AssertionError, match="does not parse"):
        _check_crawler("x", ["search", "--json-lines", "sanctions"])
    with pytest.raises(AssertionError, match="unknown spider argument"):
        _check_crawler("x", ["crawl", "-a", "sinse=2026-01-01"])
    with pytest.raises(AssertionError, match="unknown setting"):
        _check_scrapy_crawl("x", ["presstv", "-s", "CRAWLER_STOER=x.sqlite"])
    assert _commands_in(shlex.split("cd /srv/crawler && .venv/bin/crawler runs -n 5 | head")) == [
        ["crawler", "runs", "-n", "5", "|", "head"][:4]
    ]
    assert "warc-import-benchwarcimportpy" in anchors(ROOT / "docs" / "performance.md")
