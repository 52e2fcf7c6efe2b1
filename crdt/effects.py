"""Effects: the deterministic result of a write command, computed at its origin and applied
unchanged everywhere (SEMANTICS.md, "effect"). Pure data; ``keyspace.apply`` interprets them.

Every effect names its database and key. Its dot, timestamp and causal context are not part
of it: they come from the batch that carries it (see ``Batch``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple, TypeAlias

from .clock import VV

# Expire-time field of Assign: KEEP_TTL leaves the TTL alone; 0 writes "no expiry".
KEEP_TTL = -1


class Assign(NamedTuple):
    """SET and every whole-value string write."""

    db: int
    key: bytes
    value: bytes
    expire_at: int = 0  # absolute ms, 0 = no expiry, KEEP_TTL = unchanged


class Incr(NamedTuple):
    """INCR/DECR/INCRBY/DECRBY (int delta) and INCRBYFLOAT (Decimal delta)."""

    db: int
    key: bytes
    delta: int | Decimal


class Delete(NamedTuple):
    """DEL/UNLINK/GETDEL, expiry, and removing an expired key: observed-remove of the key."""

    db: int
    key: bytes


class Expire(NamedTuple):
    """EXPIRE and friends (absolute ms), PERSIST (0)."""

    db: int
    key: bytes
    at_ms: int


class SetAdd(NamedTuple):
    db: int
    key: bytes
    members: tuple[bytes, ...]


class SetRemove(NamedTuple):
    db: int
    key: bytes
    members: tuple[bytes, ...]


class HashSet(NamedTuple):
    db: int
    key: bytes
    pairs: tuple[tuple[bytes, bytes], ...]


class HashDelete(NamedTuple):
    db: int
    key: bytes
    fields: tuple[bytes, ...]


class HashIncr(NamedTuple):
    db: int
    key: bytes
    field: bytes
    delta: int | Decimal


class Flush(NamedTuple):
    """FLUSHDB (db >= 0) / FLUSHALL (db = -1): observed-remove of every key."""

    db: int
    key: bytes = b""


Effect: TypeAlias = (
    Assign | Incr | Delete | Expire | SetAdd | SetRemove | HashSet | HashDelete | HashIncr | Flush
)

# Stable wire codes: never renumber, only append.
EFFECT_CODES: dict[type, int] = {
    Assign: 1,
    Incr: 2,
    Delete: 3,
    Expire: 4,
    SetAdd: 5,
    SetRemove: 6,
    HashSet: 7,
    HashDelete: 8,
    HashIncr: 9,
    Flush: 10,
}
EFFECT_TYPES: dict[int, type] = {code: cls for cls, code in EFFECT_CODES.items()}


class Batch(NamedTuple):
    """Effects made together at one origin (one command, or one MULTI/EXEC).

    Effect ``i`` has dot ``(origin, first_seq + i)``, tag ``(hlc, origin, first_seq + i)``, and
    causal context ``deps`` with ``deps[origin] = first_seq + i - 1``: the origin's VV just
    before it was made. A batch is applied whole (G6) once every dot in ``deps`` is applied (G2).
    """

    origin: str
    first_seq: int
    hlc: int
    deps: VV
    effects: list[Effect]

    @property
    def last_seq(self) -> int:
        """The seq of the batch's last effect (its origin's VV entry once it is applied)."""
        return self.first_seq + len(self.effects) - 1
