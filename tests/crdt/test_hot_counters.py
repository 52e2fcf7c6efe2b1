"""A hot counter while the peers lag: nothing is stable, so nothing folds, and each increment
must still cost O(1) — its duplicate check and the sum an INCR replies with must not walk the
contributions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crdt.numbers import format_number
from crdt.types import strings
from crdt.types.strings import StrValue


class CountingContribs(strings.Contribs):
    __slots__ = ()
    reads = 0

    def __getitem__(self, i: Any) -> Any:
        CountingContribs.reads += 1
        return super().__getitem__(i)

    def __iter__(self) -> Any:
        CountingContribs.reads += len(self)
        return super().__iter__()


def test_an_increment_and_its_reply_do_not_walk_the_unstable_contributions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(strings, "Contribs", CountingContribs)
    sv = StrValue()
    for seq in range(1, 20_001):  # two regions incrementing, peers lagging: nothing stable
        sv.add((seq, "us" if seq % 2 else "eu", seq), 1, {})
    assert sv.number() == (20_000, False)
    CountingContribs.reads = 0
    for seq in range(20_001, 21_001):  # INCR: add, then read the new value
        sv.add((seq, "us" if seq % 2 else "eu", seq), 1, {})
        assert sv.number()[0] == seq
    assert CountingContribs.reads <= 3 * 1000  # a few per increment, not 20,000


def test_the_kept_sum_equals_the_sum_after_resets_folds_and_decimals() -> None:
    sv = StrValue()
    for seq in range(1, 40):
        sv.add((seq, "us", seq), seq, {"us": seq // 2})  # some become stable and fold
    assert sv.number()[0] == sum(range(1, 40))
    sv.add((40, "eu", 1), Decimal("0.5"), {})
    assert format_number(sv.number()[0]) == format_number(Decimal(sum(range(1, 40))) + Decimal("0.5"))
    sv.remove_observed({"us": 20})  # a reset that observed us's first 20
    assert sv.number()[0] == sum(range(21, 40)) + Decimal("0.5")
    sv.add((41, "us", 41), 1, {})
    assert sv.number()[0] == sum(range(21, 40)) + Decimal("0.5") + 1


def test_a_duplicate_of_an_older_or_folded_contribution_changes_nothing() -> None:
    sv = StrValue()
    for seq in range(1, 17):
        sv.add((seq, "us", seq), 1, {"us": 16})  # all stable: folded at 16
    assert len(sv.contribs or ()) == 1 and sv.number()[0] == 16
    sv.add((3, "us", 3), 1, {"us": 16})  # applied before, now inside the folded entry
    sv.add((16, "us", 16), 1, {"us": 16})
    assert sv.number()[0] == 16
    sv.add((17, "eu", 1), 5, {})  # another origin's first contribution counts
    sv.add((17, "eu", 1), 5, {})
    assert sv.number()[0] == 21
