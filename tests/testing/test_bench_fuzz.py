"""The fuzz campaign (bench/fuzz.py) counts what it must: a hang, a crash, a dead worker and a memory blow-up are
each detected, counted and saved, never waited on; and its short run over the real targets finishes clean."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import strategies as st
from support.fuzzkit import Case

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import fuzz  # noqa: E402  (bench/ is put on the path just above)

pytestmark = pytest.mark.integration  # workers are processes


def _misbehaving(target: str, case: Case) -> str:
    """A target that answers, hangs, raises, dies or eats memory, as the input's family says."""
    if case.family == "hang":
        time.sleep(3600)
    if case.family == "crash":
        raise KeyError("a bug")
    if case.family == "die":
        os._exit(3)
    if case.family == "hog":
        return str(len(bytearray(8 << 30)))  # past the worker's address-space cap
    return "fine"


def test_hangs_crashes_deaths_and_memory_blowups_are_counted_and_saved(tmp_path: Path) -> None:
    kinds = ["ok", "hang", "crash", "die", "hog"]
    cases = st.sampled_from([Case(kind, kind.encode()) for kind in kinds])
    started = time.monotonic()
    # The bound is what an answer may take before it counts as a hang: 4 s, so a well-behaved input on a loaded
    # machine is never taken for one (the hanging inputs sleep an hour: they cannot answer in time either).
    tallies = fuzz.campaign(
        ["misbehaving"],
        inputs=25,
        seconds=None,
        base_seed=1,
        bound=4.0,
        batch=10,
        memory_mb=1024,
        crashes=tmp_path,
        runner=_misbehaving,
        strategies={"misbehaving": cases},
    )
    tally = tallies["misbehaving"]
    assert tally.inputs == 25 and all(tally.families[kind] > 0 for kind in kinds), tally.families
    assert tally.outcomes == {"fine": tally.families["ok"]}
    assert tally.hangs == tally.families["hang"]
    assert tally.crashes == tally.families["crash"] + tally.families["die"] + tally.families["hog"]
    # A hang costs the bound, not the hour the target would sleep.
    assert time.monotonic() - started < 4.0 * tally.hangs + 240
    notes = {p.name.split("-")[1]: p.read_text() for p in tmp_path.glob("*.txt")}
    assert set(notes) == {"hang", "crash"}
    saved = "\n".join(p.read_text() for p in tmp_path.glob("*.txt"))
    for family, evidence in (
        ("hang", "no answer within 4.0 s"),
        ("crash", "KeyError: 'a bug'"),
        ("die", "the worker died (exit status 3)"),
        ("hog", "MemoryError"),
    ):
        assert f"family: {family}" in saved and evidence in saved
    assert {p.read_bytes() for p in tmp_path.glob("*.bin")} == {b"hang", b"crash", b"die", b"hog"}


@pytest.mark.timeout(600)  # the campaign's own limit is 300 s
def test_a_short_campaign_over_every_target_finishes_clean(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fuzz.py"),
            "--inputs",
            "200",
            "--seed",
            "3",
            "--crashes",
            str(tmp_path / "crashes"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split()[0]: line.split()
        for line in done.stdout.splitlines()
        if line.split() and line.split()[0] in fuzz.TARGETS
    }
    assert set(rows) == set(fuzz.TARGETS)
    # inputs, distinct, inputs/s, crashes, hangs, slowest, RSS at start, peak RSS, then the outcomes
    assert sum(int(r[1]) for r in rows.values()) == 200
    assert all(r[4] == "0" and r[5] == "0" and float(r[8]) > 0 for r in rows.values()), done.stdout
    assert not (tmp_path / "crashes").exists()
