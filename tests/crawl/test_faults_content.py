"""Fault suite, content: one real crawl of a look-alike site that answers 200 with things that are not articles,
wrong charsets, huge or hostile bodies and broken markup, each on its own article (`primary`, then `backup`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from support.crawlkit import CrawlResult, crawl
from support.faultkit import (
    StoreCheck,
    StoreView,
    add_article,
    assert_stores_intact,
    gzip_bomb,
    one_summary,
    stream_unannounced,
)

from crawler.testing.site import MirrorSpec, Reply, SiteCorpus, faults, pages, serve_site

pytestmark = pytest.mark.faults

SEIZED, CHALLENGE, DENIED, EMPTY, BINARY = "780101", "780102", "780103", "780104", "780105"
BIG, BIG_STREAMED, BOMB, MALFORMED, CONTROL = "780106", "780107", "780108", "780109", "780110"
UTF8_SAYS_1252, CP1252_SAYS_UTF8 = "780120", "780121"
NOT_STORED = {DENIED, EMPTY, BINARY, BIG, BIG_STREAMED, BOMB}

ACCENTED = (
    "Caf\u00e9 owners in Tehran said the \u201cnew\u201d rules \u2014 announced on Monday \u2014 were "
    "na\u00efve, Ren\u00e9e\u2019s group said, citing a 5\u20ac rise."
)
"""A paragraph whose characters differ between UTF-8 and Windows-1252 (mojibake shows as 'CafÃ©', 'â€”')."""

ACCESS_DENIED = (
    b"<html><head><title>Access denied</title></head><body><h1>Access denied</h1>"
    b"<p>You don't have permission to access this server.</p></body></html>"
)


@dataclass
class Run:
    result: CrawlResult
    store: StoreView
    corpus: SiteCorpus
    netloc: dict[str, str]
    log: list[tuple[str, str, int | str]]

    def item(self, article_id: str) -> dict:
        items = [i for i in self.result.items if i["article_id"] == article_id]
        assert len(items) == 1, f"article {article_id}: {len(items)} items exported"
        assert self.store.item(article_id) == items[0], "the stored item is the exported one"
        return items[0]

    def only_failure(self, article_id: str) -> dict:
        assert self.store.item(article_id) is None, f"article {article_id} was stored"
        assert not [i for i in self.result.items if i["article_id"] == article_id]
        failures = self.store.failures(article_id)
        assert len(failures) == 1, failures
        return failures[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("faults-content")
    corpus = SiteCorpus(off_site_sitemap=False)
    corpus.generate(10, start_id=780101)
    paragraphs = [ACCENTED, *pages.filler_paragraphs(5, 7)]
    add_article(corpus, UTF8_SAYS_1252, "Cafe owners reject the new rules", paragraphs)
    add_article(corpus, CP1252_SAYS_UTF8, "Cafe owners reject the rules again", paragraphs)
    path = {a.article_id: a.path for a in corpus.articles()}
    html = {a.article_id: a.html for a in corpus.articles()}
    # UTF-8 bytes in a page (and header) declaring windows-1252; windows-1252 bytes in a page declaring UTF-8.
    utf8_says_1252 = html[UTF8_SAYS_1252].replace(b'<meta charset="utf-8">', b'<meta charset="windows-1252">')
    cp1252_says_utf8 = html[CP1252_SAYS_UTF8].decode("utf-8").encode("windows-1252")
    big = html[BIG] + b"<!--" + b"x" * (30 << 20) + b"-->"  # 30 MB: an article under a mountain of padding
    malformed = (
        html[MALFORMED]
        .replace(b"</p>", b"", 4)
        .replace(b'<div class="share-box">', b'<div class="share-box"><b><i>\xff\xfe\x00\x1b<table><tr><td>')
        .replace(b"<h1 ", b'<h1 class="unclosed-quote ')
        + b"\x00\xff</html></body><p>trailing junk"
    )
    with serve_site(corpus, [MirrorSpec("healthy", name="primary"), MirrorSpec("healthy", name="backup")]) as site:
        primary = site.mirror("primary")
        primary.override(path[SEIZED], faults.seizure())
        primary.override(path[CHALLENGE], faults.challenge())
        site.override(path[DENIED], faults.body(ACCESS_DENIED, code=403))
        site.override(path[EMPTY], faults.body(b""))
        site.override(path[BINARY], faults.body(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40))
        site.override(path[UTF8_SAYS_1252], faults.body(utf8_says_1252, "text/html; charset=windows-1252"))
        site.override(path[CP1252_SAYS_UTF8], faults.body(cp1252_says_utf8, "text/html; charset=utf-8"))
        site.override(path[BIG], faults.body(big))
        site.override(path[BIG_STREAMED], stream_unannounced(big))
        bomb = gzip_bomb(200)
        site.override(path[BOMB], lambda req: Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
        site.override(path[MALFORMED], faults.body(malformed))
        result = crawl(
            tmp,
            site.mirrors_arg,
            "sources=rss",
            settings={
                "CRAWLER_STORE": str(tmp / "store.sqlite"),
                "DOWNLOAD_TIMEOUT": 20,  # the 30 MB bodies must be refused by size, not by a slow read
                "CRAWLER_MIRROR_FAIL_THRESHOLD": 1000,
            },
        )
        netloc = {m.name: m.netloc for m in site.mirrors}
        log = list(site.log)
    final = StoreCheck("content faults", tmp / "store.sqlite", corpus.article_ids() - NOT_STORED)
    yield Run(result, StoreView(tmp / "store.sqlite"), corpus, netloc, log)
    # After every test of the module read the store: still sound, each article once.
    assert_stores_intact([final])


def test_the_run_finishes_with_status_0_and_one_clear_summary(run: Run) -> None:
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    summary = one_summary(run.result.stderr)
    stored = len(run.corpus.article_ids() - NOT_STORED)
    assert summary.startswith(f"{stored} articles extracted ({stored} new,"), summary
    assert "2 refused as non-articles, 4 failed" in summary, summary


def test_200_seizure_notice_is_not_an_article_and_the_next_mirror_serves_it(run: Run) -> None:
    item = run.item(SEIZED)
    assert item["mirror"] == run.netloc["backup"]
    assert "seized" not in item["body"].lower()
    assert run.result.stats["failover/seizure"] == 1


def test_200_challenge_page_fails_over(run: Run) -> None:
    item = run.item(CHALLENGE)
    assert item["mirror"] == run.netloc["backup"]
    assert "javascript" not in item["body"].lower()
    assert run.result.stats["failover/challenge"] >= 1


def test_access_denied_on_every_mirror_is_recorded_with_its_reason(run: Run) -> None:
    failure = run.only_failure(DENIED)
    assert failure["kind"] == "fetch" and failure["status"] == 403
    assert "challenge" in failure["reason"] and run.netloc["backup"] in failure["reason"]


def test_empty_200_is_refused_and_recorded(run: Run) -> None:
    failure = run.only_failure(EMPTY)
    assert (failure["kind"], failure["reason"]) == ("refused", "not an article: empty page")
    assert run.result.stats["extract/refused/empty page"] == 1


def test_binary_body_served_as_html_is_refused_and_recorded(run: Run) -> None:
    failure = run.only_failure(BINARY)
    assert (failure["kind"], failure["reason"]) == ("refused", "not an article: binary body, not HTML")
    assert run.result.stats["extract/refused/binary body, not HTML"] == 1


@pytest.mark.parametrize("article_id", [UTF8_SAYS_1252, CP1252_SAYS_UTF8])
def test_charset_declared_wrong_gives_no_mojibake(run: Run, article_id: str) -> None:
    item = run.item(article_id)
    assert item["body"].startswith(ACCENTED), item["body"][:200]
    text = " ".join(str(item[k]) for k in ("title", "lead", "body"))
    for garbage in ("Ã", "â€", "\ufffd", "Â"):
        assert garbage not in text, f"mojibake {garbage!r} in article {article_id}"


@pytest.mark.parametrize("article_id", [BIG, BIG_STREAMED])
def test_30_mb_page_is_refused_by_size_with_a_clear_reason(run: Run, article_id: str) -> None:
    failure = run.only_failure(article_id)
    assert failure["kind"] == "fetch"
    assert failure["reason"] == "page too large: over DOWNLOAD_MAXSIZE (16 MB)"
    art = run.corpus.get(article_id)
    assert art is not None
    asked = [m for m, p, _ in run.log if p.lower() == art.path.lower()]
    assert asked == ["primary"], "the same page is as big on every mirror: no other mirror is asked"


def test_gzip_bomb_is_refused_with_a_clear_reason(run: Run) -> None:
    failure = run.only_failure(BOMB)
    assert failure["kind"] == "fetch"
    assert failure["reason"].startswith("page too large: inflates past DOWNLOAD_MAXSIZE (16 MB)")
    assert run.result.stats["page_failed/too_large"] == 3


def test_malformed_html_still_gives_a_clean_article(run: Run) -> None:
    item = run.item(MALFORMED)
    art = run.corpus.get(MALFORMED)
    assert art is not None and art.spec is not None
    assert item["title"] == art.spec.title
    assert art.spec.paragraphs[-1][:60] in item["body"]
    assert not any(ch in item["body"] for ch in "\x00\x1b\ufffd")
    assert "SHARE THIS ARTICLE" not in item["body"]


def test_store_is_intact_and_holds_exactly_the_expected_articles(run: Run) -> None:
    assert run.store.integrity() == "ok"
    assert run.store.article_ids() == sorted(run.corpus.article_ids() - NOT_STORED)
    assert sorted(i["article_id"] for i in run.result.items) == run.store.article_ids()
    assert run.store.item(CONTROL) is not None
