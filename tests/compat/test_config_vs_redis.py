"""server.config / server.glob against a real redis-server (make test installs it).

One redis-server per module, on a free loopback port, no persistence, stopped at the end.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis  # noqa: E402

from server.config import Config, ConfigError, ConfigSetError, config_get, config_set, load_config
from server.glob import matches
from tests.unit.test_glob import CASES

REDIS_SERVER = shutil.which("redis-server")

# Options both servers have, with the same defaults.
SHARED_DEFAULTS = [
    "requirepass",
    "databases",
    "maxclients",
    "loglevel",
    "logfile",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "timeout",
    "tcp-keepalive",
    "hz",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def r(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    assert REDIS_SERVER is not None
    d = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(d), "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _config_get(r: object, *patterns: str | bytes) -> dict[str, str]:
    """CONFIG GET through redis-py, which already turns the reply into a str dict."""
    return dict(r.config_get(*patterns))  # type: ignore[attr-defined]


def redis_error(r: object, *args: bytes) -> str | None:
    try:
        r.execute_command("CONFIG", "SET", *args)  # type: ignore[attr-defined]
    except redis.ResponseError as e:
        return "ERR " + str(e) if not str(e).startswith(("ERR", "NOAUTH")) else str(e)
    return None


def our_error(*args: bytes) -> str | None:
    try:
        config_set(Config(), list(args))
    except ConfigSetError as e:
        return e.message
    return None


# ------------------------------------------------------------------------------ glob


GLOB_KEYS = sorted({name for _, name, _ in CASES} | {b"abc", b"aXc", b"hello", b"\xe9t\xe9"})


@pytest.fixture(scope="module")
def keyed(r: object) -> object:
    r.flushall()  # type: ignore[attr-defined]
    for k in GLOB_KEYS:
        r.set(k, 1)  # type: ignore[attr-defined]
    return r


def _keys(r: object, pattern: bytes) -> set[bytes]:
    return set(r.keys(pattern))  # type: ignore[attr-defined]


def _ours(pattern: bytes) -> set[bytes]:
    got = {k for k in GLOB_KEYS if matches(pattern, k)}
    if pattern == b"*":  # KEYS/SCAN's own fast path for the lone "*"
        got = set(GLOB_KEYS)
    return got


def test_glob_table_vs_keys(keyed: object) -> None:
    for pattern in sorted({p for p, _, _ in CASES}):
        assert _ours(pattern) == _keys(keyed, pattern), pattern


def test_glob_fuzz_vs_keys(keyed: object) -> None:
    rnd = random.Random(20240601)
    alphabet = b"ab*?[]^-\\\xff\x00"
    for _ in range(400):
        pattern = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 8)))
        assert _ours(pattern) == _keys(keyed, pattern), pattern


def test_glob_nesting_limit_vs_keys(r: object) -> None:
    for n in (1000, 1001):
        key = b"a" * n + b"z"
        r.set(key, 1)  # type: ignore[attr-defined]
        try:
            pattern = b"a*" * n + b"z"
            assert (key in _keys(r, pattern)) is matches(pattern, key)
        finally:
            r.delete(key)  # type: ignore[attr-defined]


def test_glob_nocase_vs_config_get(r: object) -> None:
    names = set(_config_get(r, "*"))
    for pattern in ["*MAX*", "[A-C]*", "?Z", "H?", "*-[k-M]*", "[^a-s]*", "P[O]*", "*\\-*"]:
        want = {n for n in names if matches(pattern.encode(), n.encode(), True)}
        assert set(_config_get(r, pattern)) == want, pattern


# ------------------------------------------------------------------------------ CONFIG GET


def test_config_get_defaults_render_like_redis(r: object) -> None:
    theirs_map = _config_get(r, *SHARED_DEFAULTS)
    ours = dict(config_get(Config(), [n.encode() for n in SHARED_DEFAULTS]))
    assert ours == theirs_map


def test_config_get_exact_name_spelling(r: object) -> None:
    assert list(_config_get(r, "HZ")) == [n for n, _ in config_get(Config(), [b"HZ"])]


# ------------------------------------------------------------------------------ CONFIG SET


FAILING: list[list[bytes]] = [
    [b"foo", b"1"],
    [b"timeout", b"1", b"timeout"],
    [b"port", b"abc"],
    [b"PORT", b"abc"],
    [b"port", b"70000"],
    [b"port", b"-1"],
    [b"port", b"07000"],
    [b"port", b"+1"],
    [b"port", b" 1"],
    [b"port", b""],
    [b"port", b"1.0"],
    [b"port", b"99999999999999999999"],
    [b"port", b"1", b"port", b"2"],
    [b"port", b"1", b"PORT", b"2"],
    [b"databases", b"4"],
    [b"logfile", b"x"],
    [b"dir", b"/tmp"],
    [b"maxclients", b"0"],
    [b"maxclients", b"-1"],
    [b"maxclients", b"1e3"],
    [b"maxclients", b"4294967296"],
    [b"timeout", b"-1"],
    [b"timeout", b"0x10"],
    [b"timeout", b"2147483648"],
    [b"tcp-keepalive", b"-1"],
    [b"hz", b"-1"],
    [b"loglevel", b"foo"],
    [b"loglevel", b""],
    [b"loglevel", b"notice warning"],
    [b"proto-max-bulk-len", b"1k"],
    [b"proto-max-bulk-len", b"12x"],
    [b"proto-max-bulk-len", b"0"],
    [b"proto-max-bulk-len", b"-1"],
    [b"proto-max-bulk-len", b"1.5mb"],
    [b"proto-max-bulk-len", b" 2mb"],
    [b"proto-max-bulk-len", b"2 mb"],
    [b"proto-max-bulk-len", b"2b"],
    [b"proto-max-bulk-len", b"kb"],
    [b"proto-max-bulk-len", b""],
    [b"proto-max-bulk-len", b"99999999999999999999"],
    [b"proto-max-bulk-len", b"9223372036854775808"],
    [b"proto-max-bulk-len", b"17179869184gb"],
    [b"client-query-buffer-limit", b"1"],
    [b"client-query-buffer-limit", b"99999999999999999999"],
    [b"client-query-buffer-limit", b"9223372036854775808"],
    [b"client-query-buffer-limit", b"1xb"],
    [b"bind", b" ".join(b"10.0.0.%d" % i for i in range(17))],
    [b"timeout", b"5", b"foo", b"1"],
    [b"timeout", b"abc", b"foo", b"1"],
    [b"timeout", b"5", b"port", b"abc"],
    [b"timeout", b"abc", b"databases", b"2"],
    [b"logfile", b"x", b"foo", b"1"],
    [b"foo", b"1", b"logfile", b"x"],
    [b"timeout", b"1", b"logfile", b"x"],
    [b"timeout", b"7", b"hz", b"1000", b"hz", b"5"],
    [b"maxclients", b"10001", b"hz", b"x"],
    [b"databases", b"1", b"databases", b"2"],
]


@pytest.mark.parametrize("args", FAILING, ids=lambda a: b" ".join(a).decode("latin-1")[:60])
def test_config_set_errors_match_redis(r: object, args: list[bytes]) -> None:
    before = _config_get(r, "*")
    theirs = redis_error(r, *args)
    assert theirs is not None, "redis accepted it; the case list is wrong"
    assert our_error(*args) == theirs
    # Redis's own all-or-nothing, for reference
    assert _config_get(r, "*") == before


SUCCEEDING: list[list[bytes]] = [
    [b"timeout", b"30"],
    [b"tcp-keepalive", b"0"],
    [b"hz", b"0"],
    [b"hz", b"1000"],
    [b"hz", b"42"],
    [b"loglevel", b"WARNING"],
    [b"loglevel", b"Debug"],
    [b"maxclients", b"500"],
    [b"proto-max-bulk-len", b"2MB"],
    [b"proto-max-bulk-len", b"1G"],
    [b"proto-max-bulk-len", b"2048kb"],
    [b"proto-max-bulk-len", b"1048576"],
    [b"proto-max-bulk-len", b"17179869185gb"],
    [b"client-query-buffer-limit", b"1mb"],
    [b"client-query-buffer-limit", b"3g"],
    [b"timeout", b"1", b"hz", b"20", b"loglevel", b"verbose"],
]


@pytest.mark.parametrize("args", SUCCEEDING, ids=lambda a: b" ".join(a).decode())
def test_config_set_values_render_like_redis(r: object, args: list[bytes]) -> None:
    assert redis_error(r, *args) is None
    cfg = Config()
    config_set(cfg, args)
    names = args[0::2]
    assert dict(config_get(cfg, names)) == _config_get(r, *names)


# ------------------------------------------------------------------------------ start-up errors


def _redis_startup_error(argv: list[str]) -> tuple[int | None, str]:
    assert REDIS_SERVER is not None
    p = subprocess.run(
        [REDIS_SERVER, *argv], capture_output=True, text=True, timeout=10, check=False
    )
    assert p.returncode != 0, "redis-server accepted it; the case list is wrong"
    out = p.stderr + p.stdout
    m = re.search(r"at line (\d+)", out)
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    return (int(m.group(1)) if m else None), lines[-1]


STARTUP_FAILING: list[list[str]] = [
    ["--port", "abc"],
    ["--port", "70000"],
    ["--port"],
    ["--port", "1", "2"],
    ["--requirepass", "--port", "5"],
    ["--nosuch", "1"],
    ["--databases", "0"],
    ["--maxclients", "0"],
    ["--loglevel", "foo"],
    ["--loglevel", "WARNING", "notice"],
    ["--proto-max-bulk-len", "12x"],
    ["--proto-max-bulk-len", "1k"],
    ["--client-query-buffer-limit", "-1"],
    ["--timeout", "-1"],
    ["--hz", "x"],
    ["--dir", "/nonexistent/really"],
    ["--dir", "/etc/hostname"],
    ["--bind", *[f"10.0.0.{i}" for i in range(17)]],
]


@pytest.mark.parametrize("argv", STARTUP_FAILING, ids=" ".join)
def test_startup_error_reason_matches_redis(argv: list[str]) -> None:
    _, reason = _redis_startup_error(argv)
    with pytest.raises(ConfigError) as ei:
        load_config(argv)
    assert str(ei.value).endswith(": " + reason), (str(ei.value), reason)


def test_startup_file_errors_match_redis(tmp_path: Path) -> None:
    for i, text in enumerate(
        [
            "port 7000\nport abc\n",
            "# c\n\n  \nappendonlyx no\n",
            'port 1\nrequirepass "abc\n',
            "port 1\n  hz 0x10\n",
            "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
        ]
    ):
        path = tmp_path / f"c{i}.conf"
        path.write_text(text)
        line, reason = _redis_startup_error([str(path)])
        with pytest.raises(ConfigError) as ei:
            load_config([str(path)])
        msg = str(ei.value)
        assert msg.endswith(": " + reason), (msg, reason)
        assert f"(line {line} of {path})" in msg


def test_missing_config_file_matches_redis(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.conf")
    _, last = _redis_startup_error([missing])
    with pytest.raises(ConfigError) as ei:
        load_config([missing])
    assert last.endswith(f"can't open config file '{missing}': No such file or directory")
    assert str(ei.value).endswith(f"can't open config file '{missing}': No such file or directory")
