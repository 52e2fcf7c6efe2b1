"""Effects: the deterministic result of a write command, computed at its origin and applied
unchanged everywhere (SEMANTICS.md, "effect"). Pure data; the keyspace interprets them.

Every effect names its database and key. Its dot, timestamp and causal context are not part
of it: they come from the batch that carries it (see ``Batch``).

The key-level effects (``Delete``, ``Expire``, ``Flush``) are defined here; each content type
defines its own in its module under ``crdt/types/`` and registers it with ``register_effect``:
its stable wire code and, where the default ``(code, *fields)`` does not fit, how it encodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from .clock import VV


class Effect(Protocol):
    """What every effect is: a NamedTuple whose first two fields are ``db`` and ``key``."""

    @property
    def db(self) -> int: ...

    @property
    def key(self) -> bytes: ...


class Delete(NamedTuple):
    """DEL/UNLINK/GETDEL, expiry, and removing an expired key: observed-remove of the key."""

    db: int
    key: bytes


class Expire(NamedTuple):
    """EXPIRE and friends (absolute ms), PERSIST (0)."""

    db: int
    key: bytes
    at_ms: int


class Flush(NamedTuple):
    """FLUSHDB (db >= 0) / FLUSHALL (db = -1): observed-remove of every key."""

    db: int
    key: bytes = b""


class EffectInfo(NamedTuple):
    """How an effect class travels and what it does to a key's existence.

    ``encode`` returns ``(code, *fields)`` as msgpack packs it; ``decode`` takes the fields
    after the code. ``creates``, for effects that can give a key content, tells whether this
    one needs the key's remains observed-removed first when it creates the key (see
    ``Keyspace.emit``); None for effects that never create a key."""

    code: int
    encode: Callable[[Any], tuple]
    decode: Callable[[list[Any]], Any]
    creates: bool | Callable[[Any], bool] | None  # True: always


EFFECTS: dict[type, EffectInfo] = {}
EFFECT_TYPES: dict[int, type] = {}  # wire code -> effect class


def register_effect(
    cls: type,
    code: int,
    *,
    encode: Callable[[Any], tuple] | None = None,
    decode: Callable[[list[Any]], Any] | None = None,
    creates: bool | Callable[[Any], bool] = False,
) -> None:
    """Register an effect class under its wire code. Codes are stable: never renumber."""
    if code in EFFECT_TYPES or cls in EFFECTS:
        raise ValueError(f"effect code {code} or class {cls.__name__} registered twice")
    enc = encode or (lambda e: (code, *e))
    dec = decode or (lambda fields: cls(*fields))
    pred = creates or None
    EFFECTS[cls] = EffectInfo(code, enc, dec, pred)
    EFFECT_TYPES[code] = cls


register_effect(Delete, 3)
register_effect(Expire, 4)
register_effect(Flush, 10)


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
    # Keyspace notifications the origin's commands fired, as (class, event, db, key): carried
    # with the effects so every region fires the same events for them. Not state: applying
    # a batch never reads them, digests and merges ignore them.
    events: tuple[tuple[str, str, int, bytes], ...] = ()

    @property
    def last_seq(self) -> int:
        """The seq of the batch's last effect (its origin's VV entry once it is applied)."""
        return self.first_seq + len(self.effects) - 1
