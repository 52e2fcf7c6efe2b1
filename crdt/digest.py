"""A digest of the visible state: equal digests <=> equal visible state (SEMANTICS G1).

Each visible key contributes a 128-bit xxh3 hash of a canonical encoding of (database, key,
type, value, absolute expire time); the contributions are combined with XOR, so the digest does
not depend on dict order and costs one pass.
"""

from __future__ import annotations

import msgpack
import xxhash

from .entry import Database, Entry
from .keyspace import Keyspace


def canonical(dbi: int, key: bytes, entry: Entry) -> bytes:
    content = entry.content()
    return msgpack.packb([dbi, key, content.type_name, content.visible(), entry.expire_at()], use_bin_type=True)


def key_digest(dbi: int, key: bytes, entry: Entry | None) -> int:
    if entry is None:
        return 0
    return xxhash.xxh3_128_intdigest(canonical(dbi, key, entry))


def db_digest(dbi: int, db: Database, now_ms: int) -> int:
    acc = 0
    for key, entry in db.items():
        if db.is_expired(key, now_ms):
            continue
        acc ^= key_digest(dbi, key, entry)
    return acc


def keyspace_digest(ks: Keyspace) -> str:
    acc = 0
    for dbi, db in enumerate(ks.dbs):
        acc ^= db_digest(dbi, db, ks.now_ms)
    return "%032x" % acc
