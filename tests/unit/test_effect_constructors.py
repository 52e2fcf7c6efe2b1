"""Effects and batches are made by ``__new__``s compiled with crdt/effects.py (NamedTuple's own
is a Python function): they must build exactly what the NamedTuple would, positionally, by
keyword, with defaults, and refuse what it refuses; the codec's decoder as well."""

from __future__ import annotations

import msgpack
import pytest

from crdt.codec import CodecError, decode_batch, encode_batch
from crdt.effects import EFFECTS, Batch, Delete, Flush
from crdt.types import registered
from crdt.types.strings import Assign


def test_every_effect_class_builds_what_namedtuple_builds() -> None:
    registered()  # every type module's effects registered
    assert len(EFFECTS) > 10
    for cls in EFFECTS:
        fields = cls._fields
        values = tuple(f"v{i}" for i in range(len(fields)))
        made = cls(*values)
        assert type(made) is cls and tuple(made) == values
        assert made == cls._make(values) == cls(**dict(zip(fields, values, strict=True)))
        assert [getattr(made, f) for f in fields] == list(values)
        with pytest.raises(TypeError):
            cls(*values, "one too many")
        with pytest.raises(TypeError):
            cls(*values[:-1], nonsense=1)


def test_defaults_and_replace_still_apply() -> None:
    assert Flush(3) == (3, b"") and type(Flush(3)) is Flush
    assert Delete(0, b"k")._replace(key=b"j") == Delete(0, b"j")
    with pytest.raises(TypeError):
        Delete(0)


def test_batch_constructor_and_codec_round_trip() -> None:
    effects = [Assign(0, b"k", b"v", 5), Delete(1, b"x"), Flush(2)]
    batch = Batch("r1/a", 7, 123, {"r2/b": 4}, effects)
    assert batch.events == () and batch.last_seq == 9
    assert Batch(origin="r1/a", first_seq=7, hlc=123, deps={"r2/b": 4}, effects=effects) == batch
    with_events = Batch("r1/a", 7, 123, {}, effects, (("string", "set", 0, b"k"),))
    assert with_events.events == (("string", "set", 0, b"k"),)
    with pytest.raises(TypeError):
        Batch("r1/a", 7)
    back = decode_batch(encode_batch(batch))
    assert back == batch and [type(e) for e in back.effects] == [Assign, Delete, Flush]


def test_decoder_refuses_a_wrong_field_count() -> None:
    """A record's effect with one field too many or too few is a CodecError, not an effect."""
    record = msgpack.unpackb(encode_batch(Batch("r1/a", 1, 1, {}, [Delete(0, b"k")])), raw=False)
    raw_effect = record[5][0]  # [code, db, key]
    for wrong in (raw_effect + [99], raw_effect[:2]):
        record[5] = [wrong]
        with pytest.raises(CodecError):
            decode_batch(msgpack.packb(record, use_bin_type=True))
