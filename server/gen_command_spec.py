"""Generate ``server/command_spec.json`` from a real Redis 7.0.15.

Run once (and again only when the command list or the reference Redis changes)::

    python -m server.gen_command_spec [--redis-server PATH] [--output PATH]

The script starts a throw-away ``redis-server --port <free> --save '' --appendonly no``
bound to 127.0.0.1, speaks RESP3 over a raw socket (``HELLO 3``) so that every reply
keeps its exact type, fetches ``COMMAND INFO <name>`` and ``COMMAND DOCS <name>`` for
every command in :data:`COMMANDS`, stops the server and writes the JSON file.

JSON format (tagged so both RESP2 and RESP3 can be re-emitted byte for byte):

=====================  =====================================
RESP3 reply            JSON
=====================  =====================================
map ``%``              ``{"@map": [[key, value], ...]}``
set ``~``              ``{"@set": [...]}``
simple string ``+``    ``{"@status": "..."}``
integer ``:``          JSON int
bulk string ``$``      JSON string
array ``*``            JSON list
null ``_``             ``null``
double ``,``           ``{"@double": x}``
boolean ``#``          ``true`` / ``false``
=====================  =====================================

Top level::

    {"redis_version": "7.0.15",
     "generator": "python -m server.gen_command_spec",
     "missing": ["client|setinfo"],            # requested, absent from this Redis
     "commands": {"get": {"info": <COMMAND INFO entry>, "docs": <docs value>}, ...}}

``info`` is the single entry that ``COMMAND INFO get`` wraps in a one-element array;
``docs`` is the value that ``COMMAND DOCS get`` maps ``"get"`` to.  Container commands
(client, config, command, object) keep *all* of Redis's subcommands, nested exactly as
Redis nests them (INFO element 10, DOCS ``"subcommands"`` map).

Order is Redis's everywhere except one place: Redis iterates a container's subcommand
dict, whose hash seed is randomised per process, so the order of subcommands changes
from one ``redis-server`` run to the next.  To keep the file reproducible the generator
sorts subcommands by name (INFO element 10 and the DOCS ``"subcommands"`` map).

Before sorting, every entry is checked: the decoded value re-encoded with
:func:`server.resp.encode` must equal Redis's raw reply byte for byte, in RESP3 and in
RESP2 (fetched on a second connection to the same server process).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from server import resp

REDIS_VERSION = "7.0.15"

#: Commands to record, in this order. ``name`` or ``container`` + its subcommands we use.
COMMANDS: list[str] = """
ping echo hello auth select quit reset
acl acl|setuser acl|getuser acl|deluser acl|list acl|users acl|whoami acl|cat acl|genpass
acl|log acl|save acl|load acl|dryrun acl|help
client client|id client|setname client|getname client|list client|info client|kill
client|setinfo
command command|count command|info command|docs command|list command|getkeys
config config|get config|set config|resetstat
info dbsize flushdb flushall time shutdown
del unlink exists type keys scan randomkey rename renamenx copy touch
expire pexpire expireat pexpireat ttl pttl expiretime pexpiretime persist
object object|encoding
get set setnx setex psetex getset getdel getex mget mset msetnx append strlen getrange
setrange incr decr incrby decrby incrbyfloat setbit getbit bitcount bitpos
sadd srem smembers sismember smismember scard spop srandmember smove sinter sunion sdiff
sinterstore sunionstore sdiffstore sintercard sscan
hset hsetnx hget hmget hmset hgetall hdel hexists hlen hkeys hvals hincrby hincrbyfloat
hstrlen hrandfield hscan
multi exec discard watch unwatch wait
publish subscribe unsubscribe psubscribe punsubscribe pubsub
spublish ssubscribe sunsubscribe monitor
lpush rpush lpop rpop llen lrange lindex lset lrem ltrim linsert lmove lpos
zadd zrem zscore zincrby zcard zrange zrank zrevrank zcount zpopmin zpopmax
zrangebyscore zrevrange zrevrangebyscore zmscore zscan
lpushx rpushx rpoplpush lmpop blpop brpop blmove brpoplpush blmpop
zrangebylex zrevrangebylex zlexcount zremrangebyrank zremrangebyscore zremrangebylex
zrangestore zmpop bzpopmin bzpopmax bzmpop zrandmember zunion zinter zdiff zunionstore
zinterstore zdiffstore zintercard
geoadd geopos geodist geohash georadius georadius_ro georadiusbymember georadiusbymember_ro
geosearch geosearchstore sort sort_ro
dump restore restore-asking migrate move swapdb memory memory|usage memory|stats memory|doctor memory|malloc-stats
memory|purge memory|help
xadd xrange xrevrange xlen xread xdel xtrim xsetid xreadgroup xack xpending xclaim xautoclaim
xgroup xgroup|create xgroup|createconsumer xgroup|delconsumer xgroup|destroy xgroup|setid xgroup|help
xinfo xinfo|stream xinfo|groups xinfo|consumers xinfo|help
slowlog latency role lastsave save bgsave bgrewriteaof lolwut debug
eval evalsha eval_ro evalsha_ro script script|load script|exists script|flush script|kill
script|debug script|help fcall fcall_ro function function|load function|delete function|list
function|flush function|dump function|restore function|stats function|kill function|help
pfadd pfcount pfmerge pfdebug pfselftest
module module|help module|list module|load module|loadex module|unload
bitop bitfield bitfield_ro lcs substr
readonly readwrite asking cluster
cluster|addslots cluster|addslotsrange cluster|bumpepoch cluster|count-failure-reports
cluster|countkeysinslot cluster|delslots cluster|delslotsrange cluster|failover
cluster|flushslots cluster|forget cluster|getkeysinslot cluster|help cluster|info
cluster|keyslot cluster|links cluster|meet cluster|myid cluster|nodes cluster|replicas
cluster|replicate cluster|reset cluster|saveconfig cluster|set-config-epoch cluster|setslot
cluster|shards cluster|slaves cluster|slots
""".split()

DEFAULT_OUTPUT = Path(__file__).with_name("command_spec.json")


# --------------------------------------------------------------------------- RESP reader


class RespReader:
    """Blocking RESP2/RESP3 reader over a socket returning tagged-JSON values."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0
        self.raw_start = 0

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("redis-server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos : end])
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < self.pos + n + 2:
            self._fill()
        data = bytes(self.buf[self.pos : self.pos + n])
        if self.buf[self.pos + n : self.pos + n + 2] != b"\r\n":
            raise ValueError("bad bulk terminator")
        self.pos += n + 2
        return data

    def read(self) -> tuple[Any, bytes]:
        """Read one reply; return (tagged value, the raw bytes it was read from)."""
        start = self.pos
        value = self._value()
        raw = bytes(self.buf[start : self.pos])
        del self.buf[: self.pos]
        self.pos = 0
        return value, raw

    def _value(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return {"@status": rest.decode()}
        if kind == b"-":
            raise RuntimeError(f"redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._value() for _ in range(n)]
        if kind == b"%":
            return {"@map": [[self._value(), self._value()] for _ in range(int(rest))]}
        if kind == b"~":
            return {"@set": [self._value() for _ in range(int(rest))]}
        if kind == b"_":
            return None
        if kind == b",":
            return {"@double": float(rest)}
        if kind == b"#":
            return rest == b"t"
        raise ValueError(f"unsupported RESP type {line!r}")


def encode_command(*args: str) -> bytes:
    out = bytearray(b"*%d\r\n" % len(args))
    for arg in args:
        data = arg.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return bytes(out)


class Conn:
    def __init__(self, port: int, protocol: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = RespReader(self.sock)
        self.hello: Any = None
        if protocol == 3:
            self.hello, _ = self.call("HELLO", "3")

    def call(self, *args: str) -> tuple[Any, bytes]:
        self.sock.sendall(encode_command(*args))
        return self.reader.read()

    def close(self) -> None:
        self.sock.close()


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_redis(binary: str, workdir: str) -> tuple[subprocess.Popen[bytes], int]:
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc, port
            except OSError:
                time.sleep(0.05)
        stop_redis(proc)
    raise RuntimeError("could not start redis-server")


def stop_redis(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- helpers


def map_get(tagged: Any, key: str) -> Any:
    for k, v in tagged["@map"]:
        if k == key:
            return v
    return None


def sort_subcommands(info: Any, docs: Any) -> None:
    """Sort a container's subcommands by name (Redis's own order is per-process random)."""
    subs = info[9]
    if isinstance(subs, dict):
        subs["@set"].sort(key=lambda e: e[0])
    elif subs:
        subs.sort(key=lambda e: e[0])
    for k, v in docs["@map"]:
        if k == "subcommands":
            v["@map"].sort(key=lambda kv: kv[0])


def check_roundtrip(tagged: Any, raw: bytes, resp3: bool, what: str) -> None:
    from server.command_spec import decode

    out = bytearray()
    resp.encode(decode(tagged), out, resp3)
    if bytes(out) != raw:
        raise SystemExit(f"{what}: re-encoding differs from redis (resp3={resp3})")


# --------------------------------------------------------------------------- main


def generate(binary: str) -> dict[str, Any]:
    tops: list[str] = []
    wanted_subs: dict[str, list[str]] = {}
    for name in COMMANDS:
        top, _, sub = name.partition("|")
        if top not in tops:
            tops.append(top)
        if sub:
            wanted_subs.setdefault(top, []).append(name)

    commands: dict[str, Any] = {}
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="activekv-gen-") as workdir:
        proc, port = start_redis(binary, workdir)
        try:
            c3 = Conn(port, 3)
            c2 = Conn(port, 2)
            version = map_get(c3.hello, "version")
            if version != REDIS_VERSION:
                print(
                    f"warning: redis-server is {version}, expected {REDIS_VERSION}", file=sys.stderr
                )
            for top in tops:
                info_wrapped, info_raw3 = c3.call("COMMAND", "INFO", top)
                docs_wrapped, docs_raw3 = c3.call("COMMAND", "DOCS", top)
                _, info_raw2 = c2.call("COMMAND", "INFO", top)
                _, docs_raw2 = c2.call("COMMAND", "DOCS", top)
                entry = info_wrapped[0]
                if entry is None:
                    missing.append(top)
                    continue
                docs = map_get(docs_wrapped, top)
                for raw, resp3 in ((info_raw3, True), (info_raw2, False)):
                    check_roundtrip(info_wrapped, raw, resp3, f"COMMAND INFO {top}")
                for raw, resp3 in ((docs_raw3, True), (docs_raw2, False)):
                    check_roundtrip(docs_wrapped, raw, resp3, f"COMMAND DOCS {top}")
                present = {sub[0] for sub in _members(entry[9])}
                for full in wanted_subs.get(top, []):
                    if full not in present:
                        missing.append(full)
                sort_subcommands(entry, docs)
                commands[top] = {"info": entry, "docs": docs}
            c2.close()
            c3.close()
        finally:
            stop_redis(proc)
    return {
        "redis_version": version,
        "generator": "python -m server.gen_command_spec",
        "missing": missing,
        "commands": commands,
    }


def _members(value: Any) -> list[Any]:
    if isinstance(value, dict):
        members: list[Any] = value["@set"]
        return members
    return list(value)


def dump(spec: dict[str, Any]) -> str:
    """One command per line: compact, yet diffs stay readable."""
    lines = ["{"]
    for key in ("redis_version", "generator", "missing"):
        lines.append(f"{json.dumps(key)}: {json.dumps(spec[key])},")
    lines.append('"commands": {')
    items = list(spec["commands"].items())
    for i, (name, value) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        lines.append(f"{json.dumps(name)}: {text}{sep}")
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    spec = generate(args.redis_server)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(dump(spec), encoding="utf-8")
    os.replace(tmp, args.output)
    print(f"wrote {args.output}: {len(spec['commands'])} commands, missing {spec['missing']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
