"""The package's layers hold: each package imports only its own layer and the ones below it, the store imports
neither Scrapy nor extraction, and Press TV facts live in the outlet profile alone."""

from __future__ import annotations

import ast
import itertools
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from crawler.store import ArticleStore, open_store
from crawler.store.sqlite import SQLiteStore

PACKAGE = Path(__file__).resolve().parents[1] / "crawler"
PROFILE = PACKAGE / "outlet" / "profiles" / "presstv.toml"
FORBIDDEN_IN_STORE = ("scrapy", "twisted", "crawler.extract")

LAYERS = ("core", "outlet", "extract", "archives", "store", "pool", "crawl", "services", "testing", "cli")
"""The packages of `crawler`, bottom to top: each may import its own layer and the ones before it, never a later
one. `testing` (the look-alike site and fixture checks) sits just below `cli`, so nothing but the command line
(and the tests) imports it. The root holds only `__init__.py` (the version, importable by all) and `__main__.py`."""

ROOT_MODULES = ("__init__.py", "__main__.py")

# Where outlet facts may be written down: the profiles and their loader. The look-alike site (crawler/testing/site)
# is a stand-in for the outlet itself, served to the tests, so it is Press TV by design.
FACT_HOMES = ("outlet/", "testing/site/")

_DOTTED = re.compile(r"crawler(\.\w+)+")


def module_name(path: Path) -> str:
    """The dotted name of a module file of the package (crawler/crawl/mirrors.py: crawler.crawl.mirrors)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in a module's source, relative imports resolved against `module`, and
    every string in the code that is a dotted path into the package (what Scrapy's settings and
    `import_module` load)."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
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
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _DOTTED.fullmatch(node.value):
            yield node.lineno, node.value


def layer_of(module: str) -> int | None:
    """The index in LAYERS of a module of the package; None for the root package and for what is not in it."""
    parts = module.split(".")
    if parts[0] != "crawler" or len(parts) < 2:
        return None
    if parts[1] == "__main__":
        return len(LAYERS) - 1  # `python -m crawler` is the command line
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "fixtures" not in p.relative_to(PACKAGE).parts)


def layering_breaches(paths: list[Path]) -> list[str]:
    """Each import (or dotted path) that runs up the layers, or into a package outside them."""
    breaches = []
    for path in paths:
        name = module_name(path)
        own = layer_of(name)
        where = path.relative_to(PACKAGE.parent)
        if own is None:
            if path.parent != PACKAGE or path.name not in ROOT_MODULES:
                breaches.append(f"{where}: not in any layer of {LAYERS}")
            continue
        for line, imported in imported_modules(
            path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py"
        ):
            parts = imported.split(".")
            if parts[0] != "crawler" or len(parts) < 2 or parts[1] == "__version__":
                continue
            theirs = layer_of(imported)
            if theirs is None and parts[1] in {p.name for p in PACKAGE.iterdir()}:
                breaches.append(f"{where}:{line} imports {imported}, outside the layers")
            elif theirs is not None and theirs > own:
                breaches.append(f"{where}:{line} ({LAYERS[own]}) imports {imported} ({LAYERS[theirs]}), a later layer")
    return breaches


def test_every_package_imports_only_its_own_layer_and_the_ones_below() -> None:
    paths = package_modules()
    assert len(paths) > 50, "the package's modules were not found"
    breaches = layering_breaches(paths)
    assert not breaches, "\n".join(breaches)


def test_every_folder_of_the_package_is_a_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    # Data folders (the JSON schema) hold no modules; every folder with a module is a layer.
    with_code = {f for f in folders if any((PACKAGE / f).rglob("*.py"))}
    assert with_code == set(LAYERS)
    assert {p.name for p in PACKAGE.glob("*.py")} == set(ROOT_MODULES)


def test_a_module_importing_a_later_layer_is_caught(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from crawler.crawl import settings\n", encoding="utf-8")
    names = [n for _, n in imported_modules(probe.read_text(encoding="utf-8"), "crawler.store.probe")]
    assert "crawler.crawl.settings" in names
    assert layer_of("crawler.crawl.settings") > layer_of("crawler.store.probe")  # type: ignore[operator]
    assert layer_of("crawler.cli.commands.demo") > layer_of("crawler.testing.site")  # type: ignore[operator]
    assert layer_of("crawler.__main__") == LAYERS.index("cli")


def test_the_import_check_catches_every_import_form() -> None:
    sample = (
        "import scrapy\nfrom twisted.internet import task\nfrom ..extract import extract\n"
        'from . import sql\nPIPE = "crawler.crawl.pipelines.extract_page"\nLOCK = "crawler.schedule.lock"\n'
    )
    names = [name for _, name in imported_modules(sample, "crawler.store.probe")]
    assert {
        "scrapy",
        "twisted.internet",
        "crawler.extract",
        "crawler.store.sql",
        "crawler.crawl.pipelines.extract_page",
    } <= set(names)
    # In a package's __init__, `.` is that package itself.
    assert "crawler.store.sql" in [
        n for _, n in imported_modules("from .sql import X\n", "crawler.store", is_package=True)
    ]


def test_the_store_imports_neither_scrapy_twisted_nor_extraction() -> None:
    modules = sorted((PACKAGE / "store").rglob("*.py"))
    assert modules, "no store modules found"
    offending = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in modules
        for line, name in imported_modules(
            path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"
        )
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_STORE)
    ]
    assert not offending, "\n".join(offending)


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
    heads |= {
        "/" + re.match(r"\^/(\w+)", p["regex"]).group(1).lower()  # type: ignore[union-attr]
        for p in data["article_patterns"]
    }
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
                if (
                    isinstance(before, ast.Assign | ast.AnnAssign)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                ):
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
    paths = [p for p in package_modules() if not p.relative_to(PACKAGE).as_posix().startswith(FACT_HOMES)]
    found = outlet_facts_in_code(paths)
    assert not found, "outlet facts belong in crawler/outlet/profiles/*.toml:\n" + "\n".join(found)


def test_the_fact_check_sees_hosts_paths_phrases_and_era_names(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        'A = "https://www.presstv.co.uk/x"\nB = f"/section/{1}"\nC = "SHARE THIS ARTICLE"\n'
        'D = "2012"\nE = "discovery/rss/feeds"\n'
        'def f() -> None:\n    "presstv.ir in a docstring is prose"\n',
        encoding="utf-8",
    )
    found = outlet_facts_in_code([probe])
    assert sorted(line.split(":")[1] for line in found) == ["1", "2", "3", "4"], found
