"""The cyclic collector pauses while a region catches up (replication/collector.py): paused by
the first catch-up, resumed by the last, and what a big catch-up loaded is frozen first."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from replication.collector import FREEZE_MIN, CatchupCollector


@pytest.fixture(autouse=True)
def collector_state() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was:
            gc.enable()
        else:
            gc.disable()


def test_paused_from_the_first_begin_to_the_last_end() -> None:
    c = CatchupCollector()
    c.begin()
    assert not gc.isenabled()
    c.begin()  # a second link, or a state merge inside the link's catch-up
    c.end()
    assert not gc.isenabled()
    c.end()
    assert gc.isenabled()
    c.end()  # one end too many (a link that never began) changes nothing
    assert gc.isenabled() and c.holders == 0


def test_a_big_catch_up_freezes_what_it_loaded() -> None:
    c = CatchupCollector()
    before = gc.get_freeze_count()
    c.begin()
    loaded = [[i] for i in range(1000)]  # tracked objects made during the catch-up
    c.loaded += FREEZE_MIN
    c.end()
    assert gc.isenabled()
    assert c.freezes == 1 and gc.get_freeze_count() >= before + len(loaded)


def test_a_small_catch_up_freezes_nothing() -> None:
    c = CatchupCollector()
    before = gc.get_freeze_count()
    c.begin()
    c.loaded += FREEZE_MIN - 1
    c.end()
    assert gc.isenabled() and c.freezes == 0 and gc.get_freeze_count() == before


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    c = CatchupCollector()
    gc.disable()
    c.begin()
    c.loaded += FREEZE_MIN
    c.end()
    assert not gc.isenabled() and c.freezes == 0
