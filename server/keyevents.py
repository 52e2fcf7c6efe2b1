"""Keyspace notifications (Redis 7.0's notify.c and the notifyKeyspaceEvent calls of t_*.c,
db.c, expire.c): which events a write command fires, and firing them.

Where the events come from. A command's events are derived once, at its origin, right after
its handler ran, from the command (name and arguments) and the effects it emitted (which keys
it wrote, whether a write set a TTL, whether a key is gone afterwards); the active expire cycle
and lazy expiry add ``expired``. They go into the open batch (``Keyspace.events``) and travel in
it (``Batch.events``), so a region applying the batch fires exactly the events the origin did,
with the origin's event names: an effect alone cannot tell SET from APPEND or SETRANGE (all
assign the whole value), nor SINTERSTORE from SUNIONSTORE. Deriving them once at the origin
also keeps every handler free of notification calls. Each region filters them with its own
``notify-keyspace-events`` and publishes them to its own subscribers only (never forwarded as
PUBLISH messages: every region makes its own from the batches it applies).

``new`` (``n``) is fired for a key the command named that was absent before it (``begin``
notes which) and exists after; ``keymiss`` (``m``) is fired by reads, locally
(``commands.common.lookup``); ``evicted`` cannot happen (no maxmemory yet). For a command that
writes several keys the events are grouped per key, in the order the command names them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from crdt.effects import Delete, Effect, Expire, Flush
from crdt.types.strings import Assign
from server.keyspecs import keys_from_specs, migrate_key_positions
from server.pubsub_config import CLASS_FLAGS, NOTIFY_KEYEVENT, NOTIFY_KEYSPACE

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.connection import Client

Event = tuple[str, str, int, bytes]  # (class character, event name, db, key)
# rule(argv, db of the client, (db, key), effects on that key) -> [(class, event), ...]
Rule = Callable[[list[bytes], int, tuple[int, bytes], list[Effect]], list[tuple[str, str]]]


_SIMPLE_OF: dict[Rule, tuple[str, str]] = {}  # a rule made by ``_simple`` -> its one event


def _simple(cls: str, name: str) -> Rule:
    def rule(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
        return [(cls, name)]

    _SIMPLE_OF[rule] = (cls, name)
    return rule


def _string_set(name: str) -> Rule:
    """SET and friends: ``set`` (or the command's own name), then ``expire`` when the write
    gave the key a TTL (SET EX/PX/EXAT/PXAT, SETEX, PSETEX)."""

    def rule(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
        for e in effects:
            if type(e) is Assign and e.expire_at > 0:
                return [("$", name), ("g", "expire")]
        return [("$", name)]

    return rule


def _expire(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
    """EXPIRE family, PERSIST, GETEX: ``expire``, ``persist``, or ``del`` for a time past."""
    last = effects[-1]
    if type(last) is Delete:
        return [("g", "del")]
    if type(last) is Expire:
        return [("g", "persist" if last.at_ms == 0 else "expire")]
    return []


def _by_key(first: tuple[str, str], other: tuple[str, str], pos: int = 1) -> Rule:
    """Two-key commands: ``first`` for the key at ``argv[pos]`` (in the client's db), ``other``
    for the rest (RENAME, SMOVE, MOVE)."""

    def rule(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
        return [first if key == (db, argv[pos]) else other]

    return rule


def _move_list(src: Callable[[list[bytes]], str], dst: Callable[[list[bytes]], str]) -> Rule:
    """LMOVE and friends: the push on the destination, then the pop on the source (Redis's
    lmoveGenericCommand order; both on one key when they are the same list)."""

    def rule(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
        out = []
        if key == (db, argv[2]):
            out.append(("l", dst(argv)))
        if key == (db, argv[1]):
            out.append(("l", src(argv)))
        return out

    return rule


def _side(i: int, left: str, right: str) -> Callable[[list[bytes]], str]:
    return lambda argv: left if argv[i].lower() == b"left" else right


def _mpop(offset: int, cls: str, first: bytes, names: tuple[str, str]) -> Rule:
    """LMPOP/BLMPOP/ZMPOP/BZMPOP: the direction follows the keys."""

    def rule(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
        numkeys = int(argv[offset])
        where = argv[offset + 1 + numkeys].lower()
        return [(cls, names[0] if where == first else names[1])]

    return rule


def _zadd(argv: list[bytes], db: int, key: tuple[int, bytes], effects: list[Effect]) -> list[tuple[str, str]]:
    for arg in argv[2:]:
        opt = arg.lower()
        if opt == b"incr":
            return [("z", "zincr")]
        if opt not in (b"nx", b"xx", b"gt", b"lt", b"ch"):
            break
    return [("z", "zadd")]


_SET_RULE = _string_set("set")
_MULTI_SET = frozenset({"mset", "msetnx"})
RULES: dict[str, Rule] = {
    # strings (t_string.c)
    **{name: _SET_RULE for name in ("set", "setnx", "setex", "psetex", "getset", "mset", "msetnx")},
    "append": _simple("$", "append"), "setrange": _simple("$", "setrange"),
    "incr": _simple("$", "incrby"), "decr": _simple("$", "incrby"), "incrby": _simple("$", "incrby"),
    "decrby": _simple("$", "incrby"), "incrbyfloat": _simple("$", "incrbyfloat"),
    "setbit": _simple("$", "setbit"), "getdel": _simple("g", "del"), "getex": _expire,
    # keys (db.c, expire.c)
    "del": _simple("g", "del"), "unlink": _simple("g", "del"), "migrate": _simple("g", "del"),
    **{name: _expire for name in ("expire", "pexpire", "expireat", "pexpireat", "persist")},
    "rename": _by_key(("g", "rename_from"), ("g", "rename_to")),
    "renamenx": _by_key(("g", "rename_from"), ("g", "rename_to")),
    "copy": _simple("g", "copy_to"), "move": _by_key(("g", "move_from"), ("g", "move_to")),
    "sort": _simple("l", "sortstore"),
    # lists (t_list.c)
    "lpush": _simple("l", "lpush"), "lpushx": _simple("l", "lpush"), "rpush": _simple("l", "rpush"),
    "rpushx": _simple("l", "rpush"), "linsert": _simple("l", "linsert"), "lset": _simple("l", "lset"),
    "lpop": _simple("l", "lpop"), "rpop": _simple("l", "rpop"), "blpop": _simple("l", "lpop"),
    "brpop": _simple("l", "rpop"), "ltrim": _simple("l", "ltrim"), "lrem": _simple("l", "lrem"),
    "lmove": _move_list(_side(3, "lpop", "rpop"), _side(4, "lpush", "rpush")),
    "blmove": _move_list(_side(3, "lpop", "rpop"), _side(4, "lpush", "rpush")),
    "rpoplpush": _move_list(lambda a: "rpop", lambda a: "lpush"),
    "brpoplpush": _move_list(lambda a: "rpop", lambda a: "lpush"),
    "lmpop": _mpop(1, "l", b"left", ("lpop", "rpop")), "blmpop": _mpop(2, "l", b"left", ("lpop", "rpop")),
    # sets (t_set.c)
    "sadd": _simple("s", "sadd"), "srem": _simple("s", "srem"), "spop": _simple("s", "spop"),
    "smove": _by_key(("s", "srem"), ("s", "sadd")),
    "sinterstore": _simple("s", "sinterstore"), "sunionstore": _simple("s", "sunionstore"),
    "sdiffstore": _simple("s", "sdiffstore"),
    # hashes (t_hash.c)
    "hset": _simple("h", "hset"), "hmset": _simple("h", "hset"), "hsetnx": _simple("h", "hset"),
    "hincrby": _simple("h", "hincrby"), "hincrbyfloat": _simple("h", "hincrbyfloat"),
    "hdel": _simple("h", "hdel"),
    # sorted sets (t_zset.c, geo.c)
    "zadd": _zadd, "zincrby": _simple("z", "zincr"), "zrem": _simple("z", "zrem"),
    "zremrangebyscore": _simple("z", "zremrangebyscore"), "zremrangebyrank": _simple("z", "zremrangebyrank"),
    "zremrangebylex": _simple("z", "zremrangebylex"),
    "zpopmin": _simple("z", "zpopmin"), "zpopmax": _simple("z", "zpopmax"),
    "bzpopmin": _simple("z", "zpopmin"), "bzpopmax": _simple("z", "zpopmax"),
    "zmpop": _mpop(1, "z", b"min", ("zpopmin", "zpopmax")), "bzmpop": _mpop(2, "z", b"min", ("zpopmin", "zpopmax")),
    "zunionstore": _simple("z", "zunionstore"), "zinterstore": _simple("z", "zinterstore"),
    "zdiffstore": _simple("z", "zdiffstore"), "zrangestore": _simple("z", "zrangestore"),
    "geoadd": _simple("z", "zadd"), "geosearchstore": _simple("z", "geosearchstore"),
    "georadius": _simple("z", "georadiusstore"), "georadiusbymember": _simple("z", "georadiusstore"),
    # HyperLogLog and bits (hyperloglog.c, bitops.c)
    "pfadd": _simple("$", "pfadd"), "pfmerge": _simple("$", "pfadd"),
    "bitop": _simple("$", "set"), "bitfield": _simple("$", "setbit"),
    # streams (t_stream.c)
    "xadd": _simple("t", "xadd"), "xdel": _simple("t", "xdel"), "xtrim": _simple("t", "xtrim"),
    "xsetid": _simple("t", "xsetid"), "xgroup|create": _simple("t", "xgroup-create"),
    "xgroup|destroy": _simple("t", "xgroup-destroy"), "xgroup|setid": _simple("t", "xgroup-setid"),
    "xgroup|createconsumer": _simple("t", "xgroup-createconsumer"),
    "xgroup|delconsumer": _simple("t", "xgroup-delconsumer"),
}
# Commands that replace a destination: an empty result deletes it, and Redis then fires only
# ``del`` (not the command's own event).
STORE_COMMANDS = frozenset((
    "bitop", "sort", "sinterstore", "sunionstore", "sdiffstore", "zunionstore", "zinterstore", "zdiffstore",
    "zrangestore", "geosearchstore", "georadius", "georadiusbymember", "copy",
))
_DELETES = frozenset(("del", "getdel", "unlink"))
# Commands that notify the destination first.
_DESTINATION_FIRST = frozenset(("lmove", "blmove", "rpoplpush", "brpoplpush"))
# Commands whose source key is gone by design: no ``del`` for it.
_MOVES = frozenset(("rename", "renamenx", "move"))


def command_keys(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """The keys ``argv`` names: the legacy positions, or the key specs when they move."""
    if cmd.first_key > 0 and "movablekeys" not in cmd.spec.flags:
        return cmd.keys(argv)
    if cmd.name == "migrate":
        return [argv[i] for i in migrate_key_positions(argv)]
    if cmd.name == "sort":  # its STORE key has no key spec to find it (sortGetKeys)
        return argv[1:2] + _sort_store(argv)
    return keys_from_specs(cmd.spec, argv) or []


def _sort_store(argv: list[bytes]) -> list[bytes]:
    """SORT's destination, found as Redis's sortGetKeys does (the last STORE wins)."""
    store: list[bytes] = []
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        skip = {b"limit": 2, b"get": 1, b"by": 1, b"store": 1}.get(opt, 0)
        if opt == b"store" and i + 1 < len(argv):
            store = [argv[i + 1]]
        i += 1 + skip
    return store


# Commands whose destination is always added anew (Redis's dbAdd after deleting it).
_ADDS_DESTINATION = frozenset(("rename", "renamenx", "copy"))
# Commands whose one event does not depend on the arguments or effects and none of the
# special cases of ``_key_events`` applies to them (SADD, HSET, LPUSH, INCR...): ``derive``
# fires their events for one written key without the general steps.
SIMPLE: dict[str, tuple[str, str]] = {
    name: _SIMPLE_OF[rule] for name, rule in RULES.items()
    if rule in _SIMPLE_OF and _SIMPLE_OF[rule] != ("g", "del") and name not in STORE_COMMANDS
    and name not in _DELETES and name not in _MOVES and name not in _ADDS_DESTINATION
}


# (where the command's effects start in the open batch, the keys it names in the client's
# database that were absent before it ran)
Mark = tuple[int, tuple[bytes, ...]]
_FINDERS: dict[str, Callable[[list[bytes]], list[bytes]]] = {}


def _finder(cmd: Command) -> Callable[[list[bytes]], list[bytes]]:
    """How to find a command's keys, chosen once per command (this runs for every write)."""
    if cmd.name not in RULES:
        finder = _no_keys
    elif cmd.first_key == cmd.last_key == 1 and "movablekeys" not in cmd.spec.flags:
        finder = _first_key
    else:
        finder = lambda argv: command_keys(cmd, argv)  # noqa: E731
    _FINDERS[cmd.name] = finder
    return finder


def _first_key(argv: list[bytes]) -> list[bytes]:
    return argv[1:2]


def _no_keys(argv: list[bytes]) -> list[bytes]:
    return []


SKIP: Mark = (-1, ())  # nobody can hear this command's events: derive nothing


def begin(c: Client, cmd: Command, argv: list[bytes]) -> Mark:
    """Before a command's handler (see ``derive``). Events are derived only when someone may
    hear them: this region has notifications on, or other regions exist (their settings are
    theirs: the batch carries the events to them whatever ours are)."""
    ks = c.ks
    if not ks.has_peers and not c.server.config.notify_keyspace_events:
        return SKIP
    effects = ks.open_effects
    start = len(effects) if effects is not None else 0
    finder = _FINDERS.get(cmd.name) or _finder(cmd)
    if finder is _no_keys:
        return start, ()
    db = ks.dbs[c.db]
    now = ks.now_ms
    if finder is _first_key:  # (``db.get(argv[1], now) is None``, inlined)
        key = argv[1]
        return start, (() if db.exists(key, now) else (key,))
    return start, tuple(k for k in finder(argv) if not db.exists(k, now))


def derive(c: Client, name: str, argv: list[bytes], mark: Mark) -> None:
    """After a command's handler: add its events to the open batch (``ks.events``) from the
    effects it emitted since ``mark``."""
    start, absent = mark
    if start < 0:
        return
    rule = RULES.get(name)
    if rule is None:
        return
    ks = c.ks
    pending = ks.open_effects
    if pending is None:
        return
    n = len(pending) - start
    if n <= 0:
        return
    if ks.quieted:  # effects that changed nothing visible notify nothing (Redis)
        pending = pending[:start] + [e for e in pending[start:] if not any(e is q for q in ks.quieted)]
        n = len(pending) - start
        if n <= 0:
            return
    events = ks.events
    if name in _MULTI_SET:
        # MSET/MSETNX: Redis's ``set`` for every pair, a key named twice signalled twice
        # (``new`` once, at its first pair), though only its last value was written.
        db = c.db
        seen: set[bytes] = set()
        for i in range(1, len(argv) - 1, 2):
            key = argv[i]
            if key not in seen:
                seen.add(key)
                if key in absent:
                    events.append(("n", "new", db, key))
            events.append(("$", "set", db, key))
        return
    last = pending[-1]
    if not events and type(last) is not Flush and (n == 1 or (
            n == 2 and type(first := pending[start]) is Delete and first.key == last.key
            and first.db == last.db)):
        # One key written (after removing what was there): most commands.
        simple = SIMPLE.get(name)
        if simple is not None:  # ``_key_events`` for them, without its special cases
            dbi, key = last.db, last.key
            if key in ks.dbs[dbi].entries:
                if key in absent and dbi == c.db:
                    events.append(("n", "new", dbi, key))  # added before its own event
                events.append((simple[0], simple[1], dbi, key))
            else:  # emptied (Redis deletes an empty aggregate)
                events.append((simple[0], simple[1], dbi, key))
                events.append(("g", "del", dbi, key))
            return
        if rule is _SET_RULE and type(last) is Assign and last.key in ks.dbs[last.db].entries:
            # SET (``_string_set("set")``) of a key that is there after it, without the steps
            dbi, key = last.db, last.key
            if key in absent and dbi == c.db:
                events.append(("n", "new", dbi, key))
            events.append(("$", "set", dbi, key))
            if last.expire_at > 0:
                events.append(("g", "expire", dbi, key))
            return
        _key_events(c, name, rule, argv, (last.db, last.key), [last], absent, 0)
        return
    effects: Sequence[Effect] = pending[start:]
    expired = {(db, key) for _, event, db, key in events if event == "expired"}
    touched: dict[tuple[int, bytes], list[Effect]] = {}
    for e in effects:
        k = (e.db, e.key)
        if type(e) is Flush:
            continue
        if type(e) is Delete and k in expired and k not in touched:
            expired.discard(k)  # lazy expiry's removal: its own ``expired`` event
            touched[k] = []
            continue
        touched.setdefault(k, []).append(e)
    first_new = len(events)  # RENAME/COPY add the destination before any notification
    # Keys in the order the command names them (Redis notifies the source before the
    # destination), the client's database first, then in the order they were written.
    position = {arg: i for i, arg in reversed(list(enumerate(argv)))}
    db = c.db
    keys = sorted(touched, key=lambda k: (position.get(k[1], len(argv)), k[0] != db))
    if name in _DESTINATION_FIRST:
        keys.reverse()
    for k in keys:
        effs = touched[k]
        if not effs:
            continue
        if len(effs) > 1 and type(effs[0]) is Delete:
            effs = effs[1:]  # removing what was there before a new value (SET over another type)
        _key_events(c, name, rule, argv, k, effs, absent, first_new)


def _key_events(c: Client, name: str, rule: Rule, argv: list[bytes], k: tuple[int, bytes],
                effs: list[Effect], absent: tuple[bytes, ...], first_new: int) -> None:
    """The events of one key the command wrote (``effs``: its effects on it)."""
    events = c.ks.events
    gone = k[1] not in c.ks.dbs[k[0]].entries
    if name in _ADDS_DESTINATION:
        if not gone and k[1] == argv[2]:
            events.insert(first_new, ("n", "new", k[0], k[1]))
    elif not gone and k[1] in absent and k[0] == c.db:
        events.append(("n", "new", k[0], k[1]))  # added before its own event
    if gone and name in STORE_COMMANDS:
        names = [("g", "del")]
    else:
        names = rule(argv, c.db, k, effs)
        if gone and name not in _DELETES and name not in _MOVES and ("g", "del") not in names:
            names.append(("g", "del"))  # emptied (Redis deletes an empty aggregate)
    for cls, event in names:
        events.append((cls, event, k[0], k[1]))


# Events of a region's local state (a stream group's consumers: SEMANTICS "consumer groups"):
# other regions' subscribers do not hear them, since nothing changed there.
LOCAL_EVENTS = frozenset({"xgroup-createconsumer", "xgroup-delconsumer"})


def note_expired(server: Server, db: int, key: bytes) -> None:
    """A key's content is removed because its time passed (before the Delete is emitted)."""
    server.ks.events.append(("x", "expired", db, key))


def note_evicted(server: Server, db: int, key: bytes) -> None:
    """A key is removed by maxmemory's eviction (before the Delete is emitted)."""
    server.ks.events.append(("e", "evicted", db, key))


class Notifier:
    """Publishes events to this region's subscribers, filtered by ``notify-keyspace-events``
    (``__keyspace@<db>__:<key>`` carries the event, ``__keyevent@<db>__:<event>`` the key)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def fire_replicated(self, events: Sequence[Event]) -> None:
        """A peer's batch, about to be applied. Every region's expire cycle removes an expired
        key and says ``expired``: a region that already removed the key itself has fired its
        own, so a peer's ``expired`` for a key with no content here is not fired again."""
        if not self.server.config.notify_keyspace_events & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT):
            return
        dbs = self.server.ks.dbs
        self.fire([e for e in events if e[2] < len(dbs) and e[1] not in LOCAL_EVENTS
                   and (e[1] != "expired" or e[3] in dbs[e[2]].entries)])

    def fire(self, events: Sequence[Event]) -> None:
        flags = self.server.config.notify_keyspace_events
        if not flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT):
            return
        publish = self.server.pubsub.publish
        for cls, event, db, key in events:
            if not flags & CLASS_FLAGS.get(cls, 0):
                continue
            name = event.encode()
            if flags & NOTIFY_KEYSPACE:
                publish(b"__keyspace@%d__:%s" % (db, key), name)
            if flags & NOTIFY_KEYEVENT:
                publish(b"__keyevent@%d__:%s" % (db, name), key)
