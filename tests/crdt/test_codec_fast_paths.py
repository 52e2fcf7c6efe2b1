"""The codec's catch-up fast paths give what the general paths give.

``decode_batch`` builds SET effects (``Assign``) without the per-effect decoder and checker, and
``decode_meta`` reads a record's header without unpacking its effects (the sending side of a
catch-up reads every record of its log that way): both must agree with the general path on
every well-formed record, and refuse a malformed one with ``CodecError``."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.codec import CodecError, decode_batch, decode_meta, encode_batch
from crdt.effects import Batch
from tests.crdt.test_shape import EFFECTS

EVENTS = st.lists(st.tuples(st.sampled_from(["string", "generic"]), st.sampled_from(["set", "del"]),
                            st.integers(0, 15), st.binary(max_size=4)), max_size=2).map(tuple)
BATCHES = st.builds(Batch, st.sampled_from(["r1/1", "r2/9"]), st.integers(1, 2**40), st.integers(0, 2**48),
                    st.dictionaries(st.sampled_from(["r2/1", "r3/7"]), st.integers(0, 2**31)),
                    st.lists(EFFECTS, min_size=1, max_size=6), events=EVENTS)


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_decoded_effects_keep_their_classes(batch: Batch) -> None:
    out = decode_batch(encode_batch(batch))
    assert out == batch
    assert [type(e) for e in out.effects] == [type(e) for e in batch.effects]


@settings(max_examples=150, deadline=None)
@given(BATCHES)
def test_meta_is_the_records_header(batch: Batch) -> None:
    assert decode_meta(encode_batch(batch)) == (batch.origin, batch.first_seq, batch.last_seq, batch.deps)


def _record(batch: Batch) -> list[Any]:
    rec: list[Any] = msgpack.unpackb(encode_batch(batch), raw=False, strict_map_key=False)
    return rec


@pytest.mark.parametrize("mangle", [
    lambda rec: rec[:5],  # too few fields
    lambda rec: [*rec, [], []],  # too many
    lambda rec: [2, *rec[1:]],  # a codec version we do not know
    lambda rec: {"not": "a record"},
])
def test_meta_of_a_malformed_record_is_refused(mangle: Any) -> None:
    from crdt.types.strings import Assign
    batch = Batch("r1/1", 5, 7, {"r2/1": 3}, [Assign(0, b"k", b"v", 0)])
    with pytest.raises(CodecError):
        decode_meta(msgpack.packb(mangle(_record(batch)), use_bin_type=True))


@pytest.mark.parametrize("data", [b"", b"\x96\x01", b"\xc1", b"\x96\x01\xa3r/1\x05"])
def test_meta_of_truncated_bytes_is_refused(data: bytes) -> None:
    with pytest.raises(CodecError):
        decode_meta(data)
