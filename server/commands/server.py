"""Server commands: DBSIZE, FLUSHDB, FLUSHALL, TIME (more follow: COMMAND, CONFIG, INFO...)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from crdt.effects import Flush
from server import errors
from server.commands.registry import command
from server.resp import OK, Error

if TYPE_CHECKING:
    from server.connection import Client


def _flush_mode(argv: list[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise Error(errors.SYNTAX)


@command("flushdb")
def cmd_flushdb(c: Client, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    c.ks.emit(Flush(c.db))
    return OK


@command("flushall")
def cmd_flushall(c: Client, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    c.ks.emit(Flush(-1))
    return OK


@command("dbsize")
def cmd_dbsize(c: Client, argv: list[bytes]) -> Any:
    return c.ks.dbs[c.db].visible_count(c.ks.now_ms)


@command("time")
def cmd_time(c: Client, argv: list[bytes]) -> Any:
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]
