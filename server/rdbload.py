"""``activekv-load-rdb FILE [options]``: import a Redis ``dump.rdb`` (RDB versions 1 to 10,
Redis 2.x to 7.0) into a running activekv region, as one of its clients.

The file is read twice. The first pass walks every record and checks the CRC64 footer
(``server/rdb/rdbfile.py``): a truncated, corrupt or unsupported file (RDB 11+, module data)
is refused before anything is written (``--skip-module-keys`` skips module data instead). The
second pass sends, in pipelined batches of at most ``BATCH_COMMANDS`` commands or
``BATCH_BYTES`` bytes, one batch in flight while the next is prepared:

* ``FUNCTION RESTORE payload [REPLACE]`` per function library;
* ``SELECT db`` when the database changes (alone, its reply checked first), then per key
  ``RESTORE key ttl payload [ABSTTL] [REPLACE] [IDLETIME s | FREQ f]``: the key's bytes from
  the file as a DUMP payload, its absolute expire time, its LRU idle time or LFU counter.

So the import is an ordinary client write: it replicates to the peer regions like any other.
A key already expired when its turn comes is skipped, as Redis's loader skips it, and so is an
empty collection (RESTORE refuses it as "Bad data format"; the payload is then decoded here to
tell an empty value from a corrupt one).

A refused RESTORE or FUNCTION RESTORE (BUSYKEY without ``--replace``, a library that exists,
a payload the server cannot read) is reported with its key on stderr and the import goes on;
the exit status is then 4. Any other error (authentication, SELECT of a database the server
does not have, OOM, a lost connection) stops the import with status 3. Exit status 1: the
file cannot be read or is not one Redis 7.0 would load; 2: bad arguments.
"""

from __future__ import annotations

import argparse
import mmap
import os
import socket
import ssl
import sys
import time
from typing import BinaryIO

from server.rdb.functions import dump_libraries
from server.rdb.rdbfile import Aux, End, Key, Library, ModuleData, RdbError, RdbFile, show_key

BATCH_COMMANDS = 512
BATCH_BYTES = 4 << 20
PROGRESS_EVERY_S = 1.0
MAX_REPORTED = 20  # refused keys named one by one; the rest are counted

EXIT_FILE, EXIT_USAGE, EXIT_SERVER, EXIT_REFUSED = 1, 2, 3, 4
# errors about the server or this connection, not about one key or library: they stop the
# import (any other error refuses just the key or library it answers)
_FATAL_CODES = frozenset({"NOAUTH", "NOPERM", "WRONGPASS", "OOM", "READONLY", "MISCONF", "LOADING",
                          "BUSY", "MASTERDOWN", "NOREPLICAS", "CLUSTERDOWN", "MOVED", "ASK",
                          "TRYAGAIN", "CROSSSLOT"})
_FATAL_PREFIXES = ("ERR unknown command", "ERR unknown subcommand", "ERR max number of clients")


def is_fatal(text: str) -> bool:
    return text.split(" ", 1)[0] in _FATAL_CODES or text.startswith(_FATAL_PREFIXES)


class Fatal(Exception):
    """Stops the import: ``str()`` is the message, ``code`` the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class ServerError(Exception):
    """An error reply."""


def encode(args: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Connection:
    """A RESP2 connection that sends a batch of commands and reads their replies."""

    def __init__(self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None) -> None:
        self.where = f"{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=host)
        except (OSError, ssl.SSLError) as e:
            raise Fatal(f"cannot connect to {self.where}: {e}", EXIT_SERVER) from None
        self.sock = sock
        self.file: BinaryIO = sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def _reply(self) -> bytes | int | list[object] | ServerError | None:
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise OSError("the server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            return ServerError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            if len(data) != n + 2:
                raise OSError("the server closed the connection")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return [self._reply() for _ in range(n)] if n >= 0 else None
        raise OSError(f"unexpected reply from the server: {line[:40]!r}")

    def send(self, commands: list[list[bytes]]) -> None:
        try:
            self.sock.sendall(b"".join(encode(c) for c in commands))
        except OSError as e:
            raise Fatal(f"connection to {self.where} lost: {e}", EXIT_SERVER) from None

    def replies(self, n: int) -> list[bytes | int | list[object] | ServerError | None]:
        try:
            return [self._reply() for _ in range(n)]
        except (OSError, ValueError) as e:
            raise Fatal(f"connection to {self.where} lost: {e}", EXIT_SERVER) from None

    def batch(self, commands: list[list[bytes]]) -> list[bytes | int | list[object] | ServerError | None]:
        self.send(commands)
        return self.replies(len(commands))

    def call(self, *args: bytes) -> bytes | int | list[object] | ServerError | None:
        return self.batch([list(args)])[0]


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls:
        return None
    ctx = ssl.create_default_context(cafile=args.cacert)
    if args.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


class Progress:
    def __init__(self, total_bytes: int, quiet: bool, every_s: float) -> None:
        self.total = total_bytes
        self.quiet = quiet
        self.every_s = every_s
        self.start = self.last = time.monotonic()

    def show(self, keys: int, pos: int) -> None:
        now = time.monotonic()
        if self.quiet or now - self.last < self.every_s:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        pct = 100.0 * pos / self.total if self.total else 100.0
        print(f"activekv-load-rdb: {keys} keys, {human(pos)} of {human(self.total)} ({pct:.0f}%), "
              f"{keys / elapsed:.0f} keys/s, {human(int(pos / elapsed))}/s", file=sys.stderr, flush=True)


def human(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class Importer:
    def __init__(self, args: argparse.Namespace, conn: Connection, total_bytes: int) -> None:
        self.args = args
        self.conn = conn
        self.pending: list[list[bytes]] = []
        self.labels: list[str] = []  # per pending command: what a refusal names
        self.inflight: tuple[list[list[bytes]], list[str]] | None = None
        self.pending_bytes = 0
        self.loaded = self.libraries = self.expired = self.empty = self.refused = self.modules = 0
        self.progress = Progress(total_bytes, args.quiet, args.progress)
        self.pos = 0

    def add(self, command: list[bytes], label: str) -> None:
        self.pending.append(command)
        self.labels.append(label)
        self.pending_bytes += sum(len(a) for a in command)
        if len(self.pending) >= BATCH_COMMANDS or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def flush(self, wait: bool = False) -> None:
        """Sends the pending batch, then reads the replies of the one sent before it: one
        batch is in flight while the next is prepared. ``wait``: read every reply."""
        batch = None
        if self.pending:
            self.conn.send(self.pending)
            batch = (self.pending, self.labels)
            self.pending, self.labels, self.pending_bytes = [], [], 0
        if self.inflight is not None:
            previous, self.inflight = self.inflight, None
            self._settle(*previous)
        self.inflight = batch
        if wait and batch is not None:
            self.inflight = None
            self._settle(*batch)

    def _settle(self, commands: list[list[bytes]], labels: list[str]) -> None:
        replies = self.conn.replies(len(commands))
        for command, label, reply in zip(commands, labels, replies, strict=True):
            if not isinstance(reply, ServerError):
                if command[0] == b"FUNCTION":
                    self.libraries += 1
                else:
                    self.loaded += 1
                continue
            text = str(reply)
            if text == "ERR Bad data format" and command[0] == b"RESTORE" and _empty(command[3]):
                self.empty += 1  # Redis's loader skips an empty key ("skipping empty key")
                continue
            if is_fatal(text):
                raise Fatal(f"the server refused {command[0].decode()} ({label}): {text}", EXIT_SERVER)
            self.refused += 1
            if self.refused <= MAX_REPORTED:
                print(f"activekv-load-rdb: {label} not imported: {text}", file=sys.stderr)
            elif self.refused == MAX_REPORTED + 1:
                print("activekv-load-rdb: (further refusals are only counted)", file=sys.stderr)
        self.progress.show(self.loaded, self.pos)

    def run(self, rdb: RdbFile) -> None:
        db = -1
        wanted = self.args.db
        replace = [b"REPLACE"] if self.args.replace else []
        for rec in rdb.records():
            self.pos = rdb.pos
            if isinstance(rec, Library):
                label = "function library " + rec.code.split(b"\n", 1)[0].decode("utf-8", "replace")
                self.add([b"FUNCTION", b"RESTORE", dump_libraries([rec.code]), *replace], label)
            elif isinstance(rec, ModuleData):
                if wanted is not None and rec.db != wanted and rec.key is not None:
                    continue
                self.modules += 1
                if self.modules <= MAX_REPORTED:
                    what = "module aux data" if rec.key is None else f"key {show_key(rec.key)} (db {rec.db})"
                    print(f"activekv-load-rdb: {what} skipped: a value of module type '{rec.module}'",
                          file=sys.stderr)
            elif isinstance(rec, Key):
                if wanted is not None and rec.db != wanted:
                    continue
                now_ms = int(time.time() * 1000)
                if rec.expire_ms != -1 and rec.expire_ms < now_ms:
                    self.expired += 1
                    continue
                if rec.db != db:  # alone: no RESTORE may follow a SELECT that failed
                    self.flush(wait=True)
                    reply = self.conn.call(b"SELECT", b"%d" % rec.db)
                    if isinstance(reply, ServerError):
                        raise Fatal(f"the server refused SELECT {rec.db}: {reply}", EXIT_SERVER)
                    db = rec.db
                cmd = [b"RESTORE", rec.key, b"%d" % max(rec.expire_ms, 0), rec.payload()]
                if rec.expire_ms != -1:
                    cmd.append(b"ABSTTL")
                cmd += replace
                if rec.idle != -1:
                    cmd += [b"IDLETIME", b"%d" % rec.idle]
                elif rec.freq != -1:
                    cmd += [b"FREQ", b"%d" % rec.freq]
                self.add(cmd, f"key {show_key(rec.key)} (db {rec.db})")
        self.flush(wait=True)


def _empty(payload: bytes) -> bool:
    """The payload holds an empty collection (RESTORE refuses it; an RDB load skips it)."""
    import server.rdb.builtin  # noqa: F401  (registers the readers: only needed here)
    import server.rdb.streams  # noqa: F401
    from server.rdb.listpack import FormatError
    from server.rdb.objects import load_payload

    try:
        load_payload(payload)
    except FormatError as e:
        return str(e) == "empty key"
    return False


def _module_note(n: int) -> str:
    return f"{n} module values skipped, " if n else ""


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="activekv-load-rdb",
        description="Import a Redis dump.rdb (RDB versions 1-10, Redis 2.x-7.0) into a running "
                    "activekv region through RESTORE and FUNCTION RESTORE.")
    p.add_argument("file", help="the RDB file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6379)
    p.add_argument("--user", help="ACL user (AUTH user password)")
    p.add_argument("--password", help="password (AUTH); also read from REDISCLI_AUTH")
    p.add_argument("--replace", action="store_true",
                   help="overwrite existing keys and function libraries (RESTORE ... REPLACE)")
    p.add_argument("--db", default="all",
                   help="import only this database of the file (into the same number), or all")
    p.add_argument("--skip-module-keys", action="store_true",
                   help="skip keys holding module values (and module aux data) instead of refusing "
                        "the file")
    p.add_argument("--check", action="store_true",
                   help="only read and verify the file; connect to no server")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--progress", type=float, default=PROGRESS_EVERY_S, metavar="SECONDS",
                   help="seconds between progress lines (default 1)")
    p.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds")
    p.add_argument("--tls", action="store_true", help="connect over TLS")
    p.add_argument("--cacert", help="CA certificate file to verify the server with")
    p.add_argument("--cert", help="client certificate file")
    p.add_argument("--key", help="client private key file")
    p.add_argument("--insecure", action="store_true", help="do not verify the server's certificate")
    args = p.parse_args(argv)
    if args.db == "all":
        args.db = None
    else:
        try:
            args.db = int(args.db)
            if args.db < 0:
                raise ValueError
        except ValueError:
            p.error(f"--db: expected a database number or 'all', got {args.db!r}")
    if args.password is None:
        args.password = os.environ.get("REDISCLI_AUTH")
    if args.user is not None and args.password is None:
        p.error("--user needs --password (or REDISCLI_AUTH)")
    if args.progress < 0 or args.timeout <= 0:
        p.error("--progress must be >= 0 and --timeout > 0")
    return args


def _verify(rdb: RdbFile) -> tuple[int, int, str, str]:
    """The first pass: (keys, libraries, checksum state, redis-ver)."""
    keys = libraries = 0
    checksum, writer = "absent", "unknown"
    for rec in rdb.records():
        if isinstance(rec, Key):
            keys += 1
        elif isinstance(rec, Library):
            libraries += 1
        elif isinstance(rec, Aux) and rec.name == b"redis-ver":
            writer = rec.value.decode("utf-8", "replace")
        elif isinstance(rec, End):
            checksum = rec.checksum
    return keys, libraries, checksum, writer


def _connect(args: argparse.Namespace) -> Connection:
    try:
        tls = _tls_context(args)
    except (OSError, ssl.SSLError) as e:
        raise Fatal(f"TLS setup failed: {e}", EXIT_USAGE) from None
    conn = Connection(args.host, args.port, args.timeout, tls)
    if args.password is not None:
        auth = [b"AUTH", args.password.encode()]
        if args.user is not None:
            auth.insert(1, args.user.encode())
        reply = conn.call(*auth)
        if isinstance(reply, ServerError):
            conn.close()
            raise Fatal(f"authentication failed: {reply}", EXIT_SERVER)
    reply = conn.call(b"PING")
    if isinstance(reply, ServerError):
        conn.close()
        raise Fatal(f"the server at {conn.where} refused PING: {reply}", EXIT_SERVER)
    return conn


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("activekv-load-rdb: interrupted (the keys sent so far stay imported)", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = _parse_args(argv)
    try:
        with open(args.file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data: bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""  # type: ignore[assignment]
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        print(f"activekv-load-rdb: cannot read {args.file}: {reason}", file=sys.stderr)
        return EXIT_FILE
    try:
        rdb = RdbFile(data, skip_modules=args.skip_module_keys)
        keys, libraries, checksum, writer = _verify(rdb)
    except RdbError as e:
        print(f"activekv-load-rdb: {args.file}: {e}", file=sys.stderr)
        return EXIT_FILE
    note = {"ok": "checksum OK", "disabled": "saved with checksum disabled: no check performed",
            "absent": "no checksum before RDB version 5"}[checksum]
    print(f"activekv-load-rdb: {args.file}: RDB version {rdb.version} (written by Redis {writer}), "
          f"{keys} keys, {libraries} function libraries, {size} bytes, {note}", file=sys.stderr)
    if args.check:
        return 0
    started = time.monotonic()
    try:
        conn = _connect(args)
    except Fatal as e:
        print(f"activekv-load-rdb: {e}", file=sys.stderr)
        return e.code
    importer = Importer(args, conn, size)
    try:
        importer.run(rdb)
        code = EXIT_REFUSED if importer.refused else 0
    except Fatal as e:
        print(f"activekv-load-rdb: {e}", file=sys.stderr)
        code = e.code
    except RdbError as e:  # the file changed between the two passes
        print(f"activekv-load-rdb: {args.file}: {e}", file=sys.stderr)
        code = EXIT_FILE
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    print(f"activekv-load-rdb: {'stopped' if code in (EXIT_FILE, EXIT_SERVER) else 'done'}: "
          f"{importer.loaded} keys and {importer.libraries} function libraries imported, "
          f"{importer.expired} expired and {importer.empty} empty keys skipped, "
          f"{_module_note(importer.modules)}{importer.refused} refused, in {elapsed:.1f} s "
          f"({importer.loaded / max(elapsed, 1e-6):.0f} keys/s)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
