"""Fault suite, last: after every fault module ran, each store the suite filled is sound and holds exactly the
articles it should, each once (the file name sorts after every other fault module, so pytest runs it last)."""

from __future__ import annotations

import pytest
from faultkit import STORES, StoreView

pytestmark = pytest.mark.faults


def test_every_store_the_fault_suite_filled_is_intact_and_exact() -> None:
    assert STORES, "no fault module ran before this check: run the suite with `pytest -m faults`"
    problems = []
    for check in STORES:
        view = StoreView(check.path)
        integrity = view.integrity()
        if integrity != "ok":
            problems.append(f"{check.label}: PRAGMA integrity_check says {integrity}")
        stored = view.article_ids()  # one entry per stored version: a duplicate shows twice
        if stored != sorted(check.expected_ids):
            extra = sorted(set(stored) - check.expected_ids)
            missing = sorted(check.expected_ids - set(stored))
            twice = sorted({a for a in stored if stored.count(a) > 1})
            problems.append(f"{check.label}: extra {extra}, missing {missing}, stored twice {twice}")
    assert not problems, "\n".join(problems)
