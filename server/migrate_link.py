"""MIGRATE's network half (Redis 7.0's migrateGetSocket, the transfer of migrateCommand, and
migrateCloseTimedoutSockets in cluster.c), as plain blocking sockets with Redis's timeouts.

``transfer`` does what Redis does between building the RESTORE commands and deleting the
acknowledged keys: get (or open) the cached connection to ``host:port``, write AUTH, SELECT
(only when the connection's last database differs) and the RESTOREs in 64 KiB chunks, read
one reply line each, and decide the reply: ``+OK``, ``ERR Target instance replied with error:
...`` (the first error of AUTH, SELECT or a RESTORE) or ``IOERR ...``; which keys the target
accepted is returned so the caller deletes them. It touches no server state but this module's
socket cache, so it runs in a thread of its own (``start``) while the event loop serves everyone
else, or inline where Redis's blocking behaviour is wanted (MULTI/EXEC, scripts).

Like Redis: every I/O step is bounded by ``timeout`` (a connect, a 64 KiB write, a reply
line); a socket error that is not a timeout before any RESTORE reply was read retries once on
a fresh connection (a cached connection the target closed meanwhile); a refused connection
surfaces as a write error (Redis's non-blocking connect succeeds, the write fails), a name
that does not resolve or a connect timeout as ``connecting to the client``. At most 64 cached
connections (one dropped at random when full), each closed after 10 s unused; INFO's
``migrate_cached_sockets`` counts them.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

CACHE_ITEMS = 64  # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL_S = 10  # MIGRATE_SOCKET_CACHE_TTL
CHUNK = 64 * 1024
LINE_MAX = 1023  # Redis reads a reply line into a 1024-byte buffer
# socket timeouts must fit a C timeval; Redis's own waits are ints of milliseconds as well
MAX_TIMEOUT_MS = 2**31 - 1

CONNECT_ERROR = "IOERR error or timeout connecting to the client"
WRITE_ERROR = "IOERR error or timeout writing to target instance"
READ_ERROR = "IOERR error or timeout reading to target instance"
TARGET_ERROR = "ERR Target instance replied with error: "


@dataclass
class CachedSocket:
    sock: socket.socket
    name: str
    last_dbid: int = -1
    last_use: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: bytes = b""  # bytes received past the last reply line read

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


_cache: dict[str, CachedSocket] = {}
_cache_lock = threading.Lock()


def cached_socket_count() -> int:
    return len(_cache)


def close_timed_out(now: float | None = None) -> None:
    """Close the cached connections unused for more than 10 s (Redis runs it every second)."""
    now = time.monotonic() if now is None else now
    with _cache_lock:
        for name, cs in list(_cache.items()):
            if now - cs.last_use > CACHE_TTL_S and cs.lock.acquire(blocking=False):
                try:
                    del _cache[name]
                    cs.close()
                finally:
                    cs.lock.release()


def close_all() -> None:
    with _cache_lock:
        for cs in _cache.values():
            cs.close()
        _cache.clear()


def _forget(cs: CachedSocket) -> None:
    """Redis's migrateCloseSocket: close it and drop it from the cache."""
    with _cache_lock:
        if _cache.get(cs.name) is cs:
            del _cache[cs.name]
    cs.close()


def c_atoi(text: bytes) -> int:
    """C's atoi: leading blanks, a sign, digits; anything else ends the number (0 if none)."""
    s = text.lstrip(b" \t\n\v\f\r")
    sign = 1
    if s[:1] in (b"+", b"-"):
        sign = -1 if s[:1] == b"-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    n = max(-(2**63), min(n * sign, 2**63 - 1))  # strtol clamps to a long,
    return (n + 2**31) % 2**32 - 2**31  # which atoi's int then truncates


class _ConnectFailed(Exception):
    pass


def _get_socket(host: bytes, port: bytes, timeout_s: float) -> CachedSocket:
    name = (host + b":" + port).decode("utf-8", "surrogateescape")
    with _cache_lock:
        cs = _cache.get(name)
        if cs is not None:
            cs.last_use = time.monotonic()
            return cs
    number = c_atoi(port)
    if number < 0:  # getaddrinfo refuses a negative service
        raise _ConnectFailed
    try:
        sock = socket.socket(socket.AF_INET6 if b":" in host else socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        raise _ConnectFailed from None
    try:
        sock.settimeout(timeout_s)
        addr = socket.getaddrinfo(host.decode("utf-8", "surrogateescape"), number & 0xFFFF,
                                  sock.family, socket.SOCK_STREAM)[0][4]
        sock.connect(addr)
    except (socket.gaierror, TimeoutError, UnicodeError):
        sock.close()
        raise _ConnectFailed from None
    except OSError:  # refused and the like: Redis's non-blocking connect "succeeds" here
        sock.close()
        sock = _dead_socket()
    else:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cs = CachedSocket(sock, name, last_use=time.monotonic())
    with _cache_lock:
        if name in _cache:  # another migration opened one meanwhile: use that one
            sock.close()
            return _cache[name]
        if len(_cache) >= CACHE_ITEMS:
            victim = _cache.pop(random.choice(list(_cache)))
            victim.close()
        _cache[name] = cs
    return cs


def _dead_socket() -> socket.socket:
    """A socket whose writes fail (EBADF): stands for a connection refused after connect."""
    dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead.close()
    return dead


def _read_line(cs: CachedSocket, timeout_s: float) -> bytes | None:
    """One reply line without its CR LF; None on a timeout, an error or the connection's end."""
    deadline = time.monotonic() + timeout_s
    buf = cs.pending
    while b"\n" not in buf[:LINE_MAX + 1]:
        if len(buf) > LINE_MAX:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        cs.sock.settimeout(remaining)
        chunk = cs.sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    end = buf.find(b"\n", 0, LINE_MAX + 1)
    if end < 0:  # a line longer than Redis's buffer: the rest is read as the next line
        line, cs.pending = buf[:LINE_MAX], buf[LINE_MAX:]
    else:
        line, cs.pending = buf[:end], buf[end + 1 :]
    return line[:-1] if line.endswith(b"\r") else line


@dataclass
class Outcome:
    reply: str | None  # None: +OK; else the error line (without its "-")
    accepted: list[int]  # indices of the keys whose RESTORE the target accepted


def transfer(host: bytes, port: bytes, timeout_ms: int, dbid: int, auth: bytes,
             restores: list[bytes]) -> Outcome:
    """Send ``auth`` (an encoded AUTH command, or empty), SELECT ``dbid`` if needed and the
    encoded ``restores``; read the replies. See the module's docstring."""
    timeout_s = min(timeout_ms, MAX_TIMEOUT_MS) / 1000
    may_retry = True
    while True:
        try:
            cs = _get_socket(host, port, timeout_s)
        except _ConnectFailed:
            return Outcome(CONNECT_ERROR, [])
        with cs.lock:
            outcome, retry = _exchange(cs, timeout_s, dbid, auth, restores, may_retry)
        if outcome is not None:
            return outcome
        may_retry = False
        if not retry:
            return Outcome(READ_ERROR, [])


def _exchange(cs: CachedSocket, timeout_s: float, dbid: int, auth: bytes, restores: list[bytes],
              may_retry: bool) -> tuple[Outcome | None, bool]:
    """One attempt. (outcome, _) when done; (None, retry) after a socket error (the socket is
    closed then); a write error or a retry-able failure is decided here as Redis does."""
    select = cs.last_dbid != dbid
    out = bytearray(auth)
    if select:
        db = str(dbid).encode()
        out += b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(db), db)
    for cmd in restores:
        out += cmd
    timed_out = False
    try:
        pos = 0
        while pos < len(out):
            cs.sock.settimeout(timeout_s)
            cs.sock.sendall(out[pos : pos + CHUNK])
            pos += CHUNK
    except OSError as exc:
        _forget(cs)
        if may_retry and not isinstance(exc, TimeoutError):
            return None, True
        return Outcome(WRITE_ERROR, []), False
    replies: list[bytes] = []
    lines: list[bytes | None] = []
    try:
        for _ in range((1 if auth else 0) + (1 if select else 0)):
            line = _read_line(cs, timeout_s)
            if line is None:
                raise ConnectionError
            lines.append(line)
    except OSError as exc:
        _forget(cs)
        return None, may_retry and not isinstance(exc, TimeoutError)
    auth_line = lines[0] if auth else None
    select_line = lines[-1] if select else None
    socket_error = False
    try:
        for _ in restores:
            line = _read_line(cs, timeout_s)
            if line is None:
                socket_error = True
                break
            replies.append(line)
    except OSError as exc:
        socket_error = True
        timed_out = isinstance(exc, TimeoutError)
    reply: str | None = None
    accepted: list[int] = []
    for i, line in enumerate(replies):
        for candidate in (auth_line, select_line, line):
            if candidate is not None and candidate[:1] == b"-":
                if reply is None:
                    cs.last_dbid = -1
                    reply = TARGET_ERROR + candidate[1:].decode("utf-8", "replace")
                break
        else:
            accepted.append(i)
    if socket_error:
        _forget(cs)
        if reply is None and not replies and may_retry and not timed_out:
            return None, True
        if reply is None:
            return Outcome(READ_ERROR, accepted), False
        return Outcome(reply, accepted), False
    if reply is None:
        cs.last_dbid = dbid
    cs.last_use = time.monotonic()
    return Outcome(reply, accepted), False


def start(host: bytes, port: bytes, timeout_ms: int, dbid: int, auth: bytes,
          restores: list[bytes]) -> Future[Outcome]:
    """``transfer`` in a thread of its own (MIGRATE outside MULTI and scripts). A daemon
    thread: a server shutting down never waits for a silent target's timeout."""
    future: Future[Outcome] = Future()

    def run() -> None:
        try:
            future.set_result(transfer(host, port, timeout_ms, dbid, auth, restores))
        except BaseException as exc:  # handed to the waiting client as an error reply
            future.set_exception(exc)

    threading.Thread(target=run, name="migrate", daemon=True).start()
    return future
