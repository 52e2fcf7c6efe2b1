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

_checkers: dict[type, Callable[[Any], str | None]] = {}


class _Gen:
    """Writes one checker function per effect class: each field's test inline, as Python
    source compiled once (a tree of closures cost a call per field and per item: 10% of a
    peer's CPU applying small batches)."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_seq": (tuple, list), "_Decimal": Decimal}
        self.depth = 0

    def const(self, value: Any) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def expr(self, hint: Any, v: str) -> str:
        """A Python expression true when the value named ``v`` fits ``hint``."""
        if hint is Any:
            return "True"
        if hint is type(None) or hint is None:
            return f"{v} is None"
        if hint in (int, bytes, str, bool):
            return f"type({v}) is {self.const(hint)}"
        if hint is float:
            return f"(type({v}) is {self.const(float)} or type({v}) is {self.const(int)})"
        if hint is Decimal:
            return f"isinstance({v}, _Decimal)"
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            return "(" + " or ".join(self.expr(a, v) for a in args) + ")"
        if origin is tuple:
            self.depth += 1
            x = f"x{self.depth}"
            if len(args) == 2 and args[1] is Ellipsis:
                item = self.expr(args[0], x)
                inner = "" if item == "True" else f" and all({item} for {x} in {v})"
                return f"(isinstance({v}, _seq){inner})"
            parts = [f"isinstance({v}, _seq)", f"len({v}) == {len(args)}"]
            parts += [e for i, a in enumerate(args) if (e := self.expr(a, f"{v}[{i}]")) != "True"]
            return "(" + " and ".join(parts) + ")"
        return "True"

    def field(self, index: int, name: str, hint: Any) -> list[str]:
        """Statements returning ``name`` when field ``index`` of ``e`` does not fit."""
        v = f"f{index}"
        fail = f"return {name!r}"
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            if len(args) == 2 and args[1] is Ellipsis:  # a loop, not a generator, per item
                item = self.expr(args[0], "x")
                lines = [f"    {v} = e[{index}]", f"    if not isinstance({v}, _seq): {fail}"]
                if item != "True":
                    lines += [f"    for x in {v}:", f"        if not {item}: {fail}"]
                return lines
        check = self.expr(hint, v)
        return [] if check == "True" else [f"    {v} = e[{index}]", f"    if not {check}: {fail}"]


def _checker(cls: type) -> Callable[[Any], str | None]:
    hints = typing.get_type_hints(cls)
    if any(h in (tuple, list, dict) for h in hints.values()):  # erased by the compiled build
        hints = {**hints, **activekv_buildguard.written_hints(cls)}
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    gen = _Gen()
    body = [line for i, name in enumerate(fields) if name in hints
            for line in gen.field(i, name, hints[name])]
    source = "\n".join(["def check(e):", *body, "    return None", ""])
    namespace = dict(gen.names)
    exec(compile(source, f"<shape check of {cls.__name__}>", "exec"), namespace)  # noqa: S102
    check: Callable[[Any], str | None] = namespace["check"]
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
