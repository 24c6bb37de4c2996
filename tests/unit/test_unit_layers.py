"""The package's layering holds: the store imports neither Scrapy nor extraction, and Press TV facts live in
the outlet profile alone."""

from __future__ import annotations

import ast
import itertools
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from crawler.store import ArticleStore, open_store
from crawler.store.sqlite import SQLiteStore

PACKAGE = Path(__file__).resolve().parents[2] / "crawler"
PROFILE = PACKAGE / "outlet" / "profiles" / "presstv.toml"
FORBIDDEN_IN_STORE = ("scrapy", "twisted", "crawler.extract")

# Where outlet facts may be written down: the profiles and their loader. The look-alike site (crawler/testing/site)
# is a stand-in for the outlet itself, served to the tests, so it is Press TV by design.
FACT_HOMES = ("outlet/", "testing/site/")


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in a module, relative imports resolved against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def test_the_store_imports_neither_scrapy_twisted_nor_extraction() -> None:
    modules = sorted((PACKAGE / "store").rglob("*.py"))
    assert modules, "no store modules found"
    offending = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in modules
        for line, name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_STORE)
    ]
    assert not offending, "\n".join(offending)


def test_the_import_check_catches_every_import_form(tmp_path: Path) -> None:
    fake = PACKAGE / "store" / "_probe_never_committed.py"
    sample = "import scrapy\nfrom twisted.internet import task\nfrom ..extract import extract\n"
    try:
        fake.write_text(sample, encoding="utf-8")
        names = [name for _, name in imported_modules(fake)]
    finally:
        fake.unlink()
    assert "scrapy" in names and "twisted.internet" in names and "crawler.extract" in names


def test_sqlite_store_is_an_article_store(tmp_path: Path) -> None:
    store: ArticleStore = SQLiteStore(str(tmp_path / "s.sqlite"))  # mypy checks the protocol here
    store.close()
    with open_store(str(tmp_path / "s.sqlite"), readonly=True) as reader:
        assert reader.runs() == []


def _facts() -> tuple[set[str], set[str], set[str], set[str]]:
    """(host names, path heads, phrases, era and layout names) the profile holds."""
    data = tomllib.loads(PROFILE.read_text(encoding="utf-8"))
    hosts = {h.lower() for key in ("domains", "seized_domains", "non_page_hosts") for h in data["hosts"][key]}
    hosts.add(data["outlet"]["canonical_host"].lower())
    hosts |= {re.sub(r"^https?://", "", m).lower() for m in data["mirrors"]["default"]}
    # The outlet's own path heads (article URLs, section listings); /rss.xml and /sitemap.xml are the web's.
    heads = {"/" + data["discovery"]["section_listing"].strip("/").split("/")[0].lower()}
    heads |= {"/" + re.match(r"\^/(\w+)", p["regex"]).group(1).lower()  # type: ignore[union-attr]
              for p in data["article_patterns"]}
    phrases = {p.lower() for key in ("line_phrases", "contains_phrases") for p in data["boilerplate"][key]}
    phrases |= {p.lower() for key in ("seizure", "challenge", "error") for p in data["non_article"][key]}
    phrases = {p for p in phrases if len(p) >= 8}  # "Embed" is a word, not a fact
    names = {p["era"] for p in data["article_patterns"]} | {layout["name"] for layout in data["layouts"]}
    return hosts, heads, phrases, names


def _code_strings(path: Path) -> Iterator[tuple[int, str]]:
    """String constants of a module's code (f-string parts included), docstrings left out: prose may give
    an example, code may not hold the fact."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        # An attribute docstring (a string statement after an assignment) is documentation too.
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for before, after in itertools.pairwise(body):
                if isinstance(before, ast.Assign | ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(
                        after.value, ast.Constant):
                    docstrings.add(id(after.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def outlet_facts_in_code(paths: list[Path]) -> list[str]:
    hosts, heads, phrases, names = _facts()
    found = []
    for path in paths:
        for line, text in _code_strings(path):
            low = text.lower()
            hits = [h for h in hosts if re.search(rf"(?<![\w.-]){re.escape(h)}(?![\w-])", low)]
            # "/section/101" is the outlet's path; "//section[p]" is an XPath step naming an HTML tag.
            hits += [h for h in heads if re.search(rf"(?<!/){re.escape(h)}(?![a-z])", low)]
            hits += [p for p in phrases if p in low]
            hits += [n for n in names if text == n]
            if hits:
                where = path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE.parent) else path.name
                found.append(f"{where}:{line}: {text!r} holds {sorted(hits)}")
    return found


def test_no_module_outside_the_profile_holds_a_press_tv_fact() -> None:
    paths = [p for p in sorted(PACKAGE.rglob("*.py"))
             if not p.relative_to(PACKAGE).as_posix().startswith(FACT_HOMES)]
    found = outlet_facts_in_code(paths)
    assert not found, "outlet facts belong in crawler/outlet/profiles/*.toml:\n" + "\n".join(found)


def test_the_fact_check_sees_hosts_paths_phrases_and_era_names(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('A = "https://www.presstv.co.uk/x"\nB = f"/section/{1}"\nC = "SHARE THIS ARTICLE"\n'
                     'D = "2012"\nE = "discovery/rss/feeds"\n'
                     'def f() -> None:\n    "presstv.ir in a docstring is prose"\n', encoding="utf-8")
    found = outlet_facts_in_code([probe])
    assert sorted(line.split(":")[1] for line in found) == ["1", "2", "3", "4"], found
