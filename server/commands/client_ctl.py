"""CLIENT PAUSE / UNPAUSE / REPLY / NO-EVICT (Redis 7.0's networking.c), NO-TOUCH (7.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.connection import REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT
from server.resp import NO_REPLY, OK, Error

if TYPE_CHECKING:
    from server.connection import Client

TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"


@command("client|pause")
def cmd_client_pause(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 4:
        raise Error(errors.CLIENT_UNKNOWN_SUBCOMMAND % argv[1].decode("utf-8", "replace")[:128])
    ms = int_arg(argv[2], TIMEOUT_NOT_INTEGER)
    if ms < 0:
        raise Error(TIMEOUT_NEGATIVE)
    all_commands = True
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            all_commands = False
        elif mode != b"all":
            raise Error(PAUSE_MODE)
    c.server.pause.pause(ms, all_commands)
    return OK


@command("client|unpause")
def cmd_client_unpause(c: Client, argv: list[bytes]) -> Any:
    c.server.pause.unpause()
    return OK


@command("client|reply")
def cmd_client_reply(c: Client, argv: list[bytes]) -> Any:
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_flags &= ~(REPLY_OFF | REPLY_SKIP | REPLY_SKIP_NEXT)
        return OK
    if mode == b"off":
        c.reply_flags |= REPLY_OFF
        return NO_REPLY
    if mode == b"skip":
        if not c.reply_flags & REPLY_OFF:
            c.reply_flags |= REPLY_SKIP_NEXT
        return NO_REPLY
    raise Error(errors.SYNTAX)


@command("client|no-evict")
def cmd_client_no_evict(c: Client, argv: list[bytes]) -> Any:
    mode = argv[2].lower()
    if mode not in (b"on", b"off"):
        raise Error(errors.SYNTAX)
    c.no_evict = mode == b"on"
    if c.no_evict and c.write_paused:  # flow control applies to it again
        c.server.client_eviction.flow_changed()
    return OK


@command("client|no-touch")
def cmd_client_no_touch(c: Client, argv: list[bytes]) -> Any:
    """CLIENT NO-TOUCH ON|OFF (Redis 7.2; spec hand-written in registry). Recorded and shown
    (flag ``T``); activekv keeps no LRU/LFU clock for keys, so there is nothing to spare."""
    mode = argv[2].lower()
    if mode not in (b"on", b"off"):
        raise Error(errors.SYNTAX)
    c.no_touch = mode == b"on"
    return OK
