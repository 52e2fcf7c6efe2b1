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


# The db of effects that live outside the databases (function libraries): they change no key,
# so the keyspace signals no key change for them (WATCH, blocked clients, notifications).
NO_DB = -2


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
    dec = decode or _decoder(cls)
    pred = creates or None
    EFFECTS[cls] = EffectInfo(code, enc, dec, pred)
    EFFECT_TYPES[code] = cls
    _compiled_new(cls)


def _decoder(cls: type) -> Callable[[list[Any]], Any]:
    """An effect from its fields as they travel: every field there, the tuple is made at once
    (the shape check follows, ``crdt.shape``); else through the class, which fills defaults and
    refuses a wrong count."""
    n = len(getattr(cls, "_fields", ()))
    make = tuple.__new__

    def decode(fields: list[Any]) -> Any:
        if len(fields) == n:
            return make(cls, fields)
        return cls(*fields)

    return decode


def _compiled_new(cls: type) -> None:
    """Give a NamedTuple effect class a ``__new__`` compiled with this module: NamedTuple's is a
    Python function, a frame per effect a command makes (~2% of a SET's CPU). Positional
    arguments for every field make the tuple at once; anything else (defaults, keywords, a
    wrong count) goes to the class's own ``__new__``, which fills or refuses them as before."""
    fields = getattr(cls, "_fields", None)
    if fields is None:
        return
    n = len(fields)
    original = cls.__new__
    make = tuple.__new__

    def new(c: type, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and len(args) == n:
            return make(c, args)
        return original(c, *args, **kwargs)

    cls.__new__ = new  # type: ignore[method-assign,assignment]


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


def _new_batch(cls: type[Batch], origin: Any, first_seq: Any, hlc: Any, deps: Any, effects: Any,
               events: Any = ()) -> Batch:
    """``Batch.__new__``: the same as the one ``NamedTuple`` writes, but compiled with the rest of
    this module; NamedTuple's is a Python function (a frame per batch made: ~2% of a SET's CPU
    at the origin, where every command makes one, and at a peer, which decodes one).
    The fields are ``Any`` here so that nothing is checked that the Python class does not."""
    return tuple.__new__(cls, (origin, first_seq, hlc, deps, effects, events))


Batch.__new__ = _new_batch  # type: ignore[method-assign,assignment]
