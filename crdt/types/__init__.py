"""The content types and their registry.

A key holds one *content* per type it was written as (usually exactly one; see the keyspace's
type shadows). Each content type lives in one module of this package, which defines

* the content class, implementing ``Content`` below;
* its effects (NamedTuples, registered with ``crdt.effects.register_effect``) and their
  interpreters: functions ``(keyspace, effect, tag, ctx)`` that change the key's content
  through the keyspace's ``open``/``settle`` (so expiry, type shadows and the GC queue stay
  true);
* one ``register(CRDTType(...))`` call.

Nothing else names a type: the keyspace, the state stream (snapshots and state merge) and the
digest all go through ``registered()``, which imports every module of this package once. Adding
a type is adding a module here and its command module under ``server/commands/``.

The string type is special in one way only: its content is the key's ``Entry`` itself (a plain
string key is one small object), so the keyspace builds on ``strings.StrValue`` directly.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, Protocol

from crdt.clock import VV


class Content(Protocol):
    """One key's content of one type."""

    type_name: ClassVar[str]  # the TYPE reply, and the key of the registry

    def remove_observed(self, ctx: VV) -> None:
        """Observed-remove: drop every element whose dot ``ctx`` covers."""

    def is_empty(self) -> bool: ...

    def latest(self) -> tuple:
        """The greatest tag in the content (the visible type of a shadowed key is the one whose
        content holds the greatest tag)."""

    def merge_from(self, other: Any, mine: VV, theirs: VV) -> None:
        """State merge: keep what both hold, and what one side holds that the other's VV
        (``mine`` is ours before the merge) has not observed."""

    def encode(self, region_id: Callable[[str], int]) -> Any:
        """msgpack-able state with every tag's region replaced by ``region_id(region)``."""

    def visible(self) -> Any:
        """The visible value in a canonical form (what the digest hashes)."""


class CRDTType(NamedTuple):
    name: str  # the TYPE reply ("string", "set", ...)
    version: int  # of ``encode``'s format: ``decode`` refuses another
    new: Callable[[], Any]  # an empty content
    decode: Callable[[Any, list[str]], Any]  # (encoded state, region names) -> content
    interpreters: dict[type, Callable[..., None]]  # effect class -> fn(ks, effect, tag, ctx)
    reads: tuple[int, ...] = ()  # older versions of the format ``decode`` still reads


_TYPES: dict[str, CRDTType] = {}
_loaded = False


def register(t: CRDTType) -> CRDTType:
    if t.name in _TYPES:
        raise ValueError(f"type {t.name!r} registered twice")
    _TYPES[t.name] = t
    return t


def registered() -> dict[str, CRDTType]:
    """Every content type, by name (importing this package's modules the first time)."""
    global _loaded
    if not _loaded:
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
        _loaded = True
    return _TYPES


def interpreter_table() -> dict[type, Callable[..., None]]:
    """Effect class -> interpreter, over every registered type."""
    table: dict[type, Callable[..., None]] = {}
    for t in registered().values():
        for cls, fn in t.interpreters.items():
            if cls in table:
                raise ValueError(f"effect {cls.__name__} interpreted by two types")
            table[cls] = fn
    return table

