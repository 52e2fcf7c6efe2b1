"""Client request reader: bytes in, commands out, byte-exact with Redis 7.0's networking.c.

This reproduces ``processInputBuffer`` / ``processMultibulkBuffer`` / ``processInlineBuffer``
(and the query-buffer limit of ``readQueryFromClient``), including their quirks, all verified
against a real redis-server 7.0 (see ``tests/compat/test_reqparse_vs_redis.py``):

* a header line ends at the first ``\\r`` and the byte after it is skipped whatever it is;
  the two bytes after bulk data are skipped unchecked;
* a NUL byte before the line terminator hides the terminator (Redis uses ``strchr``), so the
  request waits until it is too big;
* counts and lengths use Redis's strict ``string2ll`` (no ``+``, no leading zeros, no ``-0``);
* ``*0`` and any negative count are ignored; an empty inline line is ignored;
* inline lines split with ``sdssplitargs`` rules.

Fast path: a ``hiredis.Reader`` parses streams of RESP arrays. hiredis is more lenient than
Redis (``+simple`` or ``:int`` elements, nested arrays, RESP3 types) and eagerly allocates a
list for a declared array length, so every command it returns is checked against the raw
bytes (a ``*`` at its start and a ``$`` at every element, which, hiredis's integer parsing
being as strict as Redis's, proves the encoding canonical), and anything unusual is handed
to a pure-Python parser that reproduces Redis exactly. When hiredis waits for more data the
pending command's headers are scanned (incrementally) by the same Python code, so a huge
declared length is rejected at once, as Redis does.
"""

from __future__ import annotations

import re
from typing import Any

import hiredis

from crdt.numbers import INT32_MAX, parse_int
from server import errors

__all__ = ["ProtocolError", "QueryBufferLimit", "RequestReader"]

PROTO_INLINE_MAX_SIZE = 64 * 1024  # networking.c / server.h
AUTH_MAX_MULTIBULK = 10  # processMultibulkBuffer: ll > 10 && authRequired(c)
AUTH_MAX_BULK = 16384  # processMultibulkBuffer: ll > 16384 && authRequired(c)

# Pending bulk arguments at least this big are read by the Python path (one buffer copy
# instead of ours + hiredis's).
_BIG_ARG = 256 * 1024
# Redis's PROTO_MBULK_BIG_ARG: an argument at least this long is allocated whole on its header
_RESERVED_ARG = 32 * 1024

# An aggregate header with 7+ digits: hiredis would allocate a list of that many slots
# up front (and free it slot by slot), so such input is parsed in Python instead.
_BIG_AGGREGATE = re.compile(rb"[*~%>|][0-9]{7}")
_QUOTES_OR_ODD_SPACE = re.compile(rb"[\"'\x0b\x0c]")
_SPACE = frozenset(b" \t\n\v\f\r")  # C isspace() in the C locale
_TOKEN_END = frozenset(b" \n\r\t")  # sdssplitargs: end of an unquoted token
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}

_DIVERGED = object()  # the scan of a pending command found it complete: hiredis disagrees


class ProtocolError(Exception):
    """A request Redis would reject: reply ``-<message>`` and close the connection.

    ``commands`` holds the commands parsed before the error; run them first.
    """

    def __init__(self, message: str, commands: list[list[bytes]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.commands: list[list[bytes]] = commands if commands is not None else []

    @property
    def message_bytes(self) -> bytes:
        """The message as Redis sends it (``expected '$', got '<byte>'`` may hold any byte)."""
        return self.message.encode("utf-8", "surrogateescape")


class QueryBufferLimit(ProtocolError):
    """The pending request bytes exceeded the query buffer limit.

    Redis closes such a client without a reply (it logs "Closing client that reached max
    query buffer length"). ``commands`` holds complete commands parsed before it.
    """


def splitargs(line: bytes) -> list[bytes] | None:
    """Redis's ``sdssplitargs``: split a line into arguments; None on unbalanced quotes.
    Shared by inline requests and the config file / command line (server/config.py).

    ``"..."`` supports ``\\xHH``, ``\\n``, ``\\r``, ``\\t``, ``\\b``, ``\\a`` and ``\\c``;
    ``'...'`` supports ``\\'``; a closing quote must be followed by a space or the end. The
    line is a C string: it ends at the first NUL.
    """
    nul = line.find(b"\x00")
    if nul >= 0:
        line = line[:nul]
    if _QUOTES_OR_ODD_SPACE.search(line) is None:
        return line.split()  # same as sdssplitargs when only " \t\r\n" separate tokens
    out: list[bytes] = []
    n = len(line)
    p = 0
    while True:
        while p < n and line[p] in _SPACE:
            p += 1
        if p >= n:
            return out
        cur = bytearray()
        inq = insq = False
        while True:
            c = line[p] if p < n else 0
            nxt = line[p + 1] if p + 1 < n else 0
            if inq:
                if c == 92 and nxt == 120 and p + 3 < n and line[p + 2] in _HEX and line[p + 3] in _HEX:
                    cur.append(int(line[p + 2 : p + 4], 16))
                    p += 3
                elif c == 92 and nxt:
                    p += 1
                    cur.append(_ESCAPES.get(nxt, nxt))
                elif c == 34:
                    if nxt and nxt not in _SPACE:
                        return None
                    p += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and nxt == 39:
                    p += 1
                    cur.append(39)
                elif c == 39:
                    if nxt and nxt not in _SPACE:
                        return None
                    p += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif c in _TOKEN_END or not c:
                if c:
                    p += 1
                break
            elif c == 34:
                inq = True
            elif c == 39:
                insq = True
            else:
                cur.append(c)
            p += 1
        out.append(bytes(cur))


class RequestReader:
    """Turns a client's byte stream into commands, as Redis 7.0 does.

    Call :meth:`feed` with each chunk read from the socket; it returns the complete
    commands (each a list of ``bytes``), in order. On :class:`ProtocolError` run
    ``err.commands``, reply the error (unless it is a :class:`QueryBufferLimit`) and
    close the connection; the reader must not be fed again.

    While ``requires_auth`` is True Redis applies the unauthenticated limits to each
    command as it parses it, i.e. after running the commands before it (one of which may
    be AUTH). To keep that order, when a command other than the first one of a ``feed()``
    call hits such a limit, feed() returns the commands before it, leaves the rest buffered
    and sets ``deferred``; after running those commands (and updating ``requires_auth``)
    call ``feed(b"")`` to go on.
    """

    def __init__(
        self,
        proto_max_bulk_len: int = 512 * 1024 * 1024,
        query_buffer_limit: int = 1024 * 1024 * 1024,
    ) -> None:
        self.proto_max_bulk_len = proto_max_bulk_len
        self.query_buffer_limit = query_buffer_limit
        self.requires_auth = False
        self.deferred = False
        # Unconsumed bytes. With a hiredis reader: exactly what hiredis has not returned yet
        # (the pending command starts at 0). Without: only the bytes Redis would still hold
        # in its query buffer (arguments already parsed live in _args).
        self._buf = bytearray()
        self._reader: Any = hiredis.Reader()
        # Python parser state, as in Redis's client struct. _pos: next byte to parse;
        # _left: c->multibulklen; _bulk: c->bulklen; _args: c->argv (None while hiredis
        # holds the arguments and the Python code only scans headers).
        self._pos = 0
        self._left = 0
        self._bulk = -1
        self._args: list[bytes] | None = None
        self._failed: ProtocolError | None = None

    def pending_bytes(self) -> int:
        """Bytes Redis would hold in its query buffer (CLIENT LIST ``qbuf``)."""
        return len(self._buf) - self._pos

    def reserved_bytes(self) -> int:
        """Bytes held for the command being read besides ``pending_bytes`` (client eviction's
        measure, server/client_eviction.py): its arguments parsed so far and, for a big
        argument still arriving, the rest of its declared length (Redis allocates such an
        argument whole once it has read its header)."""
        args = self._args
        extra = sum(map(len, args)) if args else 0
        if self._reader is not None:
            extra += self._pos  # the pending command's bytes before the current argument
        bulk = self._bulk
        if bulk >= _RESERVED_ARG:
            have = len(self._buf) - self._pos
            if bulk + 2 > have:
                extra += bulk + 2 - have
        return extra

    # -- public entry point -------------------------------------------------------------

    def feed(self, data: bytes) -> list[list[bytes]]:
        """Return every complete command in the data so far, in order."""
        if self._failed is not None:
            raise ProtocolError(self._failed.message)
        self.deferred = False
        buf: bytearray | bytes = self._buf
        r = self._reader
        if r is not None and not buf:
            # Nothing pending (the common case): scan ``data`` itself; only what is left
            # pending at the end is copied into the buffer.
            if _BIG_AGGREGATE.search(data) is not None:
                self._buf += data
                return self._fallback([], 0)
            r.feed(data)
            buf = data
        elif r is not None:
            old = len(buf)
            self._buf += data
            if _BIG_AGGREGATE.search(buf, old - 9 if old > 9 else 0) is not None:
                return self._fallback([], 0)
            r.feed(data)
        else:
            self._buf += data
            if self._left == 0 and (not buf or buf[0] == 42) and _BIG_AGGREGATE.search(buf) is None:
                # Back at a command boundary with nothing or a multibulk pending: hiredis again.
                r = self._reader = hiredis.Reader()
                if buf:
                    r.feed(bytes(buf))
            else:
                return self._python([])

        cmds: list[list[bytes]] = []
        pos = 0
        thr = min(self.proto_max_bulk_len, self.query_buffer_limit - 2)
        auth = self.requires_auth
        if auth:
            thr = min(thr, AUTH_MAX_BULK)
        try:
            while True:
                item = r.gets()
                if item is False:
                    break
                if type(item) is list and buf[pos] == 42:
                    k = len(item)
                    o = pos + (4 if k < 10 else 5 if k < 100 else len(str(k)) + 3)
                    for a in item:
                        if type(a) is not bytes or buf[o] != 36:
                            return self._fallback(cmds, pos, buf)
                        n = len(a)
                        o += n + (6 if n < 10 else 7 if n < 100 else 8 if n < 1000 else len(str(n)) + 5)
                    if o - pos > thr or (auth and k > AUTH_MAX_MULTIBULK):
                        return self._fallback(cmds, pos, buf)  # near a limit: let Python decide
                    if k:
                        cmds.append(item)
                    pos = o
                elif item is None and buf[pos] == 42:  # "*-1\r\n", the only null hiredis
                    pos += 5  # takes after a '*' (its integers are as strict as Redis's)
                else:
                    return self._fallback(cmds, pos, buf)
        except (hiredis.ProtocolError, IndexError, MemoryError):
            return self._fallback(cmds, pos, buf)

        if buf is data:  # the fast path: keep only what is still pending
            if pos == len(data):
                return cmds
            self._buf += memoryview(data)[pos:]
            buf = self._buf
        elif pos:
            del self._buf[:pos]
            self._pos = 0
            self._left = 0
            self._bulk = -1
        if buf:
            if buf[0] != 42:
                return self._fallback(cmds, 0)
            # hiredis waits for the rest of a command: check its headers as Redis would.
            try:
                if self._run(cmds, collect=False) is _DIVERGED:
                    return self._fallback(cmds, 0)
            except ProtocolError as e:
                raise self._fail(e, cmds) from None
            if self._bulk >= _BIG_ARG:
                return self._fallback(cmds, 0)
            if len(buf) - self._pos > self.query_buffer_limit:
                raise self._fail(self._qbl(), cmds)
        return cmds

    # -- slow path ----------------------------------------------------------------------

    def _fallback(self, cmds: list[list[bytes]], pos: int, buf: bytes | bytearray = b"") -> list[list[bytes]]:
        """Drop hiredis; parse from ``pos`` (a verified command start) in Python. ``buf``:
        the data the fast path of ``feed`` scanned without buffering it."""
        self._reader = None
        if buf is not self._buf:
            self._buf += buf
        if pos:
            del self._buf[:pos]
        self._pos = 0
        self._left = 0
        self._bulk = -1
        self._args = None
        return self._python(cmds)

    def _python(self, cmds: list[list[bytes]]) -> list[list[bytes]]:
        try:
            self._run(cmds, collect=True)
        except ProtocolError as e:
            raise self._fail(e, cmds) from None
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        if len(self._buf) > self.query_buffer_limit:
            raise self._fail(self._qbl(), cmds)
        return cmds

    def _qbl(self) -> QueryBufferLimit:
        return QueryBufferLimit(
            "closing client that reached max query buffer length "
            f"(qbuf={self.pending_bytes()}, limit={self.query_buffer_limit})"
        )

    def _fail(self, e: ProtocolError, cmds: list[list[bytes]]) -> ProtocolError:
        e.commands = cmds
        self._failed = e
        self._reader = None
        return e

    def _run(self, cmds: list[list[bytes]], collect: bool) -> object:
        """processInputBuffer on ``_buf`` from ``_pos``, resuming the saved state.

        collect=True: build commands into ``cmds``. collect=False: only scan the headers
        of the pending command (hiredis holds it); returns _DIVERGED if it is complete.
        """
        buf = self._buf
        n = len(buf)
        pos = self._pos
        left = self._left
        bulk = self._bulk
        args = self._args
        first = not cmds
        cmd_start = 0  # start of the pending command (scan mode: always 0)
        try:
            while True:
                if left == 0:
                    # -- at a command boundary
                    if pos >= n:
                        break
                    if buf[pos] != 42:  # processInlineBuffer
                        nl = buf.find(b"\n", pos)
                        if nl == -1 or buf.find(b"\0", pos, nl) != -1:
                            if n - pos > PROTO_INLINE_MAX_SIZE:
                                raise ProtocolError(errors.PROTO_TOO_BIG_INLINE)
                            break
                        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
                        argv = splitargs(bytes(buf[pos:end]))
                        if argv is None:
                            raise ProtocolError(errors.PROTO_UNBALANCED_QUOTES)
                        pos = nl + 1
                        if argv:
                            cmds.append(argv)
                            first = False
                        continue
                    cr = buf.find(b"\r", pos)
                    if cr == -1 or buf.find(b"\0", pos, cr) != -1:
                        if n - pos > PROTO_INLINE_MAX_SIZE:
                            raise ProtocolError(errors.PROTO_TOO_BIG_MBULK_COUNT)
                        break
                    if cr > n - 2:  # "Buffer should also contain \n" (any byte will do)
                        break
                    ll = parse_int(buf[pos + 1 : cr])
                    if ll is None or ll > INT32_MAX:
                        raise ProtocolError(errors.PROTO_INVALID_MULTIBULK)
                    cmd_start = pos
                    if ll > AUTH_MAX_MULTIBULK and self.requires_auth:
                        if not first:
                            self.deferred = True
                            break
                        raise ProtocolError(errors.PROTO_UNAUTH_MULTIBULK)
                    pos = cr + 2
                    if ll <= 0:
                        continue
                    left = ll
                    bulk = -1
                    args = [] if collect else None
                # -- reading the arguments of a multibulk command
                while left:
                    if bulk < 0:
                        cr = buf.find(b"\r", pos)
                        if cr == -1 or buf.find(b"\0", pos, cr) != -1:
                            if n - pos > PROTO_INLINE_MAX_SIZE:
                                raise ProtocolError(errors.PROTO_TOO_BIG_BULK_COUNT)
                            break
                        if cr > n - 2:
                            break
                        c = buf[pos]
                        if c != 36:
                            # the byte as sent (resp.encode writes surrogates back as bytes)
                            ch = " " if c in (10, 13) else bytes((c,)).decode("utf-8", "surrogateescape")
                            raise ProtocolError(errors.PROTO_EXPECTED_DOLLAR % ch)
                        ll = parse_int(buf[pos + 1 : cr])
                        if ll is None or ll < 0 or ll > self.proto_max_bulk_len:
                            raise ProtocolError(errors.PROTO_INVALID_BULK)
                        if ll > AUTH_MAX_BULK and self.requires_auth:
                            if not first:  # parse it again once the commands before it ran
                                self.deferred = True
                                pos = cmd_start
                                left = 0
                                bulk = -1
                                args = None
                                break
                            raise ProtocolError(errors.PROTO_UNAUTH_BULK)
                        pos = cr + 2
                        bulk = ll
                    if n - pos < bulk + 2:
                        break
                    if bulk + 2 > self.query_buffer_limit:
                        # Redis reads a big argument into its query buffer whole.
                        self._pos = pos
                        raise self._qbl()
                    if args is not None:
                        if bulk > 4096:
                            with memoryview(buf) as mv:
                                args.append(bytes(mv[pos : pos + bulk]))
                        else:
                            args.append(bytes(buf[pos : pos + bulk]))
                    pos += bulk + 2
                    bulk = -1
                    left -= 1
                if left or self.deferred:
                    break
                if args is None:
                    return _DIVERGED
                cmds.append(args)
                args = None
                first = False
        finally:
            self._pos = pos
            self._left = left
            self._bulk = bulk
            self._args = args
        return None
