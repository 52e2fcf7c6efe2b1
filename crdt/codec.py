"""Versioned binary encoding of batches (op log records and the peer wire format).

A record is ``[version, origin, first_seq, hlc, deps, [[code, *fields], ...]]`` in msgpack.
Decimal deltas travel as their exact string (msgpack ``str``), everything binary as ``bin``,
so the two never mix up. ``CODEC_VERSION`` is the first byte of meaning: a reader refuses a
version it does not know rather than guessing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack

from .effects import EFFECT_CODES, EFFECT_TYPES, Batch, Effect, HashIncr, HashSet, Incr

CODEC_VERSION = 1
_pack = msgpack.Packer(use_bin_type=True).pack  # one packer, reused (packb builds one per call)


_HSET = EFFECT_CODES[HashSet]


class CodecError(ValueError):
    pass


def _enc_effect(e: Effect) -> tuple:
    """``(code, *fields)``; msgpack packs the tuple as an array."""
    t = type(e)
    if t is HashSet:
        return (_HSET, e.db, e.key, [x for p in e.pairs for x in p])  # type: ignore[union-attr]
    if (t is Incr or t is HashIncr) and type(e[-1]) is Decimal:
        return (EFFECT_CODES[t], *e[:-1], str(e[-1]))
    return (EFFECT_CODES[t], *e)


def encode_batch(batch: Batch) -> bytes:
    enc = [_enc_effect(e) for e in batch.effects]
    return _pack((CODEC_VERSION, batch.origin, batch.first_seq, batch.hlc, batch.deps, enc))


def _unpack(data: bytes) -> list[Any]:
    """``[version, origin, first_seq, hlc, deps, raw_effects]``, checked."""
    try:
        rec = msgpack.unpackb(data, raw=False, strict_map_key=False)
        version = rec[0]
        if len(rec) != 6:
            raise ValueError(f"{len(rec)} fields")
    except Exception as exc:  # msgpack raises several types for malformed input
        raise CodecError(f"malformed batch record: {exc}") from exc
    if version != CODEC_VERSION:
        raise CodecError(f"unsupported batch codec version {version}")
    return rec


def decode_batch(data: bytes) -> Batch:
    _, origin, first_seq, hlc, deps, raw_effects = _unpack(data)
    effects: list[Effect] = []
    for raw in raw_effects:
        cls = EFFECT_TYPES.get(raw[0])
        if cls is None:
            raise CodecError(f"unknown effect code {raw[0]}")
        fields = raw[1:]
        if cls is HashSet:
            flat = fields[2]
            effects.append(HashSet(fields[0], fields[1], tuple(zip(flat[::2], flat[1::2], strict=True))))
            continue
        if cls is Incr or cls is HashIncr:
            delta = fields[-1]
            fields[-1] = Decimal(delta) if type(delta) is str else delta
        elif len(fields) > 2 and type(fields[2]) is list:
            fields[2] = tuple(fields[2])
        effects.append(cls(*fields))
    return Batch(origin, first_seq, hlc, dict(deps), effects)


def decode_meta(data: bytes) -> tuple[str, int, int, dict[str, int]]:
    """``(origin, first_seq, last_seq, deps)`` of an encoded batch, without building its
    effects (a peer stream reading old records from the log needs no more)."""
    _, origin, first_seq, _, deps, raw_effects = _unpack(data)
    return origin, first_seq, first_seq + len(raw_effects) - 1, dict(deps)
