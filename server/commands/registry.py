"""The command table: Redis's metadata (``command_spec.json``) joined with our handlers.

Handlers register by name with ``@command("get")`` / ``@command("client|id")``; everything
else a command is — arity, flags, key positions, COMMAND INFO/DOCS — comes from the spec, so
COMMAND, the arity check, the auth check and MULTI queueing all read one source of truth.
Only commands with a handler are in the table: COMMAND COUNT/LIST tell the truth about us.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.command_spec import INFO_SUBCOMMANDS, CommandSpec, load_spec
from server.resp import Map, RSet, Status

if TYPE_CHECKING:
    from server.connection import Client

Handler = Callable[["Client", list[bytes]], Any]

_HANDLERS: dict[str, Handler] = {}
# Hand-written specs for commands Redis 7.0.15 lacks (CLIENT SETINFO, our CRDT.* commands).
EXTRA_SPECS: dict[str, CommandSpec] = {}


def _client_setinfo_spec() -> CommandSpec:
    """CLIENT SETINFO (Redis 7.2): hand-written from Redis 7.2's COMMAND INFO / COMMAND DOCS
    (``src/commands/client-setinfo.json``): arity -4, flags noscript loading stale, ACL
    categories @slow @connection, tips request_policy:all_nodes response_policy:all_succeeded,
    no keys.  Redis 7.0.15 (our reference for everything else) does not have it."""
    info = [
        "client|setinfo", -4, RSet([Status("noscript"), Status("loading"), Status("stale")]),
        0, 0, 0, RSet([Status("@slow"), Status("@connection")]),
        RSet(["request_policy:all_nodes", "response_policy:all_succeeded"]), RSet([]), RSet([]),
    ]
    docs = Map([
        ("summary", "Sets information specific to the client or connection."),
        ("since", "7.2.0"),
        ("group", "connection"),
        ("complexity", "O(1)"),
        ("arguments", [Map([
            ("name", "attr"),
            ("type", "oneof"),
            ("arguments", [
                Map([("name", "libname"), ("type", "string"), ("token", "LIB-NAME")]),
                Map([("name", "libver"), ("type", "string"), ("token", "LIB-VER")]),
            ]),
        ])]),
    ])
    return CommandSpec(
        name="client|setinfo", arity=-4, flags=["noscript", "loading", "stale"],
        first_key=0, last_key=0, step=0, acl_categories=["@slow", "@connection"],
        tips=["request_policy:all_nodes", "response_policy:all_succeeded"], subcommands={},
        info=info, docs=docs, container="client",
    )


EXTRA_SPECS["client|setinfo"] = _client_setinfo_spec()


def _client_no_touch_spec() -> CommandSpec:
    """CLIENT NO-TOUCH (Redis 7.2, ``src/commands/client-no-touch.json``): arity 3, flags
    noscript loading stale, @slow @connection, no keys. Redis 7.0.15 does not have it."""
    flags = ["noscript", "loading", "stale"]
    info = [
        "client|no-touch", 3, RSet([Status(f) for f in flags]), 0, 0, 0,
        RSet([Status("@slow"), Status("@connection")]), RSet([]), RSet([]), RSet([]),
    ]
    docs = Map([
        ("summary", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys."),
        ("since", "7.2.0"),
        ("group", "connection"),
        ("complexity", "O(1)"),
        ("arguments", [Map([
            ("name", "enabled"),
            ("type", "oneof"),
            ("arguments", [
                Map([("name", "on"), ("type", "pure-token"), ("token", "ON")]),
                Map([("name", "off"), ("type", "pure-token"), ("token", "OFF")]),
            ]),
        ])]),
    ])
    return CommandSpec(
        name="client|no-touch", arity=3, flags=flags, first_key=0, last_key=0, step=0,
        acl_categories=["@slow", "@connection"], tips=[], subcommands={}, info=info, docs=docs,
        container="client",
    )


EXTRA_SPECS["client|no-touch"] = _client_no_touch_spec()


def _add_subcommand(container: CommandSpec, sub: CommandSpec) -> None:
    """Add a hand-written subcommand to a (copied) container spec: dict, INFO, DOCS."""
    container.subcommands[sub.name] = sub
    old = container.info[INFO_SUBCOMMANDS]
    members = list(old.members) if isinstance(old, RSet) else list(old)
    container.info[INFO_SUBCOMMANDS] = members + [sub.info]
    items = container.docs.items
    for i, (k, v) in enumerate(items):
        if k == "subcommands" and isinstance(v, Map):
            items[i] = (k, Map(v.items + [(sub.name, sub.docs)]))
            break
    else:
        items.append(("subcommands", Map([(sub.name, sub.docs)])))


def command(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            if name in _HANDLERS:
                raise ValueError(f"command {name!r} registered twice")
            _HANDLERS[name] = fn
        return fn

    return register


class Command:
    """One entry of the dispatch table (a top-level command or a subcommand)."""

    __slots__ = (
        "name", "spec", "handler", "arity", "subcommands", "write", "noauth",
        "no_multi_queue", "no_multi", "readonly", "first_key", "last_key", "step", "protected",
        "plain", "disk_checked",
    )

    def __init__(self, spec: CommandSpec, handler: Handler | None) -> None:
        self.name = spec.name
        self.spec = spec
        self.handler = handler
        self.arity = spec.arity
        self.subcommands: dict[bytes, Command] = {}
        flags = set(spec.flags)
        self.write = "write" in flags
        self.readonly = "readonly" in flags
        self.noauth = "no_auth" in flags
        self.no_multi_queue = spec.name in _NOT_QUEUED
        self.no_multi = "no_multi" in flags  # refused inside MULTI (SHUTDOWN)
        # Redis's CMD_PROTECTED: DEBUG (enable-debug-command) and MODULE LOAD, LOADEX and
        # UNLOAD (enable-module-command), checked at dispatch
        self.protected = spec.name in ("debug", "module|load", "module|loadex", "module|unload")
        self.first_key = spec.first_key
        self.last_key = spec.last_key
        self.step = spec.step
        # Dispatch's fast path may take it: a handler, no subcommands, no protection check
        # (``build_table`` clears it for a container once its subcommands are added).
        self.plain = handler is not None and not self.protected
        # What a failing disk refuses (MISCONF, server/diskguard.py): writes, and PING (as
        # Redis), and EXEC when it queued a write.
        self.disk_checked = self.write or spec.name in ("ping", "exec")

    def keys(self, argv: list[bytes]) -> list[bytes]:
        """The key arguments (Redis's legacy first/last/step positions)."""
        if self.first_key <= 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return argv[self.first_key : last + 1 : self.step or 1]


# Commands executed immediately inside MULTI instead of being queued (Redis's processCommand).
_NOT_QUEUED = {"exec", "discard", "multi", "watch", "quit", "reset"}


def _import_handler_modules() -> None:
    """Import every module of this package: importing one registers its ``@command``s, so a
    new command module needs no import anywhere else (and nothing here names the modules)."""
    package = __name__.rpartition(".")[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        importlib.import_module(f"{package}.{module.name}")


def build_table() -> dict[bytes, Command]:
    """Import every handler module, then build ``name -> Command`` for what has a handler."""
    _import_handler_modules()
    spec = dict(load_spec())
    table: dict[bytes, Command] = {}
    top_names = dict.fromkeys(n.split("|", 1)[0] for n in _HANDLERS)
    for name in top_names:
        handler = _HANDLERS.get(name)  # None for a container: its subcommands have handlers
        cmd_spec = EXTRA_SPECS.get(name) or spec.get(name)
        if cmd_spec is None:
            raise KeyError(f"no spec for command {name!r}")
        subs = [n for n in _HANDLERS if n.startswith(name + "|")]
        if subs:
            cmd_spec = cmd_spec.with_subcommands(subs)
        cmd = Command(cmd_spec, handler)
        for sub in subs:
            sub_spec = cmd_spec.subcommands.get(sub)
            if sub_spec is None and sub in EXTRA_SPECS:
                sub_spec = EXTRA_SPECS[sub]
                _add_subcommand(cmd_spec, sub_spec)
            if sub_spec is None:
                raise KeyError(f"no spec for subcommand {sub!r}")
            cmd.subcommands[sub.split("|", 1)[1].encode()] = Command(sub_spec, _HANDLERS[sub])
        if cmd.subcommands:
            cmd.plain = False
        table[name.encode()] = cmd
    return table
