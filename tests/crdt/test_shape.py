"""Property tests of the batch codec's shape checks (crdt/shape.py): every well-formed batch
round-trips (the simulator in tests/crdt/sim.py also sends every batch it makes through the
codec), and any field replaced by a value of another type is a ``CodecError`` — before
anything could be applied — whatever the field and the value."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.codec import CodecError, decode_batch, encode_batch
from crdt.effects import Batch, Delete, Expire
from crdt.types.ormap import HashSet
from crdt.types.orset import SetAdd
from crdt.types.stream import XAdd
from crdt.types.strings import Assign
from crdt.types.zset import ZAssign

keys = st.binary(max_size=8)
EFFECTS = st.one_of(
    st.builds(Assign, st.integers(0, 15), keys, st.binary(max_size=8), st.integers(0, 2**31)),
    st.builds(Delete, st.integers(0, 15), keys),
    st.builds(Expire, st.integers(0, 15), keys, st.integers(0, 2**31)),
    st.builds(SetAdd, st.integers(0, 15), keys, st.lists(keys, min_size=1, max_size=3).map(tuple)),
    st.builds(HashSet, st.integers(0, 15), keys,
              st.lists(st.tuples(keys, keys), min_size=1, max_size=3).map(tuple)),
    st.builds(ZAssign, st.integers(0, 15), keys,
              st.lists(st.tuples(keys, st.floats(allow_nan=False)), min_size=1, max_size=3).map(tuple)),
    st.builds(XAdd, st.integers(0, 15), keys, st.integers(0, 2**31), st.integers(0, 2**31),
              st.lists(keys, min_size=2, max_size=4).map(tuple)),
)
BATCHES = st.builds(Batch, st.just("r1/1"), st.integers(1, 2**31), st.integers(0, 2**48),
                    st.dictionaries(st.sampled_from(["r2/1", "r3/7"]), st.integers(0, 2**31)),
                    st.lists(EFFECTS, min_size=1, max_size=4), events=st.just(()))
# values of a type no effect field has: a field that gets one must be refused
FOREIGN = st.one_of(st.text(min_size=1, max_size=4), st.none(), st.booleans(),
                    st.dictionaries(st.text(max_size=2), st.integers(-9, 9), min_size=1, max_size=2))


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_well_formed_batches_round_trip(batch: Batch) -> None:
    assert decode_batch(encode_batch(batch)) == batch


@settings(max_examples=200, deadline=None)
@given(BATCHES, st.data())
def test_a_field_of_another_type_is_refused(batch: Batch, data: st.DataObject) -> None:
    rec: list[Any] = msgpack.unpackb(encode_batch(batch), raw=False, strict_map_key=False)
    raw_effects = rec[5]
    i = data.draw(st.integers(0, len(raw_effects) - 1))
    j = data.draw(st.integers(1, len(raw_effects[i]) - 1))  # a field, not the effect code
    raw_effects[i][j] = data.draw(FOREIGN)
    with pytest.raises(CodecError):
        decode_batch(msgpack.packb(rec, use_bin_type=True))
