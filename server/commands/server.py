"""Server commands: DBSIZE, FLUSHDB, FLUSHALL, TIME, COMMAND, CONFIG, INFO, SHUTDOWN,
OBJECT HELP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crdt.effects import Flush
from server import command_spec as cs
from server import errors, helptext, info, keyspecs
from server.command_spec import CommandSpec
from server.commands.registry import command
from server.config import config_get, config_set
from server.connection import protected_allowed
from server.glob import matches
from server.lazyfree import flush_is_async
from server.resp import NO_REPLY, OK, Error, Map, RSet, Status, Verbatim

if TYPE_CHECKING:
    from server.connection import Client


def _flush_mode(argv: list[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise Error(errors.SYNTAX)


@command("flushdb")
def cmd_flushdb(c: Client, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    if flush_is_async(argv, c.server.config):  # INFO lazyfreed_objects (server/lazyfree.py)
        c.server.stats.lazyfreed_objects += len(c.ks.dbs[c.db].entries)
    c.ks.emit(Flush(c.db))
    return OK


@command("flushall")
def cmd_flushall(c: Client, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    if flush_is_async(argv, c.server.config):
        c.server.stats.lazyfreed_objects += sum(len(db.entries) for db in c.ks.dbs)
    c.ks.emit(Flush(-1))
    return OK


@command("dbsize")
def cmd_dbsize(c: Client, argv: list[bytes]) -> Any:
    # Keys past their time do not count (SEMANTICS "Expiry"): Redis's active cycle reclaims
    # them within its tick. With the cycle off (DEBUG SET-ACTIVE-EXPIRE 0) Redis counts them
    # until a lookup reclaims them, as INFO keyspace always does, and so do we.
    db = c.ks.dbs[c.db]
    return db.visible_count(c.ks.now_ms) if c.server.active_expire else len(db.entries)


@command("time")
def cmd_time(c: Client, argv: list[bytes]) -> Any:
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


# -------------------------------------------------------------------------------- COMMAND
#
# Everything comes from the dispatch table (``c.server.table``): the specs of the commands
# and subcommands we have handlers for, so COMMAND describes exactly what we implement.


def _specs(c: Client) -> dict[str, CommandSpec]:
    return {name.decode(): cmd.spec for name, cmd in c.server.table.items()}


@command("command")
def cmd_command(c: Client, argv: list[bytes]) -> Any:
    return [cmd.spec.info for cmd in c.server.table.values()]


@command("command|count")
def cmd_command_count(c: Client, argv: list[bytes]) -> Any:
    return len(c.server.table)


@command("command|info")
def cmd_command_info(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return cmd_command(c, argv)
    return cs.command_info_reply(_specs(c), argv[2:])


@command("command|docs")
def cmd_command_docs(c: Client, argv: list[bytes]) -> Any:
    specs = _specs(c)
    if len(argv) == 2:
        return Map([(spec.name, spec.docs) for spec in specs.values()])
    return cs.command_docs_reply(specs, argv[2:])


def _list_filter(kind: bytes, value: bytes) -> Callable[[CommandSpec], bool]:
    kind = kind.lower()
    if kind == b"pattern":
        return lambda spec: matches(value, spec.name.encode(), True)
    if kind == b"aclcat":
        cat = "@" + value.decode("utf-8", "replace").lower()
        return lambda spec: cat in spec.acl_categories
    if kind == b"module":
        return lambda spec: False  # no modules here
    raise Error(errors.SYNTAX)


@command("command|list")
def cmd_command_list(c: Client, argv: list[bytes]) -> Any:
    names = cs.all_names(_specs(c))
    if len(argv) == 2:
        return names
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise Error(errors.SYNTAX)
    keep = _list_filter(argv[3], argv[4])
    specs = _specs(c)
    out: list[str] = []
    for spec in specs.values():
        for s in (spec, *spec.subcommands.values()):
            if keep(s):
                out.append(s.name)
    return out


_key_specs = keyspecs.key_specs
_is_key_spec = keyspecs.is_key_spec
keys_from_specs = keyspecs.keys_from_specs


def keys_and_flags_from_specs(spec: CommandSpec, argv: list[bytes]) -> list[tuple[bytes, list[str]]] | None:
    """Each key with the flags of the key spec that found it (COMMAND GETKEYSANDFLAGS)."""
    positions = keyspecs.key_positions(spec, argv)
    return None if positions is None else [(argv[i], flags) for i, flags in positions]


@command("command|getkeys")
def cmd_command_getkeys(c: Client, argv: list[bytes]) -> Any:
    return [key for key, _ in _getkeys(c, argv)]


@command("command|getkeysandflags")
def cmd_command_getkeysandflags(c: Client, argv: list[bytes]) -> Any:
    found = _getkeys(c, argv)
    if any("variable_flags" in flags for _, flags in found):
        found = _variable_flags(argv[2].lower(), argv[2:], found)
    return [[key, RSet([Status(f) for f in flags])] for key, flags in found]


def _variable_flags(name: bytes, args: list[bytes], found: list[tuple[bytes, list[str]]]
                    ) -> list[tuple[bytes, list[str]]]:
    """Redis's getkeys_proc flags for the key specs marked variable_flags (setGetKeys,
    bitfieldGetKeys)."""
    key = found[0][0]
    if name == b"set":
        get = any(a.lower() == b"get" for a in args[3:])
        return [(key, ["RW", "access", "update"] if get else ["OW", "update"])]
    if name == b"bitfield":
        readonly, i = True, 2
        while i < len(args):
            arg, rest = args[i].lower(), len(args) - i - 1
            if arg == b"get" and rest >= 2:
                i += 3
            elif arg == b"overflow" and rest >= 1:
                i += 2
            else:
                readonly = False
                break
        return [(key, ["RO", "access"] if readonly else ["RW", "access", "update"])]
    return found


def _sort_getkeys(args: list[bytes]) -> list[tuple[bytes, list[str]]]:
    """Redis's sortGetKeys: the sorted key, then the last STORE's destination (LIMIT, GET
    and BY arguments skipped)."""
    keys = [(args[1], ["RO", "access"])]
    store: bytes | None = None
    i = 2
    while i < len(args):
        word = args[i].lower()
        if word == b"limit":
            i += 2
        elif word in (b"get", b"by"):
            i += 1
        elif word == b"store" and i + 1 < len(args):
            store = args[i + 1]
        i += 1
    return keys + ([(store, ["OW", "update"])] if store is not None else [])


# Redis's getkeys_proc, for the commands whose key specs include an unsearchable one
_GETKEYS_PROCS: dict[str, Callable[[list[bytes]], list[tuple[bytes, list[str]]]]] = {
    "sort": _sort_getkeys,
    "sort_ro": lambda args: [(args[1], ["RO", "access"])],
}


def _getkeys(c: Client, argv: list[bytes]) -> list[tuple[bytes, list[str]]]:
    args = argv[2:]
    cmd = c.server.table.get(args[0].lower())
    if cmd is not None and cmd.subcommands and len(args) > 1:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None:
        raise Error(errors.GETKEYS_INVALID_COMMAND)
    if not any(_is_key_spec(ks) for ks in _key_specs(cmd.spec)):
        raise Error(errors.GETKEYS_NO_KEYS)
    if not cmd.spec.arity_ok(len(args)):
        raise Error(errors.GETKEYS_ARITY)
    if cmd.name == "migrate":  # its key specs are incomplete: Redis uses migrateGetKeys
        keys = [(args[i], ["RW", "access", "delete"]) for i in keyspecs.migrate_key_positions(args)] or None
    else:
        keys = keys_and_flags_from_specs(cmd.spec, args)
    if keys is None and cmd.name in _GETKEYS_PROCS:  # a spec that cannot be searched
        keys = _GETKEYS_PROCS[cmd.name](args)
    if not keys:
        if keys is not None or "no_mandatory_keys" in cmd.spec.flags:
            return []
        raise Error(errors.GETKEYS_INVALID_ARGS)
    return keys


@command("command|help")
def cmd_command_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in helptext.COMMAND_HELP]


# --------------------------------------------------------------------------------- CONFIG


@command("config|get")
def cmd_config_get(c: Client, argv: list[bytes]) -> Any:
    return Map(config_get(c.server.config, argv[2:]))


@command("config|set")
def cmd_config_set(c: Client, argv: list[bytes]) -> Any:
    cfg = c.server.config
    ok = protected_allowed(c, cfg.get("enable-protected-configs"))
    config_set(cfg, argv[2:], apply=c.server.apply_config, protected_ok=ok)
    return OK


@command("config|resetstat")
def cmd_config_resetstat(c: Client, argv: list[bytes]) -> Any:
    c.server.stats.reset()
    c.server.monitor.reset_stats()
    c.server.persistence.forks = c.server.persistence.latest_fork_usec = 0
    c.server.reset_metrics()
    memory = c.server.memory  # (Redis's resetServerStats: the eviction-exceeded times too)
    memory.exceeded_total, memory.exceeded_since = 0.0, None
    return OK


@command("config|help")
def cmd_config_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in helptext.CONFIG_HELP]


# ----------------------------------------------------------------------------------- INFO


@command("info")
def cmd_info(c: Client, argv: list[bytes]) -> Any:
    c.server.tick()
    return Verbatim(info.render(c.server, argv[1:]))


# ------------------------------------------------------------------------------- SHUTDOWN


@command("shutdown")
def cmd_shutdown(c: Client, argv: list[bytes]) -> Any:
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (Redis 7.0's option checks).

    SAVE, or no NOSAVE with ``save`` points configured, writes a snapshot first (the op log
    already has every write: it only makes the next start faster); if it fails, the server
    stays up with Redis's error unless FORCE. We never wait for replicas, so NOW changes
    nothing and no shutdown is ever "in progress" for ABORT.
    On success nothing is replied: the server stops and the connection closes. Inside MULTI
    it is refused at dispatch (its ``no_multi`` flag), as in Redis.
    """
    opts: set[bytes] = set()
    abort = False
    for arg in argv[1:]:
        opt = arg.lower()
        if opt in (b"nosave", b"save", b"now", b"force"):
            opts.add(opt)
        elif opt == b"abort":
            abort = True
        else:
            raise Error(errors.SYNTAX)
    if (abort and opts) or {b"nosave", b"save"} <= opts:
        raise Error(errors.SYNTAX)
    if abort:
        raise Error(errors.NO_SHUTDOWN)
    c.server.log.warning("User requested shutdown...")
    persistence = c.server.persistence
    if persistence.enabled and (b"save" in opts or (b"nosave" not in opts and c.server.config.save)):
        if not persistence.save() and b"force" not in opts:
            raise Error("ERR Errors trying to SHUTDOWN. Check logs.")
    c.server.request_shutdown("SHUTDOWN")
    c.close_after_reply()
    return NO_REPLY  # SHUTDOWN is refused inside MULTI (no_multi), so never inside EXEC


# --------------------------------------------------------------------------------- OBJECT


@command("object|help")
def cmd_object_help(c: Client, argv: list[bytes]) -> Any:
    return [Status(line) for line in helptext.OBJECT_HELP]
