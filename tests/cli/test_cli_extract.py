"""`crawler extract` as a user runs it: one JSON item, exit 3 with a reason, one-line errors, no tracebacks."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "crawler/testing/fixtures/presstv/articles/2018-10-07_kim-pompeo-second-summit"
SEED_URL = json.loads((SEED_DIR / "meta.json").read_text(encoding="utf-8"))["url"]
URL = "https://www.presstv.co.uk/Detail/2026/08/15/774416/Iran-urges-UN"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "extract", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.stdout == ""
    return lines[0]


def test_prints_one_json_item_for_an_article() -> None:
    proc = run(str(SEED_DIR / "page.html"), "--url", SEED_URL)
    assert proc.returncode == 0, proc.stderr
    item = json.loads(proc.stdout)
    expected = json.loads((SEED_DIR / "expected.json").read_text(encoding="utf-8"))
    assert item["article_id"] == expected["article_id"] and item["body"] == expected["body"]
    assert item["extracted_at"].endswith("+00:00")


def test_reads_html_gz(tmp_path: Path) -> None:
    gz = tmp_path / "page.html.gz"
    gz.write_bytes(gzip.compress((SEED_DIR / "page.html").read_bytes()))
    proc = run(str(gz), "--url", SEED_URL)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["title"].startswith("Kim, Pompeo")


def test_non_article_exits_3_with_reason() -> None:
    listing = ROOT / "crawler/testing/fixtures/presstv/non_articles/2026-08-16_section-listing-politics/page.html"
    proc = run(str(listing), "--url", "https://www.presstv.co.uk/Section/10101/1")
    assert proc.returncode == 3
    assert one_line_error(proc) == "not an article: section listing"


def test_missing_file_and_folder_are_one_line_errors(tmp_path: Path) -> None:
    proc = run(str(tmp_path / "nope.html"))
    assert proc.returncode == 2
    assert "no such file" in one_line_error(proc)
    proc = run(str(tmp_path))
    assert proc.returncode == 2
    assert "folder" in one_line_error(proc)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.html", b"", "empty page"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        ("notes.txt", b"just a short note, not a web page", "too little text"),
        ("broken.html.gz", b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_bad_files_answer_not_an_article(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    proc = run(str(path), "--url", URL)
    assert proc.returncode == 3
    assert reason in one_line_error(proc)


def test_twenty_megabyte_page_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    with path.open("wb") as fh:
        fh.write(b"<html><body>")
        fh.write(b"<p>" + b"word " * (4 * 1024 * 1024) + b"</p>")
        fh.write(b"</body></html>")
    assert path.stat().st_size > 20 * 1024 * 1024
    proc = run(str(path), "--url", URL)
    assert proc.returncode == 3
    assert "too large" in one_line_error(proc)


@pytest.mark.parametrize(("declared", "sent"), [("windows-1252", "utf-8"), ("utf-8", "windows-1252")])
def test_wrong_encoding_declaration(tmp_path: Path, declared: str, sent: str) -> None:
    html = (SEED_DIR / "page.html").read_text(encoding="utf-8")
    html = html.replace('<meta charset="utf-8" />', f'<meta charset="{declared}" />')
    html = html.replace("It was Pompeo&#39;s fourth visit to North Korea.", "It was Pompeo’s fourth visit – café.")
    path = tmp_path / "page.html"
    path.write_bytes(html.encode(sent))
    proc = run(str(path), "--url", SEED_URL)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)["body"]
    assert "It was Pompeo’s fourth visit – café." in body
    assert "â€" not in body and "Ã" not in body


def test_python_dash_m_entry_point_and_console_script_agree() -> None:
    args = ["extract", str(SEED_DIR / "page.html"), "--url", SEED_URL]
    console = subprocess.run(
        [str(Path(sys.executable).with_name("crawler")), *args], capture_output=True, text=True, timeout=120
    )
    module = subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=120)
    assert console.returncode == module.returncode == 0, console.stderr + module.stderr
    by_console, by_module = json.loads(console.stdout), json.loads(module.stdout)
    assert by_console["article_id"] == "575918"
    by_console.pop("extracted_at")
    by_module.pop("extracted_at")
    assert by_console == by_module
    # The same usage errors too: one line, exit 2.
    bad = [["extract"], ["no-such-command"]]
    for argv in bad:
        a = subprocess.run(
            [str(Path(sys.executable).with_name("crawler")), *argv], capture_output=True, text=True, timeout=120
        )
        b = subprocess.run([sys.executable, "-m", "crawler", *argv], capture_output=True, text=True, timeout=120)
        assert a.returncode == b.returncode == 2, argv
        assert a.stderr == b.stderr and "crawler" in a.stderr.splitlines()[-1], argv


def test_without_url_the_page_declared_canonical_url_chooses_the_outlet(tmp_path: Path) -> None:
    html = (SEED_DIR / "page.html").read_text(encoding="utf-8")
    html = html.replace("</head>", f'<link rel="canonical" href="{SEED_URL}"></head>')
    path = tmp_path / "saved.html"
    path.write_text(html, encoding="utf-8")
    proc = run(str(path))
    assert proc.returncode == 0, proc.stderr
    item = json.loads(proc.stdout)
    assert item["article_id"] == "575918" and item["section"] == "Koreas"
