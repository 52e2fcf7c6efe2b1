"""Redis 7.0's whole parameter table: CONFIG GET * and CONFIG SET of every parameter, against a
real redis-server started with defaults (only port, bind and dir given), and the stock Debian
redis.conf accepted at start."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import OPTIONS
from server.harness.processes import ServerProcess, free_port, start_activekv
from tests.respclient import RespConnection, encode_command

# Values that depend on the process (or are activekv's documented defaults).
DIFFERENT = {"port", "dir", "bind", "save", "logfile", "pidfile", "daemonize"}
# activekv's own parameters (not in Redis).
OURS = {"region", "peer", "peer-password", "peer-user", "repl-log-retention", "peer-timeout",
        "oplog-truncate-corrupt", "repl-log-segment-size", "snapshot-every",
        "snapshot-min-interval", "debug-disk-faults"}
# CONFIG SET of these would cut our connection or change the process: bad values only.
BAD_ONLY = {"port", "bind", "requirepass", "maxclients", "timeout", "appendonly", "save",
            "appendfsync", "loglevel", "client-query-buffer-limit", "proto-max-bulk-len",
            "maxmemory", "maxmemory-clients", "hz", "tls-port", "masterauth", "oom-score-adj",
            "oom-score-adj-values"}

BAD = ["", "abc", "-1", "-2001", "1%", "101%", "99999999999999999999", "-9223372036854775809",
       "maybe", "1 2", "a b c d", "normal 1 2 x", "q", "50 101", "{bad}", "a/b", "x y"]
GOOD_INT = ["0", "1", "7", "65535", "65536", "2147483647", "2147483648", "-2147483648",
            "9223372036854775807", "1k", "1kb", "2mb", "1gb", "0777", "10%"]
GOOD = {
    "bool": ["yes", "no", "YES"],
    "enum": [],
    "other": ["x", "", "50 99", "0 100 200", "normal 100mb 64mb 3", "replica 1mb 2k 0", "pubsub 1 1 1",
              "AKE", "g$lzxE", "Ex", "{title} {port}", "host.example-1", "1.5 2.25 100"],
}


def _start_redis(port: int, workdir: str, *args: str) -> ServerProcess:
    exe = shutil.which("redis-server")
    assert exe is not None
    return ServerProcess([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
                          *args], port, workdir)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RespConnection, RespConnection]]:
    rdir = str(tmp_path_factory.mktemp("redis"))
    with _start_redis(free_port(), rdir) as ref, start_activekv() as ours:
        a, b = RespConnection(ref.port), RespConnection(ours.port)
        yield a, b
        a.close()
        b.close()


def _get(conn: RespConnection, *patterns: str) -> dict[str, str]:
    flat = conn.call("CONFIG", "GET", *patterns).plain()
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def test_config_get_star_is_redis_table(pair: tuple[RespConnection, RespConnection]) -> None:
    ref, ours = (_get(c, "*") for c in pair)
    assert set(ref) == set(ours) - OURS
    for name, value in ref.items():
        if name not in DIFFERENT:
            assert ours[name] == value, name
    assert ours["save"] == "3600 1 300 100 60 10000" == ref["save"] or ours["save"] == ""


def _kind(name: str) -> str:
    opt = next(o for o in OPTIONS if name in (o.name, o.alias))
    kind = type(opt.type).__name__
    if kind in ("IntType", "MemoryType", "OctalType", "PercentMemoryType"):
        return "int"
    if kind in ("BoolType", "RefusedBoolType"):
        return "bool"
    if kind in ("EnumType", "EnumAliasType"):
        return "enum"
    return "other"


def _names() -> list[str]:
    skip = OURS | {"port", "bind", "dir"}  # tests/compat/test_admin_vs_redis.py, integration
    names = [n for o in OPTIONS if o.name not in skip for n in (o.name, o.alias) if n]
    return sorted(names)


@pytest.mark.parametrize("name", _names())
def test_config_set_every_parameter(pair: tuple[RespConnection, RespConnection], name: str) -> None:
    ref, ours = pair
    kind = _kind(name)
    values = list(BAD)
    if name.split("-")[0] not in ("port",) and name not in BAD_ONLY:
        if kind == "enum":
            err = ref.call("CONFIG", "SET", name, "nosuch-value").value
            values += [v.strip() for v in str(err).split("following: ", 1)[-1].split(",")]
        else:
            values += GOOD_INT if kind == "int" else GOOD[kind]
    script = b"".join(encode_command(("CONFIG", "SET", name, v)) + encode_command(("CONFIG", "GET", name))
                      for v in values)
    for conn in pair:
        conn.send_raw(script)  # pipelined: one round trip per server
    for value in values:
        want, got = (conn.read_reply() for conn in pair)
        assert got == want, (name, value)
        want, got = (conn.read_reply() for conn in pair)
        assert got == want, (name, value)


def test_config_set_several_atomically(pair: tuple[RespConnection, RespConnection]) -> None:
    for args in (("hash-max-ziplist-value", "10", "zset-max-listpack-entries", "x"),
                 ("slowlog-max-len", "5", "databases", "3"),
                 ("latency-monitor-threshold", "5", "slowlog-log-slower-than", "7"),
                 ("hash-max-ziplist-value", "11", "hash-max-listpack-value", "12"),
                 ("hz", "5", "HZ", "6"), ("slaveof", "no one")):
        replies = [c.call("CONFIG", "SET", *args) for c in pair]
        assert replies[0] == replies[1], args
        names = list(args[::2])
        assert _get(pair[0], *names) == _get(pair[1], *names), args


STOCK = Path("/etc/redis/redis.conf")


def _local_stock_conf(tmp: Path) -> Path:
    """Debian's stock redis.conf, every line, with the host paths made local."""
    text = STOCK.read_text()
    subs = {"dir": str(tmp), "logfile": str(tmp / "server.log"), "pidfile": str(tmp / "r.pid"),
            "daemonize": "no", "port": str(free_port())}
    for key, value in subs.items():
        text, n = re.subn(rf"^{key} .*$", f"{key} {value}", text, flags=re.M)
        assert n == 1, key
    out = tmp / "redis.conf"
    out.write_text(text)
    return out


def test_stock_redis_conf_starts_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _local_stock_conf(tmp_path)
    match = re.search(r"^port (\d+)$", conf.read_text(), re.M)
    assert match is not None
    port = int(match.group(1))
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = [sys.executable, "-m", "server", str(conf), "--region", "stock"]
    proc = ServerProcess(argv, port, str(tmp_path))
    try:
        conn = RespConnection(port)
        got = _get(conn, "appendfilename", "hash-max-listpack-entries", "client-output-buffer-limit",
                   "dir", "save", "daemonize")
        assert got["appendfilename"] == "appendonly.aof"
        assert got["hash-max-listpack-entries"] == "512"
        assert got["client-output-buffer-limit"] == (
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        assert got["dir"] == str(tmp_path) and got["daemonize"] == "no"
        assert (tmp_path / "r.pid").read_text() == f"{proc.proc.pid}\n"  # pidfile written
        conn.close()
    finally:
        proc.stop()
    assert not (tmp_path / "r.pid").exists()  # and removed at exit


def test_encoding_thresholds_drive_object_encoding(pair: tuple[RespConnection, RespConnection]) -> None:
    """OBJECT ENCODING follows the *-max-* parameters (aliases included), as in Redis (values
    set before the keys are written: Redis converts once and never back)."""
    settings = ("hash-max-ziplist-entries", "3", "hash-max-listpack-value", "5",
                "set-max-intset-entries", "2", "zset-max-listpack-entries", "2",
                "zset-max-ziplist-value", "4")
    writes = [
        ("HSET", "h1", "a", "1", "b", "2", "c", "3"), ("HSET", "h2", "a", "1", "b", "2", "c", "3", "d", "4"),
        ("HSET", "h3", "a", "123456"), ("HSET", "h4", "abcdef", "1"),
        ("SADD", "s1", "1", "2"), ("SADD", "s2", "1", "2", "3"), ("SADD", "s3", "x"),
        ("ZADD", "z1", "1", "a", "2", "b"), ("ZADD", "z2", "1", "a", "2", "b", "3", "c"),
        ("ZADD", "z3", "1", "abcde"), ("ZADD", "z4", "1", "abcd"),
        ("SET", "n", "12345"), ("SET", "e", "x" * 44), ("SET", "r", "x" * 45),
        ("RPUSH", "l", "a"),
    ]
    for conn in pair:
        # test_config_set_every_parameter left random values (min-replicas-to-write would
        # make Redis refuse writes)
        conn.call("CONFIG", "SET", "min-replicas-to-write", "0", "maxmemory", "0")
        conn.call("FLUSHALL")
        assert conn.call("CONFIG", "SET", *settings).value == "OK"
        for cmd in writes:
            conn.call(*cmd)
    for key in ("h1", "h2", "h3", "h4", "s1", "s2", "s3", "z1", "z2", "z3", "z4", "n", "e", "r", "l"):
        want, got = (conn.call("OBJECT", "ENCODING", key) for conn in pair)
        assert got == want, key
    for conn in pair:
        conn.call("FLUSHALL")


REWRITE_CONF = """# top comment
hz 20
slaveof no one
save 100 1
save 200 2
maxmemory 2mb



hash-max-ziplist-entries 64
client-output-buffer-limit normal 1mb 2 3
   # indented comment
appendfsync always
"""
REWRITE_SETS = [("timeout", "5"), ("hz", "10"), ("maxmemory", "1gb"), ("notify-keyspace-events", "KEA"),
                ("save", "300 10"), ("slowlog-max-len", "64"), ("client-output-buffer-limit", "pubsub 1 2 3"),
                ("appendfsync", "everysec"), ("maxmemory-clients", "5%"), ("proc-title-template", "{title}")]
LOCAL = ("port ", "dir ", "logfile ", "pidfile ", "region ", "user ", "daemonize ", "bind ")


def _rewritten(path: Path) -> tuple[list[str], set[str]]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith(LOCAL)]
    if "# Generated by CONFIG REWRITE" not in lines:
        return lines, set()
    at = lines.index("# Generated by CONFIG REWRITE")
    return lines[:at], set(lines[at + 1:])


def test_config_rewrite_like_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = []
    for who in ("redis", "ours"):
        d = tmp_path / who
        d.mkdir()
        (d / "a.conf").write_text(REWRITE_CONF)
        paths.append(d / "a.conf")
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    exe = shutil.which("redis-server")
    assert exe is not None
    rport, oport = free_port(), free_port()
    ref = ServerProcess([exe, str(paths[0]), "--port", str(rport), "--bind", "127.0.0.1",
                         "--dir", str(paths[0].parent)], rport, str(paths[0].parent))
    try:
        ours = ServerProcess([sys.executable, "-m", "server", str(paths[1]), "--port", str(oport),
                              "--dir", str(paths[1].parent), "--region", "rw"], oport, str(paths[1].parent))
        try:
            conns = [RespConnection(rport), RespConnection(oport)]
            for name, value in REWRITE_SETS:
                replies = [c.call("CONFIG", "SET", name, value) for c in conns]
                assert replies[0] == replies[1], name
            replies = [c.call("CONFIG", "REWRITE") for c in conns]
            assert replies[0] == replies[1] == replies[0]._replace(type="+", value="OK")
            for c in conns:
                c.close()
        finally:
            ours.stop()
    finally:
        ref.stop()
    ref_head, ref_tail = _rewritten(paths[0])
    our_head, our_tail = _rewritten(paths[1])
    assert our_head == ref_head, "\n".join(map(repr, (our_head, ref_head)))
    assert our_tail == ref_tail


def test_config_rewrite_without_file(pair: tuple[RespConnection, RespConnection]) -> None:
    ref, ours = (c.call("CONFIG", "REWRITE") for c in pair)
    assert ours == ref and ref.type == "-"
