"""``Batch.events`` (the keyspace notifications a batch carries): they round-trip through the
codec exactly; a batch without them is encoded as before (six fields, what older regions read);
they are not state (applying a batch with or without them gives the same keyspace and digest);
the keyspace hands them to ``on_events`` once, before the effects, and never for a duplicate;
a malformed events field is a ``CodecError``."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.codec import CodecError, decode_batch, encode_batch
from crdt.digest import keyspace_digest
from crdt.effects import Batch
from crdt.keyspace import Keyspace
from crdt.types.strings import Assign

events_st = st.lists(st.tuples(
    st.sampled_from("g$lshzxetd"), st.text(min_size=1, max_size=12), st.integers(0, 15),
    st.binary(max_size=16)), max_size=6).map(tuple)


def _batch(keys: list[bytes], events: tuple[tuple[str, str, int, bytes], ...]) -> Batch:
    effects = [Assign(0, k, b"v" + k) for k in keys]
    return Batch("east/1", 1, 1_000 << 16, {"west/1": 3}, effects, events)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=5), events=events_st)
def test_events_round_trip_and_are_not_state(keys: list[bytes], events: tuple[tuple[str, str, int, bytes], ...]) -> None:
    batch = _batch(keys, events)
    wire = encode_batch(batch)
    back = decode_batch(wire)
    assert back == batch
    assert encode_batch(back) == wire
    assert len(msgpack.unpackb(wire, raw=False)) == (7 if events else 6)
    plain, with_events = Keyspace("a"), Keyspace("b")
    seen: list[object] = []
    with_events.on_events = seen.append
    plain.vv["west/1"] = with_events.vv["west/1"] = 3
    plain.apply_batch(_batch(keys, ()))
    with_events.apply_batch(back)
    assert keyspace_digest(plain) == keyspace_digest(with_events)
    assert seen == ([events] if events else [])
    with_events.apply_batch(back)  # a duplicate: no second notification
    assert seen == ([events] if events else [])


def test_on_events_runs_before_the_effects() -> None:
    ks = Keyspace("a")
    ks.vv["west/1"] = 3
    states: list[bool] = []
    ks.on_events = lambda events: states.append(b"k" in ks.dbs[0].entries)
    ks.apply_batch(_batch([b"k"], (("$", "set", 0, b"k"),)))
    assert states == [False] and b"k" in ks.dbs[0].entries


@pytest.mark.parametrize("events", [[["$", "set", 0]], [1], "x", [["$", "set", "zero", b"k"]]])
def test_malformed_events_are_codec_errors(events: object) -> None:
    raw = msgpack.unpackb(encode_batch(_batch([b"k"], ())), raw=False)
    data = msgpack.packb([*raw, events], use_bin_type=True)
    with pytest.raises(CodecError):
        decode_batch(data)
