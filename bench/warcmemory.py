"""Peak memory of `crawler import-warc` on records past the page size limit, beside a well-formed page.

    .venv/bin/python bench/warcmemory.py [--gib 1]

Three WARC files, each imported in a fresh subprocess (`python -m crawler import-warc --workers 1`), whose
process tree's resident memory is sampled (bench/proctree.py): one response of a benchmark page (the
baseline: what the import costs anyway), a ~1 MB plain WARC whose one response is a gzip-encoded body
inflating to N GiB of zeros (a gzip bomb), and a record claiming 3 GB. Both oversized records are refused as
"too large" (the DOWNLOAD_MAXSIZE setting, 16 MB by default); the figures show the memory they cost.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import zlib
from pathlib import Path

import sitegen
from proctree import run_measured

ROOT = Path(__file__).resolve().parents[1]
URL = "https://www.presstv.ir/Detail/2020/01/01/612345/Bench"


def _write(path: Path, body: bytes, headers: list[tuple[str, str]], gzip: bool = False) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip, warc_version="1.1")
        http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(URL, "response", payload=io.BytesIO(body), http_headers=http))
    return path.stat().st_size


def build(folder: Path, gib: int) -> dict[str, Path]:
    """The three files; returns them by label."""
    page = next(iter(sitegen.iter_pages(1)))
    files = {
        "one page (baseline)": folder / "page.warc.gz",
        f"gzip body of {gib} GiB": folder / "bomb.warc",
        "record claiming 3 GB": folder / "claim.warc",
    }
    _write(files["one page (baseline)"], page.html, [("Content-Type", "text/html; charset=utf-8")], gzip=True)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    bomb = b"".join([squeeze.compress(zeros) for _ in range(1024 * gib)] + [squeeze.flush()])
    _write(files[f"gzip body of {gib} GiB"], bomb, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])
    short = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>short</body></html>"
    files["record claiming 3 GB"].write_bytes(
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + URL.encode() + b"\r\n"
        b"WARC-Date: 2020-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        b"Content-Type: application/http; msgtype=response\r\nContent-Length: 3000000000\r\n\r\n" + short + b"\r\n\r\n"
    )
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/warcmemory.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--gib", type=int, default=1, help="GiB the gzip body inflates to (default 1)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="warcmemory-") as tmp:
        folder = Path(tmp)
        files = build(folder, args.gib)
        print(f"{'file':<24} {'size':>10} {'peak RSS':>10} {'wall':>7}  outcome")
        for label, path in files.items():
            log = folder / f"{path.stem}.log"
            measured = run_measured(
                [
                    sys.executable,
                    "-m",
                    "crawler",
                    "import-warc",
                    "--store",
                    str(folder / f"{path.stem}.sqlite"),
                    "--workers",
                    "1",
                    str(path),
                ],
                cwd=ROOT,
                log=log,
            )
            lines = log.read_text(errors="replace").strip().splitlines()
            summary = lines[-1] if lines else ""
            outcome = summary.split("skipped: ", 1)[1] if "skipped: " in summary else summary.split("): ", 1)[-1]
            outcome = outcome.split(",")[0]
            print(
                f"{label:<24} {path.stat().st_size / 1e6:>8.2f}MB {measured.peak_rss / 1048576:>8.0f}MB "
                f"{measured.wall:>6.1f}s  exit {measured.returncode}: {outcome}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
