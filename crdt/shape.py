"""Shape checks for decoded effects: every field of the type its class declares.

A batch from a peer is applied only when each of its effects is made of what its NamedTuple
says (``db: int``, ``key: bytes``, ``members: tuple[bytes, ...]``, ...): a corrupt or hostile
frame that still decodes as msgpack (a flipped bit that turns a key into an int, an effect
code into another effect's) is refused by the codec before anything is applied, instead of
raising half-way through ``Keyspace.apply_batch``.

One checker per effect class is built from its type hints the first time it is needed.
msgpack gives lists where the classes say tuples, and an integral float may arrive as an int,
so both are accepted; ``Any`` and hints not listed below accept anything.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import activekv_buildguard

from .effects import NO_DB

Check = Callable[[Any], bool]

_checkers: dict[type, Callable[[Any], str | None]] = {}


def _exact(t: type) -> Check:
    return lambda v: type(v) is t


def _number(v: Any) -> bool:
    return type(v) is float or type(v) is int


def _build(hint: Any) -> Check:
    if hint is Any:
        return lambda v: True
    if hint is type(None) or hint is None:
        return lambda v: v is None
    if hint in (int, bytes, str, bool):
        return _exact(hint)
    if hint is float:
        return _number
    if hint is Decimal:
        return lambda v: isinstance(v, Decimal)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        alternatives = [_build(a) for a in args]
        return lambda v: any(c(v) for c in alternatives)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _build(args[0])
            return lambda v: isinstance(v, (tuple, list)) and all(item(x) for x in v)
        items = [_build(a) for a in args]
        return lambda v: (isinstance(v, (tuple, list)) and len(v) == len(items)
                          and all(c(x) for c, x in zip(items, v, strict=True)))
    return lambda v: True


def _checker(cls: type) -> Callable[[Any], str | None]:
    hints = typing.get_type_hints(cls)
    if any(h in (tuple, list, dict) for h in hints.values()):  # erased by the compiled build
        hints = {**hints, **activekv_buildguard.written_hints(cls)}
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    checks = [(name, _build(hints[name])) for name in fields if name in hints]

    def check(effect: Any) -> str | None:
        for name, ok in checks:
            if not ok(getattr(effect, name)):
                return name
        return None

    return check


def bad_field(effect: Any) -> str | None:
    """The name of the first field of ``effect`` that is not of its declared type, or None."""
    cls = type(effect)
    check = _checkers.get(cls)
    if check is None:
        check = _checkers[cls] = _checker(cls)
    return check(effect)


def bad_db(effects: list[Any], databases: int) -> int | None:
    """The first db number of ``effects`` this keyspace does not have, or None. Besides
    ``0 .. databases - 1``: -1 (FLUSHALL's every database) and ``NO_DB`` (not a key's)."""
    for effect in effects:
        db = effect.db
        if not NO_DB <= db < databases:
            return int(db)
    return None
