"""XCLAIM and XAUTOCLAIM (Redis 7.0's t_stream.c): moving pending entries between consumers.
Pending lists are local to a region (SEMANTICS.md, "consumer groups"), so claims change this
region's group state only and ship nothing; an XCLAIM ``LASTID`` moves this region's
last-delivered ID."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.types.stream import Stream
from crdt.types.stream_groups import SID, Group
from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.commands.streams import (
    INVALID_START,
    fmt_id,
    incr_id,
    interval_id,
    read_stream,
    strict_id,
)
from server.commands.streams_groups import emit_local, nogroup, now_ms, touch_consumer
from server.resp import Error

if TYPE_CHECKING:
    from server.connection import Client

_LONG_MAX = 2**63 - 1
_ATTEMPTS_FACTOR = 10


def _entry(s: Stream, sid: SID) -> Any:
    found = list(s.range(sid, sid))
    if not found:
        return None
    k = found[0]
    return [fmt_id(k), list(s.fields[k])]


def _lookup(c: Client, argv: list[bytes]) -> tuple[Stream, Group]:
    s = read_stream(c, argv[1])
    g = s.group(argv[2]) if s is not None else None
    if s is None or g is None:
        raise nogroup(argv[1], argv[2])
    return s, g


@command("xclaim")
def cmd_xclaim(c: Client, argv: list[bytes]) -> Any:
    s, g = _lookup(c, argv)
    minidle = max(int_arg(argv[4], "ERR Invalid min-idle-time argument for XCLAIM"), 0)
    ids: list[SID] = []
    j = 5
    while j < len(argv):
        try:
            ids.append(strict_id(argv[j]))
        except Error:
            break
        j += 1
    now = now_ms(c)
    force = justid = False
    retrycount = -1
    deliverytime = -1
    last_id: SID = (0, 0)
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            deliverytime = now - int_arg(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif opt == b"time" and more:
            j += 1
            deliverytime = int_arg(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = int_arg(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif opt == b"lastid" and more:
            j += 1
            last_id = strict_id(argv[j])
        else:
            raise Error("ERR Unrecognized XCLAIM option '%s'" % errors._text(errors._cstr(argv[j])))
        j += 1
    if last_id > g.last_id:
        g.set_local(last_id, g.entries_read)
    if deliverytime == -1 or deliverytime < 0 or deliverytime > now:
        deliverytime = now
    name = argv[3]
    out: list[Any] = []
    for sid in ids:
        nack = g.pel.get(sid)
        if not list(s.range(sid, sid)):
            if nack is not None:
                g.drop_nack(sid)  # the entry is gone: so is its pending entry
            continue
        if nack is None:
            if not force:
                continue
            count = 1  # FORCE: a new pending entry (streamCreateNACK)
        else:
            if minidle and now - nack.delivery_time < minidle:
                continue
            count = nack.delivery_count
        if retrycount >= 0:
            count = retrycount
        elif not justid:
            count += 1
        touch_consumer(c, argv[1], g, name, now)
        g.set_nack(sid, name, deliverytime, count)
        out.append(fmt_id(sid) if justid else _entry(s, sid))
    emit_local(c, argv[1], argv[2], g)
    return out


@command("xautoclaim")
def cmd_xautoclaim(c: Client, argv: list[bytes]) -> Any:
    minidle = max(int_arg(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start, startex = interval_id(argv[5], 0)
    if startex:
        nxt = incr_id(start)
        if nxt is None:
            raise Error(INVALID_START)
        start = nxt
    count = 100
    justid = False
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            n = int_arg(argv[j + 1], "ERR COUNT must be > 0")
            if n < 1 or n > _LONG_MAX // _ATTEMPTS_FACTOR:
                raise Error("ERR COUNT must be > 0")
            count = n
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise Error(errors.SYNTAX)
        j += 1
    s, g = _lookup(c, argv)
    now = now_ms(c)
    name = argv[3]
    attempts = count * _ATTEMPTS_FACTOR
    claimed: list[Any] = []
    deleted: list[bytes] = []
    pending = list(g.pel.irange(start))
    i = 0
    while attempts and count and i < len(pending):
        attempts -= 1
        sid = pending[i]
        i += 1
        nack = g.pel[sid]
        if not list(s.range(sid, sid)):
            g.drop_nack(sid)
            deleted.append(fmt_id(sid))
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        touch_consumer(c, argv[1], g, name, now)
        g.set_nack(sid, name, now, nack.delivery_count + (0 if justid else 1))
        claimed.append(fmt_id(sid) if justid else _entry(s, sid))
        count -= 1
    emit_local(c, argv[1], argv[2], g)
    cursor = fmt_id(pending[i]) if i < len(pending) else b"0-0"
    return [cursor, claimed, deleted]

