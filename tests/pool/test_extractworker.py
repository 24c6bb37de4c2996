"""The extraction worker's API: a page in, its typed outcome out (the article, the refusal, a crash, a dead
worker), from a real pool of worker processes extracting real fixture pages."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

from support.crawlkit import FIXTURES_ROOT
from support.faulty_extract import KILLS_WORKER_FOR, RAISES_FOR, faulty_extract_page

from crawler.pool.extraction import Crashed, ExtractionPool, ExtractOutcome, WorkerDied

WAIT = 300  # seconds: a loaded machine starts and warms a worker slowly; a hang still fails
FIXTURE = FIXTURES_ROOT / "articles" / "2022-06-15_tehran-metro-report"


def _fixture() -> tuple[bytes, str, str]:
    meta = json.loads((FIXTURE / "meta.json").read_text(encoding="utf-8"))
    return (FIXTURE / "page.html").read_bytes(), meta["url"], meta["truth"]["title"]


def _url_of(article_id: str) -> str:
    return f"https://www.presstv.ir/Detail/2022/06/15/{article_id}/Some-title"


def test_a_page_comes_back_as_its_article_and_a_non_article_as_its_refusal() -> None:
    html, url, title = _fixture()
    pool = ExtractionPool("presstv", 1)
    try:
        article = pool.submit(html, url, "www.presstv.ir").result(WAIT)
        refused = pool.submit(b"<html><body><p>Nothing to read here.</p></body></html>", url).result(WAIT)
    finally:
        pool.close()
    assert isinstance(article, ExtractOutcome) and article.article is not None
    assert article.article.title == title
    assert (article.article.source_url, article.article.mirror) == (url, "www.presstv.ir")
    # The raw page comes back compressed and hashed for the store (that CPU stays in the worker).
    assert article.compressed is not None and zlib.decompress(article.compressed) == html
    assert article.sha256 == hashlib.sha256(html).hexdigest()
    assert isinstance(refused, ExtractOutcome) and refused.article is None and refused.refused


def test_an_extractor_that_raises_is_a_crash_and_a_dying_worker_is_its_own_failure() -> None:
    html, _url, title = _fixture()
    pool = ExtractionPool("presstv", 1, func=faulty_extract_page)
    try:
        crashed = pool.submit(html, _url_of(RAISES_FOR)).result(WAIT)
        died = pool.submit(html, _url_of(KILLS_WORKER_FOR)).result(WAIT)
        assert isinstance(died, WorkerDied)
        assert pool.restart(died.generation)
        assert not pool.restart(died.generation)  # a second page of the same dead pool restarts nothing
        again = pool.submit(html, _url_of("684675")).result(WAIT)
    finally:
        pool.close()
    assert crashed == Crashed("RuntimeError: extractor bug on purpose")
    assert isinstance(again, ExtractOutcome) and again.article is not None and again.article.title == title


def test_map_answers_in_input_order_and_reads_stored_pages() -> None:
    html, url, title = _fixture()
    stored = zlib.compress(html)
    jobs = [("good", stored), ("junk", zlib.compress(b"<html><body>x</body></html>")), ("broken", b"not zlib")] * 3
    pool = ExtractionPool("presstv", 2)
    answers = list(pool.map(jobs, lambda job: (job[1], url, "www.presstv.ir", {"stored": True})))
    assert [job for job, _ in answers] == jobs
    for (name, _blob), outcome in answers:
        if name == "good":
            assert isinstance(outcome, ExtractOutcome) and outcome.article is not None
            assert outcome.article.title == title
            assert outcome.compressed is None  # a stored page is not compressed again
        elif name == "junk":
            assert isinstance(outcome, ExtractOutcome) and outcome.article is None and outcome.refused
        else:
            assert isinstance(outcome, Crashed) and outcome.message.startswith("error: ")


def test_the_workers_import_nothing_of_scrapy(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = "import sys, crawler.pool.extraction; print(any(m.split('.')[0] == 'scrapy' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "False"
