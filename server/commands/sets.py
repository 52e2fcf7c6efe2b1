"""Set commands (Redis's t_set.c), on the observed-remove set (SEMANTICS.md, "Sets").

SADD emits ``SetAdd`` with every member given, already present or not: re-adding a member
replaces the add tags it observed with its own, which is what makes ``SREM x ‖ SADD x`` keep
``x`` (add-wins). Removes (SREM, SPOP, SMOVE's source) emit ``SetRemove``, or ``Delete`` when
they remove every visible member, since Redis then deletes the key (its TTL included).
The *STORE commands write the destination as ``Delete`` + ``SetAdd`` in one batch (G6).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Expire
from crdt.numbers import INT64_MAX, parse_int
from crdt.types.orset import SET, ORSet, SetAdd, SetRemove
from server import errors
from server.commands.common import TYPE_COMMANDS, TypeCommands, int_arg, prepare_write, read
from server.commands.registry import command
from server.commands.scan import ScanArgs, parse_cursor, scan_collection
from server.resp import Error, RSet
from server.streamed import random_repeats

if TYPE_CHECKING:
    from server.config import Config
    from server.connection import Client


def read_set(c: Client, key: bytes) -> ORSet | None:
    oset: ORSet | None = read(c, key, SET)
    return oset


def _recreate(db: int, key: bytes, oset: ORSet, at: int) -> list[Any]:
    return [SetAdd(db, key, tuple(oset.members)), *([Expire(db, key, at)] if at else [])]


def _encoding(oset: ORSet, cfg: Config | None = None) -> bytes:
    """intset while every member is an integer and within set-max-intset-entries."""
    members = oset.members
    if len(members) <= (cfg.set_max_intset_entries if cfg else 512) and all(parse_int(m) is not None for m in members):
        return b"intset"
    return b"hashtable"


TYPE_COMMANDS[SET] = TypeCommands(_recreate, _encoding)


def _write_set(c: Client, key: bytes) -> ORSet | None:
    oset: ORSet | None = prepare_write(c, key, SET)
    return oset


def remove_members(c: Client, key: bytes, oset: ORSet, members: list[bytes]) -> None:
    """Remove ``members`` (all present in ``oset``) as an observed remove; the whole key when
    nothing would be left, as Redis deletes an emptied set."""
    if len(members) >= len(oset):
        c.ks.emit(Delete(c.db, key))
    else:
        c.ks.emit(SetRemove(c.db, key, tuple(members)))


def positive_count(arg: bytes, message: str = errors.NOT_POSITIVE) -> int:
    """Redis's getPositiveLongFromObjectOrReply: non-integers get the same message."""
    value = int_arg(arg, message)
    if value < 0:
        raise Error(message)
    return value


def random_count(arg: bytes) -> int:
    """The count of SRANDMEMBER/HRANDFIELD: any long but LONG_MIN."""
    value = int_arg(arg)
    if value < -INT64_MAX:
        raise Error(errors.RANGE_BETWEEN % (-INT64_MAX, INT64_MAX))
    return value


def random_pick(items: list[bytes], count: int) -> list[bytes]:
    """SRANDMEMBER/HRANDFIELD/ZRANDMEMBER with a positive count: ``count`` distinct items (all
    of them when there are fewer). A negative count is ``server/streamed.random_repeats``."""
    return items if count >= len(items) else random.sample(items, count)


# -- single-key commands -------------------------------------------------------------------


@command("sadd")
def cmd_sadd(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    oset = _write_set(c, key)
    if len(argv) == 3:  # one member (the common case)
        members: tuple[bytes, ...] = (argv[2],)
        added = 1 if oset is None or argv[2] not in oset else 0
    else:
        members = tuple(dict.fromkeys(argv[2:]))
        added = len(members) if oset is None else sum(1 for m in members if m not in oset)
    effect = SetAdd(c.db, key, members)  # present members too: add-wins needs it
    if added:
        c.ks.emit(effect)
    else:
        c.ks.emit_quiet(effect)  # nothing visible changed: no WATCH/tracking signal (Redis)
    return added


@command("srem")
def cmd_srem(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    oset = _write_set(c, key)
    if oset is None:
        return 0
    present = [m for m in dict.fromkeys(argv[2:]) if m in oset]
    if present:
        remove_members(c, key, oset, present)
    return len(present)


@command("smembers")
def cmd_smembers(c: Client, argv: list[bytes]) -> Any:
    oset = read_set(c, argv[1])
    return RSet(() if oset is None else list(oset))


@command("sismember")
def cmd_sismember(c: Client, argv: list[bytes]) -> Any:
    oset = read_set(c, argv[1])
    return int(oset is not None and argv[2] in oset)


@command("smismember")
def cmd_smismember(c: Client, argv: list[bytes]) -> Any:
    oset = read_set(c, argv[1])
    return [int(oset is not None and m in oset) for m in argv[2:]]


@command("scard")
def cmd_scard(c: Client, argv: list[bytes]) -> Any:
    oset = read_set(c, argv[1])
    return 0 if oset is None else len(oset)


@command("spop")
def cmd_spop(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    if len(argv) == 3:
        count = positive_count(argv[2])
        oset = _write_set(c, key)
        if oset is None or count == 0:
            return RSet(())
        members = list(oset)
        chosen = members if count >= len(members) else random.sample(members, count)
        remove_members(c, key, oset, chosen)
        return RSet(chosen)
    oset = _write_set(c, key)
    if oset is None:
        return None
    member = random.choice(list(oset))
    remove_members(c, key, oset, [member])
    return member


@command("srandmember")
def cmd_srandmember(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    if len(argv) == 3:
        count = random_count(argv[2])
        oset = read_set(c, argv[1])
        if oset is None or count == 0:
            return []
        if count < 0:
            return random_repeats(c, list(oset), -count)
        return random_pick(list(oset), count)
    oset = read_set(c, argv[1])
    return None if oset is None else random.choice(list(oset))


@command("smove")
def cmd_smove(c: Client, argv: list[bytes]) -> Any:
    src, dst, member = argv[1], argv[2], argv[3]
    source = prepare_write(c, src)
    destination = prepare_write(c, dst)
    if source is None:
        return 0
    if not isinstance(source, ORSet) or (destination is not None and not isinstance(destination, ORSet)):
        raise Error(errors.WRONGTYPE)
    if src == dst:
        return int(member in source)
    if member not in source:
        return 0
    remove_members(c, src, source, [member])
    effect = SetAdd(c.db, dst, (member,))
    if destination is not None and member in destination:
        c.ks.emit_quiet(effect)  # already there: Redis signals no change of the destination
    else:
        c.ks.emit(effect)
    return 1


@command("sscan")
def cmd_sscan(c: Client, argv: list[bytes]) -> Any:
    parse_cursor(argv[2])  # an invalid cursor is an error even for a missing key
    oset = read_set(c, argv[1])
    if oset is None:
        return [b"0", []]
    if _encoding(oset) == b"intset":  # Redis returns an intset whole, in ascending order
        args = ScanArgs(argv, 3, allow_type=False)
        return [b"0", [m for m in sorted(oset.members, key=int) if args.accepts(m)]]
    return list(scan_collection(argv, oset.members))


# -- multi-key commands --------------------------------------------------------------------


def _read_sets(c: Client, keys: list[bytes], write: bool = False) -> list[ORSet | None]:
    """Every key's set (None when missing); WRONGTYPE if any key holds another type
    (Redis 7 type-checks every key, even after a missing one). ``write``: the *STORE forms,
    which remove an expired source first, in the same batch; Redis 7.0.15 then counts the
    sources' hits and misses and fires ``keymiss`` for them, as for reads)."""
    if write:
        for key in keys:
            _write_set(c, key)
    return [read_set(c, key) for key in keys]


def _inter(sets: list[ORSet | None], limit: int = 0) -> list[bytes]:
    if not sets or any(s is None for s in sets):
        return []
    ordered = sorted((s for s in sets if s is not None), key=len)
    first, rest = ordered[0], ordered[1:]
    out: list[bytes] = []
    for m in first:
        if all(m in s for s in rest):
            out.append(m)
            if limit and len(out) >= limit:
                break
    return out


def _union(sets: list[ORSet | None]) -> list[bytes]:
    out: dict[bytes, None] = {}
    for s in sets:
        if s is not None:
            out.update(dict.fromkeys(s))
    return list(out)


def _diff(sets: list[ORSet | None]) -> list[bytes]:
    first = sets[0]
    if first is None:
        return []
    rest = [s for s in sets[1:] if s is not None]
    return [m for m in first if not any(m in s for s in rest)]


_OPS = {"sinter": _inter, "sunion": _union, "sdiff": _diff}


@command("sinter", "sunion", "sdiff")
def cmd_setop(c: Client, argv: list[bytes]) -> Any:
    op = _OPS[argv[0].lower().decode()]
    return RSet(op(_read_sets(c, argv[1:])))


@command("sinterstore", "sunionstore", "sdiffstore")
def cmd_setop_store(c: Client, argv: list[bytes]) -> Any:
    op = _OPS[argv[0].lower().decode()[: -len("store")]]
    dst = argv[1]
    result = op(_read_sets(c, argv[2:], write=True))
    existed = prepare_write(c, dst) is not None
    if existed:
        c.ks.emit(Delete(c.db, dst))
    if result:
        c.ks.emit(SetAdd(c.db, dst, tuple(result)))
    return len(result)


@command("sintercard")
def cmd_sintercard(c: Client, argv: list[bytes]) -> Any:
    numkeys = int_arg(argv[1], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise Error(errors.NUMKEYS_POSITIVE)
    if numkeys > len(argv) - 2:
        raise Error(errors.NUMKEYS_TOO_MANY)
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            limit = positive_count(argv[i + 1], errors.LIMIT_NEGATIVE)
            i += 2
        else:
            raise Error(errors.SYNTAX)
    return len(_inter(_read_sets(c, argv[2 : 2 + numkeys]), limit))
