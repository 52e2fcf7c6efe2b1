"""The command table's metadata, loaded from ``command_spec.json``.

``command_spec.json`` is generated once from Redis 7.0.15 by ``python -m
server.gen_command_spec`` (see that module for the tagged-JSON format); nothing here is
hand-copied.  :func:`decode` turns the tagged JSON into :mod:`server.resp` reply values
(``Map``, ``RSet``, ``Status``, lists, ``str`` bulk strings, ``int``), so that
``resp.encode(spec.info, out, resp3)`` re-emits exactly the bytes Redis sent, in RESP2 and
RESP3.

Redis 7.0.15 behaviour reproduced by the helpers below, ``Client.dispatch`` and
:mod:`server.errors` (checked by experiment, tests/compat/test_command_spec_vs_redis.py):

* Lookup (``lookupCommandLogic``): ``argv[0]`` is looked up case-insensitively; if it is a
  container (has subcommands) and there are at least two arguments, ``argv[1]`` is looked
  up among its subcommands (one level only).  A container called alone is checked against
  its own arity (``CLIENT`` -> wrong number of arguments for ``'client'``).
* Arity (``processCommand``): ``arity > 0`` means exactly ``arity`` arguments (command name
  included); ``arity < 0`` means at least ``-arity``.  The error uses the command's full
  lowercase name, whatever case the client typed::

      ERR wrong number of arguments for 'get' command
      ERR wrong number of arguments for 'client|id' command

* EXEC is special (``rejectCommand`` -> ``execCommandAbort``): a rejected EXEC, in or
  out of MULTI, replies ``EXECABORT Transaction discarded because of: <message without
  the "ERR " prefix>`` and discards the transaction if there is one::

      EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command

  (:meth:`CommandSpec.arity_error` returns that form; discarding is the caller's job.)

* Unknown subcommand of a container (``argv[1]`` as typed, at most 128 bytes; container
  name as typed, upper-cased)::

      ERR unknown subcommand 'nosuch'. Try CLIENT HELP.

* Unknown command (name as typed, at most 128 bytes; then ``'arg' `` for each argument
  while the list is shorter than 128 bytes, each cut to the remaining room; note the
  trailing space, and the space after the colon even with no arguments)::

      "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
      "ERR unknown command 'foo', with args beginning with: "

  ``\\r`` and ``\\n`` in these messages are replaced by spaces (``rejectCommandFormat``).

* ``COMMAND INFO a b``: an array with one element per name: the entry, or a null
  (``$-1`` in RESP2, ``_`` in RESP3) for an unknown name.  Names may be ``container|sub``
  (exactly one ``|``, looked up strictly).
* ``COMMAND DOCS a b``: a map from each *found* command's full name (lowercase, e.g.
  ``client|id``) to its docs; unknown names are left out.
* ``COMMAND COUNT`` counts top-level commands only; ``COMMAND LIST`` lists top-level
  commands *and* subcommands (``config|get``); ``COMMAND`` returns every top-level entry
  with its subcommands nested.  The order of all of these in Redis is hash-table order
  (randomised per process), so any order is as good as Redis's.
* Subcommands are sorted by name in the data file (Redis's order is per-process random).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from server import errors
from server.resp import Error, Map, RSet, Status

SPEC_PATH = Path(__file__).with_name("command_spec.json")

# Positions in a COMMAND INFO entry (Redis 7).
INFO_NAME, INFO_ARITY, INFO_FLAGS, INFO_FIRST, INFO_LAST, INFO_STEP = range(6)
INFO_ACL, INFO_TIPS, INFO_KEY_SPECS, INFO_SUBCOMMANDS = range(6, 10)


def decode(tagged: Any) -> Any:
    """Tagged JSON -> reply value (see ``server.gen_command_spec`` for the format)."""
    if isinstance(tagged, list):
        return [decode(item) for item in tagged]
    if isinstance(tagged, dict):
        if "@map" in tagged:
            return Map([(decode(k), decode(v)) for k, v in tagged["@map"]])
        if "@set" in tagged:
            return RSet(decode(item) for item in tagged["@set"])
        if "@status" in tagged:
            return Status(tagged["@status"])
        if "@double" in tagged:
            return float(tagged["@double"])
        raise ValueError(f"unknown tagged value {tagged!r}")
    if tagged is None or isinstance(tagged, (str, int, float)):  # bool is an int
        return tagged
    raise ValueError(f"unexpected JSON value {tagged!r}")


def to_plain(value: Any) -> Any:
    """Reply value -> plain Python (Map -> dict, RSet/list -> list, Status -> str)."""
    if isinstance(value, Map):
        return {to_plain(k): to_plain(v) for k, v in value.items}
    if isinstance(value, RSet):
        return [to_plain(m) for m in value.members]
    if isinstance(value, list):
        return [to_plain(m) for m in value]
    if isinstance(value, Status):
        return str(value)
    return value


def to_plain_flags(value: Any) -> list[str]:
    """A set/array of statuses or bulk strings (flags, ACL categories, tips) -> list[str]."""
    members = value.members if isinstance(value, RSet) else value
    return [str(m) for m in members]


def map_get(value: Map, key: str, default: Any = None) -> Any:
    for k, v in value.items:
        if k == key:
            return v
    return default


@dataclass(eq=False)
class CommandSpec:
    """One command (or subcommand) as Redis 7.0.15 describes it."""

    name: str  # full lowercase name: "get", "client|id"
    arity: int
    flags: list[str]
    first_key: int
    last_key: int
    step: int
    acl_categories: list[str]  # with the "@": ["@read", "@string", "@fast"]
    tips: list[str]
    subcommands: dict[str, CommandSpec]  # full name -> spec: "client|id" -> ...
    info: Any  # the COMMAND INFO entry, as reply values
    docs: Any  # the COMMAND DOCS value (a Map), as reply values
    container: str | None = None  # "client" for "client|id"

    @property
    def is_container(self) -> bool:
        return bool(self.subcommands)

    def arity_ok(self, argc: int) -> bool:
        return arity_ok(self.arity, argc)

    def arity_error(self) -> Error:
        """The arity error; for EXEC, Redis's EXECABORT form (see the module docstring)."""
        if self.name == "exec":
            return Error(errors.EXECABORT_BECAUSE % errors.wrong_arity("exec").removeprefix("ERR "))
        return Error(errors.wrong_arity(self.name))

    def info_reply(self) -> list[Any]:
        """What ``COMMAND INFO <name>`` replies: a one-element array."""
        return [self.info]

    def docs_reply(self) -> Map:
        """What ``COMMAND DOCS <name>`` replies: a one-pair map keyed by the full name."""
        return Map([(self.name, self.docs)])

    def subcommand(self, name: str | bytes) -> CommandSpec | None:
        sub = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        return self.subcommands.get(f"{self.name}|{sub.lower()}")

    def with_subcommands(self, keep: Iterable[str]) -> CommandSpec:
        """A copy of a container keeping only the subcommands named (full names).

        INFO element 10 keeps its RESP type (Redis sends an array for a container, an
        empty set only for a command without subcommands); the DOCS ``subcommands`` map
        is filtered the same way.
        """
        wanted = set(keep)
        subs = {n: s for n, s in self.subcommands.items() if n in wanted}
        info = list(self.info)
        old = info[INFO_SUBCOMMANDS]
        kept = [e for e in to_list(old) if e[INFO_NAME] in wanted]
        info[INFO_SUBCOMMANDS] = RSet(kept) if isinstance(old, RSet) else kept
        docs = Map(
            [
                (k, Map([(n, d) for n, d in v.items if n in wanted]))
                if k == "subcommands" and isinstance(v, Map)
                else (k, v)
                for k, v in self.docs.items
            ]
        )
        return replace(self, subcommands=subs, info=info, docs=docs)


def to_list(value: Any) -> list[Any]:
    return list(value.members) if isinstance(value, RSet) else list(value)


def _build(info: Any, docs: Any, container: str | None = None) -> CommandSpec:
    name = str(info[INFO_NAME])
    subcommands: dict[str, CommandSpec] = {}
    sub_docs = map_get(docs, "subcommands", Map([])) if isinstance(docs, Map) else Map([])
    for sub_info in to_list(info[INFO_SUBCOMMANDS]):
        sub_name = str(sub_info[INFO_NAME])
        subcommands[sub_name] = _build(sub_info, map_get(sub_docs, sub_name, Map([])), name)
    return CommandSpec(
        name=name,
        arity=int(info[INFO_ARITY]),
        flags=to_plain_flags(info[INFO_FLAGS]),
        first_key=int(info[INFO_FIRST]),
        last_key=int(info[INFO_LAST]),
        step=int(info[INFO_STEP]),
        acl_categories=to_plain_flags(info[INFO_ACL]),
        tips=to_plain_flags(info[INFO_TIPS]),
        subcommands=subcommands,
        info=info,
        docs=docs,
        container=container,
    )


@cache
def _load_file(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def _load_spec(path: str) -> dict[str, CommandSpec]:
    data = _load_file(path)
    return {
        name: _build(decode(entry["info"]), decode(entry["docs"]))
        for name, entry in data["commands"].items()
    }


def load_spec(path: str | Path | None = None) -> dict[str, CommandSpec]:
    """Top-level lowercase name -> :class:`CommandSpec` (cached; do not mutate)."""
    return _load_spec(str(path or SPEC_PATH))


def redis_version(path: str | Path | None = None) -> str:
    version: str = _load_file(str(path or SPEC_PATH))["redis_version"]
    return version


def missing_commands(path: str | Path | None = None) -> list[str]:
    """Requested names absent from the reference Redis (e.g. ``client|setinfo``, 7.2)."""
    return list(_load_file(str(path or SPEC_PATH))["missing"])


# --------------------------------------------------------------------------- dispatch rules


def arity_ok(arity: int, argc: int) -> bool:
    """Redis's rule: ``arity > 0`` exactly, ``arity < 0`` at least ``-arity``."""
    return argc == arity if arity > 0 else argc >= -arity


def _text(arg: str | bytes) -> str:
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else arg


def lookup_by_name(table: Mapping[str, CommandSpec], name: str | bytes) -> CommandSpec | None:
    """Redis's ``lookupCommandBySds`` (COMMAND INFO/DOCS): ``get`` or ``client|id``."""
    parts = _text(name).split("|")
    if len(parts) > 2:
        return None
    base = table.get(parts[0].lower())
    if base is None or len(parts) == 1:
        return base
    return base.subcommand(parts[1]) if base.is_container else None


def command_info_reply(table: Mapping[str, CommandSpec], names: Sequence[str | bytes]) -> list[Any]:
    """``COMMAND INFO name...``: entries, ``None`` for unknown names."""
    out: list[Any] = []
    for name in names:
        spec = lookup_by_name(table, name)
        out.append(None if spec is None else spec.info)
    return out


def command_docs_reply(table: Mapping[str, CommandSpec], names: Sequence[str | bytes]) -> Map:
    """``COMMAND DOCS name...``: full name -> docs, unknown names left out."""
    items: list[tuple[Any, Any]] = []
    for name in names:
        spec = lookup_by_name(table, name)
        if spec is not None:
            items.append((spec.name, spec.docs))
    return Map(items)


def all_names(table: Mapping[str, CommandSpec]) -> list[str]:
    """``COMMAND LIST``: top-level names and ``container|sub`` names."""
    names: list[str] = []
    for spec in table.values():
        names.append(spec.name)
        names.extend(spec.subcommands)
    return names
