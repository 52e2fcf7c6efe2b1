"""DEBUG DIGEST and DEBUG DIGEST-VALUE, as Redis 7.0's debug.c computes them (xorDigest,
mixDigest, xorObjectDigest, computeDatasetDigest): SHA1s folded so that the order of a set's,
hash's or sorted set's elements does not matter and a list's or stream's does. Redis's own
test suite compares these digests (``debug_digest_value``, ``csvdump`` checks), so they are
byte for byte Redis's for every built-in type.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from crdt.types.ormap import HASH
from crdt.types.orset import SET
from crdt.types.sequence import LIST
from crdt.types.stream import STREAM
from crdt.types.strings import STRING
from crdt.types.zset import ZSET
from server.commands.zsets import d2string

if TYPE_CHECKING:
    from crdt.entry import Database
    from server.connection import Client

# Redis's OBJ_* type numbers (server.h), mixed in first.
_TYPE_IDS = {STRING: 0, LIST: 1, SET: 2, ZSET: 3, HASH: 4, STREAM: 6}


def _xor(digest: bytearray, data: bytes) -> None:
    for i, b in enumerate(hashlib.sha1(data).digest()):
        digest[i] ^= b


def _mix(digest: bytearray, data: bytes) -> None:
    _xor(digest, data)
    digest[:] = hashlib.sha1(bytes(digest)).digest()


def _element_pair(digest: bytearray, first: bytes, second: bytes) -> None:
    ele = bytearray(20)
    _mix(ele, first)
    _mix(ele, second)
    _xor(digest, bytes(ele))


def _object_digest(digest: bytearray, kind: str, content: Any, volatile: bool) -> None:
    _mix(digest, struct.pack(">I", _TYPE_IDS.get(kind, 0)))
    if kind == STRING:
        _mix(digest, content.value())
    elif kind == LIST:
        for element in content:
            _mix(digest, element)
    elif kind == SET:
        for member in content.members:
            _xor(digest, member)
    elif kind == ZSET:
        for score, member in content.index:
            _element_pair(digest, member, d2string(score))
    elif kind == HASH:
        for field, value in content.items():
            _element_pair(digest, field, value)
    elif kind == STREAM:
        for ek in content.keys:
            _mix(digest, b"%d.%d" % (ek[0], ek[1]))
            fields = content.fields[ek]
            for item in fields:
                _mix(digest, item)
    if volatile:
        _xor(digest, b"!!expire!!")


def _key_digest(db: Database, key: bytes, now_ms: int) -> bytearray:
    digest = bytearray(20)
    entry = db.get(key, now_ms)
    if entry is not None:
        _object_digest(digest, entry.kind, entry.content(), key in db.expires)
    return digest


def digest_values(c: Client, keys: list[bytes]) -> list[str]:
    """DEBUG DIGEST-VALUE key ...: one hex digest per key (all zeros for a missing key)."""
    db = c.ks.dbs[c.db]
    now = c.ks.now_ms
    return [_key_digest(db, key, now).hex() for key in keys]


def dataset_digest(c: Client) -> str:
    """DEBUG DIGEST: every database's keys and values, all zeros for an empty dataset."""
    final = bytearray(20)
    now = c.ks.now_ms
    for index, db in enumerate(c.ks.dbs):
        keys = [k for k in db.entries if db.exists(k, now)]
        if not keys:
            continue
        _mix(final, struct.pack(">I", index))
        for key in keys:
            digest = bytearray(20)
            _mix(digest, key)
            entry = db.peek(key)
            assert entry is not None
            _object_digest(digest, entry.kind, entry.content(), key in db.expires)
            _xor(final, bytes(digest))
    return final.hex()
