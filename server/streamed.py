"""Streamed replies: SRANDMEMBER, HRANDFIELD and ZRANDMEMBER with a large negative count.

A negative count asks for that many random elements, repeats allowed, so the reply's size is
the caller's choice, not the key's: ``SRANDMEMBER k -2147483649`` is 2^31 elements. Redis 7.0
builds the whole reply in memory before it writes a byte of it (tens of GB, until the OOM
killer; Valkey later added a limit and an error). activekv sends the same reply, but a part at
a time while the client reads it:

- the draws are made from a snapshot of the key's elements taken when the command runs, so the
  reply is still the command's atomic result;
- each part is about ``PART_BYTES`` of encoded elements, and a part is only made while less
  than ``HIGH_WATER`` bytes wait in the client's output buffer: memory stays bounded however
  slowly the client reads, and the output buffer limits apply as to any reply;
- other clients are served between parts; the client's own later commands wait their turn, as
  after a blocking command, and pushes that arrive meanwhile (pub/sub messages, invalidations)
  are held until the reply is complete (``Client.stream_hold``), as they would follow a reply
  built at once;
- a client that disconnects (or is killed) stops the stream.

Counts below ``STREAM_FROM`` draws, and calls inside MULTI/EXEC or a script (their reply is
part of another one) or under CLIENT REPLY OFF/SKIP are answered whole, as before. Built whole,
a reply of more than ``WHOLE_MAX_BYTES`` (estimated from a sample of the elements) is refused
with an error, where Redis would try and run out of memory.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.blocking import Blocked
from server.resp import NO_REPLY, Error, encode, encode_one

if TYPE_CHECKING:
    from server.connection import Client

STREAM_FROM = 1 << 16  # draws: below this the reply is built whole
PART_BYTES = 64 * 1024  # about this many bytes of elements per part
HIGH_WATER = 1 << 20  # no new part while this much output waits unsent
RETRY_S = 0.002  # how soon a stream waiting for its client to read looks again
WHOLE_MAX_BYTES = 1 << 30  # the largest reply of random draws built whole
TOO_LARGE = ("ERR count is too large: its reply would exceed %d bytes (inside MULTI/EXEC or a "
             "script, or under CLIENT REPLY OFF/SKIP, it is built whole)")


def can_stream(c: Client, draws: int) -> bool:
    """Whether a reply of ``draws`` random elements is streamed rather than built whole."""
    if draws < STREAM_FROM or c.in_exec or c.reply_flags or c.transport is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop (an in-process server): built whole
        return False
    return True


class StreamedDraws(Blocked):
    """``draws`` elements drawn with repeats from ``units``, each unit pre-encoded once. Not a
    blocked client for CLIENT UNBLOCK, CLIENT LIST or INFO (it is a reply being written)."""

    __slots__ = ("_encoded", "_left", "_header", "_per_part", "_loop", "_done")
    unblockable = False

    def __init__(self, c: Client, units: list[Any], draws: int, flatten: bool) -> None:
        super().__init__(self._ready, None, lambda: None)
        self.client = c
        resp3 = c.resp3
        encoded = []
        for unit in units:
            out = bytearray()
            if flatten:  # a pair in RESP2: two elements of the one array
                for value in unit:
                    encode(value, out, resp3)
            else:
                encode(unit, out, resp3)
            encoded.append(bytes(out))
        self._encoded = encoded
        width = len(units[0]) if flatten else 1
        self._header = b"*%d\r\n" % (draws * width)
        average = sum(len(e) for e in encoded[:64]) // min(len(encoded), 64)
        self._per_part = max(1, PART_BYTES // max(1, average))
        self._left = draws
        self._done = False
        self._loop = asyncio.get_running_loop()
        c.stream_hold = bytearray()  # from now on, pushes wait for the end of this reply
        self._loop.call_soon(self._part)

    def _ready(self) -> Any:
        return NO_REPLY if self._done else None

    def _part(self) -> None:
        c = self.client
        if c.closing or c.blocked is not self:  # gone, or killed: nothing more to send
            c.stream_hold = None
            return
        if c.pending_output() >= HIGH_WATER:  # the client has not read enough yet
            self._loop.call_later(RETRY_S, self._part)
            return
        n = min(self._left, self._per_part)
        data = b"".join(random.choices(self._encoded, k=n))
        if self._header:
            data = self._header + data
            self._header = b""
        self._left -= n
        c.stream_write(data)
        if self._left:
            self._loop.call_soon(self._part)
            return
        held, c.stream_hold = c.stream_hold, None
        if held:
            c.stream_write(bytes(held))
        self._done = True
        c.server.poll_waiters()  # the client's unblock: its later commands run


def random_repeats(c: Client, items: list[Any], draws: int,
                   pair: Callable[[Any], list[Any]] | None = None) -> Any:
    """The reply of ``draws`` random ``items`` with repeats: streamed when large, else the
    list. ``pair``: each drawn item's reply is ``pair(item)`` (a field and its value, a member
    and its score), two elements of the reply's one array in RESP2, a nested pair in RESP3."""
    flatten = pair is not None and not c.resp3
    if can_stream(c, draws):
        units = items if pair is None else [pair(x) for x in items]
        return StreamedDraws(c, units, draws, flatten)
    if draws >= STREAM_FROM:
        sample = [pair(x) for x in items[:16]] if pair is not None else items[:16]
        size = len(encode_one(sample, c.resp3)) // len(sample)  # (its array header: a few bytes)
        if draws * size > WHOLE_MAX_BYTES:
            raise Error(TOO_LARGE % WHOLE_MAX_BYTES)
    chosen = random.choices(items, k=draws)
    if pair is None:
        return chosen
    if flatten:
        return [x for item in chosen for x in pair(item)]
    return [pair(item) for item in chosen]
