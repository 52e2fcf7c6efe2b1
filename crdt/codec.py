"""Versioned binary encoding of batches (op log records and the peer wire format).

A record is ``[version, origin, first_seq, hlc, deps, [[code, *fields], ...]]`` in msgpack,
followed by ``[[class, event, db, key], ...]`` when the batch carries keyspace notifications
(``Batch.events``; a record without them is what version 1 always wrote).
Decimal deltas travel as their exact string (msgpack ``str``), everything binary as ``bin``,
so the two never mix up. ``CODEC_VERSION`` is the first byte of meaning: a reader refuses a
version it does not know rather than guessing.
"""

from __future__ import annotations

from typing import Any

import msgpack

from .effects import EFFECT_TYPES, EFFECTS, Batch, Effect
from .shape import bad_field
from .types import registered
from .types.strings import Assign

CODEC_VERSION = 1
_pack = msgpack.Packer(use_bin_type=True).pack  # one packer, reused (packb builds one per call)
registered()  # every type's effects are registered before the first record is read
ASSIGN = EFFECTS[Assign].code
# ``Assign(...)`` runs the NamedTuple's ``__new__``, a Python function even in the compiled
# build; this is what it does (``tuple.__new__(cls, fields)``), a C call.
_new_tuple: Any = tuple.__new__


class CodecError(ValueError):
    pass


def encode_batch(batch: Batch) -> bytes:
    enc = [EFFECTS[type(e)].encode(e) for e in batch.effects]
    if batch.events:
        return _pack((CODEC_VERSION, batch.origin, batch.first_seq, batch.hlc, batch.deps, enc,
                      batch.events))
    return _pack((CODEC_VERSION, batch.origin, batch.first_seq, batch.hlc, batch.deps, enc))


def _unpack(data: bytes) -> list[Any]:
    """``[version, origin, first_seq, hlc, deps, raw_effects(, events)]``, checked."""
    try:
        rec = msgpack.unpackb(data, raw=False, strict_map_key=False)
        version = rec[0]
        if len(rec) not in (6, 7):
            raise ValueError(f"{len(rec)} fields")
    except Exception as exc:  # msgpack raises several types for malformed input
        raise CodecError(f"malformed batch record: {exc}") from exc
    if version != CODEC_VERSION:
        raise CodecError(f"unsupported batch codec version {version}")
    return rec


def decode_batch(data: bytes) -> Batch:
    """A batch from its record; ``CodecError`` for anything that is not one (a corrupt record,
    or a peer's frame of the wrong shape), before any of it can be applied."""
    rec = _unpack(data)
    _, origin, first_seq, hlc, deps, raw_effects = rec[:6]
    _check_header(origin, first_seq, hlc, deps, raw_effects)
    effects: list[Effect] = []
    for raw in raw_effects:
        code = raw[0]
        if type(code) is int and code == ASSIGN and len(raw) == 5:
            # The common effect of a catch-up (a SET), checked and built here: the same
            # checks ``bad_field`` makes (every field of its declared type), without the
            # per-effect decoder and checker calls (half of the decode of a SET record).
            _, db, key, value, at = raw
            if type(db) is int and type(key) is bytes and type(value) is bytes and type(at) is int:
                effects.append(_new_tuple(Assign, (db, key, value, at)))
                continue
        cls = EFFECT_TYPES.get(code) if type(code) is int else None
        if cls is None:
            raise CodecError(f"unknown effect code {code!r}")
        try:
            effect = EFFECTS[cls].decode(raw[1:])
        except Exception as exc:  # whatever a decoder raises on fields of the wrong shape
            raise CodecError(f"malformed {cls.__name__} effect: {exc}") from exc
        field = bad_field(effect)
        if field is not None:
            raise CodecError(f"malformed {cls.__name__} effect: {field} of the wrong type")
        effects.append(effect)
    events: tuple[tuple[str, str, int, bytes], ...] = ()
    if len(rec) == 7:
        try:
            events = tuple((str(c), str(e), int(db), bytes(k)) for c, e, db, k in rec[6])
        except (TypeError, ValueError) as exc:
            raise CodecError(f"malformed events: {exc}") from exc
    return Batch(origin, first_seq, hlc, dict(deps), effects, events)


def _check_header(origin: Any, first_seq: Any, hlc: Any, deps: Any, raw_effects: Any) -> None:
    if type(origin) is not str or not origin:
        raise CodecError(f"malformed batch record: origin {origin!r}")
    if type(first_seq) is not int or first_seq < 1 or type(hlc) is not int or hlc < 0:
        raise CodecError(f"malformed batch record: seq {first_seq!r}, hlc {hlc!r}")
    if type(deps) is not dict or not all(
        type(k) is str and type(v) is int and v >= 0 for k, v in deps.items()
    ):
        raise CodecError("malformed batch record: deps is not a version vector")
    if type(raw_effects) is not list or not all(type(r) is list and r for r in raw_effects):
        raise CodecError("malformed batch record: effects is not a list of effects")


def decode_meta(data: bytes) -> tuple[str, int, int, dict[str, int]]:
    """``(origin, first_seq, last_seq, deps)`` of an encoded batch, without building its
    effects (a peer stream reading old records from the log needs no more): the header's
    fields are read and the effects only counted, so a record of a thousand SETs costs what
    one of a single SET does (the sending side of a catch-up reads every record this way)."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(data)
    try:
        fields = unpacker.read_array_header()
        version = unpacker.unpack()
        if fields not in (6, 7):
            raise ValueError(f"{fields} fields")
        origin, first_seq = unpacker.unpack(), unpacker.unpack()
        unpacker.skip()  # the HLC
        deps = unpacker.unpack()
        count = unpacker.read_array_header()
    except Exception as exc:  # msgpack raises several types for malformed input
        raise CodecError(f"malformed batch record: {exc}") from exc
    if version != CODEC_VERSION:
        raise CodecError(f"unsupported batch codec version {version}")
    return origin, first_seq, first_seq + count - 1, dict(deps)
