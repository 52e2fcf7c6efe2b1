"""How a key is stored: a plain string is one object, and what it does not use costs nothing.

These tests look at the layout (``Entry.x``) because memory per key is a product figure
(benchmarks/throughput), and check that the compact forms read exactly like the full ones:
the same expire entries, the same outcome when concurrent writes arrive later.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crdt import state
from crdt.effects import Expire
from crdt.entry import EntryExtra
from crdt.expiry import OWN_NEVER, PERSISTENT
from crdt.keyspace import Keyspace
from crdt.types.orset import SetAdd
from crdt.types.strings import FOLD_AFTER, KEEP_TTL, Assign, StrValue
from replication import snapshot
from tests.puresub import run_pure

from .test_semantics_rows import T0, deliver, region, write

K = b"k"


def test_a_plain_string_without_peers_is_one_object() -> None:
    ks = Keyspace("us", 1)  # no peers
    write(ks, T0, Assign(0, K, b"v"))
    entry = ks.dbs[0].entries[K]
    assert entry.x is None and entry.expire is None
    assert entry.value() == b"v" and (entry.hlc, entry.org, entry.seq) == (entry.latest())


def test_a_set_with_peers_stores_its_never_entry_as_the_shared_marker() -> None:
    ks = region("us")
    b = write(ks, T0, Assign(0, K, b"v"))
    entry = ks.dbs[0].entries[K]
    assert entry.x is OWN_NEVER
    assert entry.expire == [(b.hlc, "us", b.first_seq, PERSISTENT)]  # what it stands for
    assert entry.expire_at() == PERSISTENT
    assert K not in ks.dbs[0].gc_pending  # nothing to collect later
    # an overwrite that observed it replaces it, and is stored the same way
    b2 = write(ks, T0, Assign(0, K, b"w"))
    assert entry.x is OWN_NEVER and entry.expire == [(b2.hlc, "us", b2.first_seq, PERSISTENT)]


def test_a_keepttl_assignment_keeps_the_earlier_never_entry_with_its_own_tag() -> None:
    us, eu = region("us"), region("eu")
    first = write(us, T0, Assign(0, K, b"v"))
    deliver(eu, first)
    # eu expires the key having seen the first SET; us overwrites with KEEPTTL meanwhile
    exp = write(eu, T0, Expire(0, K, T0 + 10_000))
    keep = write(us, T0, Assign(0, K, b"w", KEEP_TTL))
    entry = us.dbs[0].entries[K]
    assert entry.expire == [(first.hlc, "us", first.first_seq, PERSISTENT)]
    deliver(us, exp)  # EXPIRE observed the first SET's "never" entry: it replaces it
    deliver(eu, keep)
    for ks in (us, eu):
        e = ks.dbs[0].entries[K]
        assert e.value() == b"w" and e.expire_at() == T0 + 10_000, ks.region


def test_a_never_entry_concurrent_with_an_expire_still_wins() -> None:
    us, eu = region("us"), region("eu")
    base = write(us, T0, Assign(0, K, b"v"))
    deliver(eu, base)
    exp = write(eu, T0, Expire(0, K, T0 + 10_000))  # concurrent with the SET below
    again = write(us, T0, Assign(0, K, b"w"))
    assert us.dbs[0].entries[K].x is OWN_NEVER
    deliver(us, exp)
    deliver(eu, again)
    for ks in (us, eu):  # PERSIST (a SET without TTL) beats a concurrent EXPIRE
        e = ks.dbs[0].entries[K]
        assert e.expire_at() == PERSISTENT and e.value() == b"w", ks.region
        assert sorted(e.expire or ()) == sorted([(exp.hlc, "eu", exp.first_seq, T0 + 10_000),
                                                 (again.hlc, "us", again.first_seq, PERSISTENT)])


def test_a_string_losing_its_content_to_a_set_keeps_its_never_entry_aside() -> None:
    us, eu = region("us"), region("eu")
    s = write(us, T0, Assign(0, K, b"v"))
    deliver(eu, s)
    add = write(eu, T0, SetAdd(0, K, (b"m",)))  # observed the string: replaces it
    deliver(us, add)
    entry = us.dbs[0].entries[K]
    assert entry.kind == "set" and entry.string is None
    assert type(entry.x) is EntryExtra and entry.expire == [(s.hlc, "us", s.first_seq, PERSISTENT)]


def test_extras_exist_only_while_needed() -> None:
    us, eu = region("us"), region("eu")
    a, b = write(us, T0, Assign(0, K, b"a")), write(eu, T0, Assign(0, K, b"b"))
    deliver(us, b)
    entry = us.dbs[0].entries[K]
    assert type(entry.x) is EntryExtra and entry.x.more is not None  # two concurrent values
    write(us, T0, Assign(0, K, b"c"))  # observes both: one value again
    assert entry.x is OWN_NEVER
    deliver(eu, a)


def test_counter_contributions_fold_when_stable_and_cost_o1_per_increment_when_not() -> None:
    run_pure(_folds_when_stable_and_o1_when_not)  # counts _fold calls: see tests/puresub.py


def _folds_when_stable_and_o1_when_not() -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _count_folds(monkeypatch)


def _count_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    sv = StrValue()
    for seq in range(1, 1001):  # every contribution is stable as soon as it is made
        sv.add((seq, "us", seq), 1, {"us": seq})
        assert len(sv.contribs or ()) < 2 * FOLD_AFTER
    assert sv.number()[0] == 1000
    attempts = 0
    fold = StrValue._fold

    def counting_fold(self: StrValue, stable: dict[str, int]) -> None:
        nonlocal attempts
        attempts += 1
        fold(self, stable)

    monkeypatch.setattr(StrValue, "_fold", counting_fold)
    lagging = StrValue()
    for seq in range(1, 1001):  # the peers lag: nothing is stable, nothing can fold
        lagging.add((seq, "us", seq), 1, {})
    assert lagging.number()[0] == 1000 and len(lagging.contribs or ()) == 1000
    assert attempts <= 7  # at 16, 32, ..., 512, 1024: not once per increment


def test_a_state_merge_that_changes_the_assignment_keeps_the_never_entry_tag(
    tmp_path: Path,
) -> None:
    us, eu = region("us"), region("eu")
    first = write(us, T0, Assign(0, K, b"v"))
    assert us.dbs[0].entries[K].x is OWN_NEVER
    deliver(eu, first)
    write(eu, T0, Assign(0, K, b"w", KEEP_TTL))  # observed the SET; keeps its "never" entry
    snapshot.write(eu, str(tmp_path), 1)  # us catches up by merging eu's state
    _, records = snapshot.records(str(tmp_path / snapshot.FILENAME))
    state.merge(us, records)
    never = [(first.hlc, "us", first.first_seq, PERSISTENT)]
    for ks in (us, eu):
        e = ks.dbs[0].entries[K]
        assert e.value() == b"w" and e.expire == never, ks.region
