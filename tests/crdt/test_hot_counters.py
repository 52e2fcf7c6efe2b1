"""A hot counter while the peers lag: nothing is stable, so nothing folds, and each increment
must still cost O(1) — its duplicate check and the sum an INCR replies with must not walk the
contributions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.clock import covers
from crdt.numbers import format_number
from crdt.types import strings
from crdt.types.strings import StrValue
from crdt.types.zset import FOLD_AFTER, Member
from tests.puresub import run_pure


class CountingContribs(strings.Contribs):
    __slots__ = ()
    reads = 0

    def __getitem__(self, i: Any) -> Any:
        CountingContribs.reads += 1
        return super().__getitem__(i)

    def __iter__(self) -> Any:
        CountingContribs.reads += len(self)
        return super().__iter__()


def test_an_increment_and_its_reply_do_not_walk_the_unstable_contributions() -> None:
    run_pure(_increments_do_not_walk_the_unstable_contributions)  # counts reads: see puresub


def _increments_do_not_walk_the_unstable_contributions() -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(strings, "Contribs", CountingContribs)
        _count_contribution_reads()


def _count_contribution_reads() -> None:
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


# -- sorted-set members: ZINCRBY on a hot leaderboard -------------------------------------------
def _ordered_sum(base: float, deltas: list[float]) -> float:
    total = base
    for d in deltas:
        s = total + d
        total = d if s != s else s
    return total + 0.0


def test_a_hot_member_folds_its_stable_increments_and_keeps_the_exact_ordered_sum() -> None:
    m = Member()
    m.assign((1, "us", 1), 0.1, {})
    deltas = [0.1 * (i % 7) - 0.2 for i in range(20_000)]
    for seq, d in enumerate(deltas, start=2):
        m.add((seq, "us", seq), d, {"us": seq - 3})  # all but the newest few are stable
    assert m.value == _ordered_sum(0.1, deltas)  # bit for bit the sequential double sum
    assert len(m.contribs) <= 2 * FOLD_AFTER + 1  # not 20,000 terms
    m.add((5, "us", 5), 100.0, {"us": 20_000})  # a duplicate of a folded increment
    assert m.value == _ordered_sum(0.1, deltas)


def test_an_increment_with_the_greatest_tag_does_not_re_add_the_unstable_terms() -> None:
    run_pure(_greatest_tag_increments_do_not_recompute)  # counts calls: see puresub


def _greatest_tag_increments_do_not_recompute() -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _count_recomputes(monkeypatch)


def _count_recomputes(monkeypatch: pytest.MonkeyPatch) -> None:
    m = Member()
    for seq in range(1, 5001):  # peers lagging: nothing stable, nothing folds
        m.add((seq, "us" if seq % 2 else "eu", seq), 1.5, {})
    calls = 0
    real = Member.compute

    def counting(self: Member) -> float:
        nonlocal calls
        calls += 1
        return real(self)

    monkeypatch.setattr(Member, "compute", counting)
    for seq in range(5001, 6001):
        m.add((seq, "us", seq), 1.5, {})
    assert calls == 0 and m.value == 6000 * 1.5


@given(st.lists(st.tuples(st.sampled_from(("ap", "eu", "us")), st.sampled_from((0.1, -0.3, 1e16, 2.5, 1.0))),
                min_size=1, max_size=120),
       st.integers(0, 119), st.integers(0, 119))
@settings(max_examples=200, deadline=None)
def test_folding_never_changes_the_score(ops: list[tuple[str, float]], late: int, reset_at: int) -> None:
    """Contributions from three regions, and one from a fourth region ("zz") delivered late,
    after newer ones: a member that folds whatever is causally stable reads the same score as the
    plain ordered sum of every live term, before and after a remove that observed a prefix.
    Stability as the replicator computes it: nothing newer than the late term is stable before
    it arrives (its region had not observed it when the late term was made)."""
    seqs = {"ap": 0, "eu": 0, "us": 0}
    terms = []
    for hlc, (region, delta) in enumerate(ops, start=10):
        seqs[region] += 1
        terms.append(((hlc, region, seqs[region]), delta))
    late = min(late, len(terms) - 1)
    late_tag = (terms[late][0][0], "zz", 1)
    terms[late] = (late_tag, terms[late][1])
    order = [t for i, t in enumerate(terms) if i != late] + [terms[late]]
    m = Member()
    m.assign((1, "us", 0), 3.0, {})
    applied: list[tuple[tuple[int, str, int], float]] = []
    for tag, delta in order:
        applied.append((tag, delta))
        limit = late_tag[0] if tag != late_tag else 1 << 62
        stable: dict[str, int] = {}
        for (hlc, region, seq), _ in applied[:-1]:  # all but the newest
            if hlc < limit:
                stable[region] = max(stable.get(region, 0), seq)
        m.add(tag, delta, stable)
        assert m.value == _ordered_sum(3.0, [d for _, d in sorted(applied)])
    # A remove that observed every stable term (as any new effect has) and one region's terms
    # up to ``cut``.
    cut = terms[min(reset_at, len(terms) - 1)][0]
    partial = dict(stable)
    partial[cut[1]] = max(partial.get(cut[1], 0), cut[2])
    m.remove_observed(partial)
    left = sorted((t, d) for t, d in applied if not covers(partial, t))
    assert not any(len(c) > 4 for c in m.contribs)  # a folded term is covered or kept whole
    if left:
        assert m.value == _ordered_sum(3.0 if m.regs else 0.0, [d for _, d in left])
