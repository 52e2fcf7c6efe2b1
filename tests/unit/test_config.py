"""server.config: config file + flags, CONFIG GET, CONFIG SET."""

from __future__ import annotations

import copy
import os
import socket
from pathlib import Path

import pytest

from server.config import (
    OPTIONS,
    Config,
    ConfigError,
    ConfigSetError,
    config_get,
    config_set,
    load_config,
    split_args,
)
from server.resp import Error


def write(tmp_path: Path, text: str | bytes, name: str = "activekv.conf") -> str:
    p = tmp_path / name
    if isinstance(text, str):
        text = text.encode()
    p.write_bytes(text)
    return str(p)


def error_of(argv: list[str]) -> str:
    with pytest.raises(ConfigError) as ei:
        load_config(argv)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith("activekv-server: ")
    return msg


# ---------------------------------------------------------------- defaults / table


def test_defaults() -> None:
    cfg = load_config([])
    assert cfg == Config()
    assert cfg.port == 6379
    assert cfg.bind == ["127.0.0.1"]
    assert cfg.dir == os.path.abspath(".")
    assert cfg.region == socket.gethostname()
    assert cfg.requirepass == ""
    assert cfg.databases == 16
    assert cfg.maxclients == 10000
    assert cfg.loglevel == "notice"
    assert cfg.logfile == ""
    assert cfg.proto_max_bulk_len == 512 * 1024 * 1024
    assert cfg.client_query_buffer_limit == 1024**3
    assert cfg.timeout == 0
    assert cfg.tcp_keepalive == 300
    assert cfg.hz == 10
    assert cfg.config_file is None


def test_table_matches_dataclass() -> None:
    names = [o.name for o in OPTIONS]
    assert len(names) == len(set(names))
    cfg = Config()
    for o in OPTIONS:
        assert cfg.get(o.name) == o.default() or o.name in ("dir", "region")
        if o.alias:
            assert cfg.get(o.alias) == cfg.get(o.name)
    assert cfg.get("save") == [(3600, 1), (300, 100), (60, 10000)] and cfg.appendonly is False


# ---------------------------------------------------------------- sdssplitargs


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"port 6379", [b"port", b"6379"]),
        (b"  a   b\tc  ", [b"a", b"b", b"c"]),
        (b'a "b c" d', [b"a", b"b c", b"d"]),
        (b"a 'b c'", [b"a", b"b c"]),
        (b'a "x\\n\\x41\\"y"', [b"a", b'x\nA"y']),
        (b"a 'it\\'s'", [b"a", b"it's"]),
        (b"a 'no\\nescape'", [b"a", b"no\\nescape"]),
        (b'a ""', [b"a", b""]),
        (b'ab"cd"', [b"abcd"]),
        (b'a "b"c', None),  # closing quote must be followed by a space
        (b'a "b', None),
        (b"a 'b", None),
        (b"", []),
    ],
)
def test_split_args(line: bytes, expected: list[bytes] | None) -> None:
    assert split_args(line) == expected


# ---------------------------------------------------------------- config file


def test_file_parsing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# a comment\n"
        "\n"
        "   \t\n"
        "   # indented comment\n"
        "port 7000\r\n"
        'requirepass "with space \\x41"\n'
        "bind 10.0.0.1 ::1\n"
        "LogLevel WARNING\n"
        "proto-max-bulk-len 2mb\n"
        "client-query-buffer-limit 2GB\n"
        "region 'eu west'\n"
        "databases 4\n",
    )
    cfg = load_config([path])
    assert cfg.config_file == path
    assert cfg.port == 7000
    assert cfg.requirepass == "with space A"
    assert cfg.bind == ["10.0.0.1", "::1"]
    assert cfg.loglevel == "warning"
    assert cfg.proto_max_bulk_len == 2 * 1024 * 1024
    assert cfg.client_query_buffer_limit == 2 * 1024**3
    assert cfg.region == "eu west"
    assert cfg.databases == 4


def test_relative_config_file_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "port 1\n", "x.conf")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(["x.conf"])
    assert cfg.config_file == str(tmp_path / "x.conf")


def test_later_lines_and_flags_override(tmp_path: Path) -> None:
    path = write(tmp_path, "port 7000\nport 7001\nhz 20\n")
    cfg = load_config([path, "--port", "7002", "--timeout", "5"])
    assert (cfg.port, cfg.hz, cfg.timeout) == (7002, 20, 5)
    cfg = load_config([path, "--port", "1", "--port", "2"])
    assert cfg.port == 2


def test_flags_like_redis() -> None:
    # Several values after one flag; a value split inside a multi-arg option.
    assert load_config(["--bind", "10.0.0.1", "::1"]).bind == ["10.0.0.1", "::1"]
    assert load_config(["--bind", "10.0.0.1 ::1"]).bind == ["10.0.0.1", "::1"]
    assert load_config(["--bind", ""]).bind == []
    # Name and value in one argument.
    assert load_config(["--port 7005"]).port == 7005
    # The argument after a bare flag is its value, even if it starts with "--".
    assert load_config(["--requirepass", "--secret"]).requirepass == "--secret"
    assert load_config(["--requirepass", ""]).requirepass == ""
    assert load_config(["--PORT", "1"]).port == 1


def test_unknown_option(tmp_path: Path) -> None:
    path = write(tmp_path, "port 1\n\nappendonlyy no\n", "x.conf")
    msg = error_of([path])
    assert "unknown option 'appendonlyy'" in msg
    assert f"(line 3 of {path})" in msg
    assert msg.endswith("Bad directive or wrong number of arguments")
    assert error_of(["--nosuch", "1"]) == (
        "activekv-server: unknown option 'nosuch' (command line: --nosuch 1): "
        "Bad directive or wrong number of arguments"
    )
    assert "unknown option 'list-max-ziplist-entries'" in error_of(["--list-max-ziplist-entries", "1", "2"])
    # Redis 7.0 ignores these deprecated directives with two arguments.
    assert load_config(["--list-max-ziplist-entries", "1"]).port == 6379


def test_bad_value_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "port 7000\nport abc\n", "x.conf")
    assert error_of([path]) == (
        f"activekv-server: bad value for 'port' (line 2 of {path}): "
        "argument couldn't be parsed into an integer"
    )


def test_flag_errors_after_file(tmp_path: Path) -> None:
    path = write(tmp_path, "port 7000\n")
    assert error_of([path, "--port", "abc"]) == (
        "activekv-server: bad value for 'port' (command line: --port abc): "
        "argument couldn't be parsed into an integer"
    )


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--port", "70000"], "argument must be between 0 and 65535 inclusive"),
        (["--port", "-1"], "argument must be between 0 and 65535 inclusive"),
        (["--port", "07000"], "argument couldn't be parsed into an integer"),
        (["--port", "+1"], "argument couldn't be parsed into an integer"),
        (["--port", ""], "argument couldn't be parsed into an integer"),
        (["--port", "1", "2"], "wrong number of arguments"),
        (["--port"], "wrong number of arguments"),
        (["--requirepass", "--port", "5"], "wrong number of arguments"),
        (["--databases", "0"], "argument must be between 1 and 2147483647 inclusive"),
        (["--maxclients", "0"], "argument must be between 1 and 4294967295 inclusive"),
        (["--maxclients", "-1"], "argument must be between 1 and 4294967295 inclusive"),
        (["--timeout", "-1"], "argument must be between 0 and 2147483647 inclusive"),
        (["--tcp-keepalive", "1e3"], "argument couldn't be parsed into an integer"),
        (["--hz", "-1"], "argument must be between 0 and 2147483647 inclusive"),
        (
            ["--loglevel", "loud"],
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (["--proto-max-bulk-len", "12x"], "argument must be a memory value"),
        (["--proto-max-bulk-len", "1.5mb"], "argument must be a memory value"),
        (["--proto-max-bulk-len", "-1"], "argument must be a memory value"),
        (
            ["--proto-max-bulk-len", "1k"],
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            ["--client-query-buffer-limit", "99999999999999999999"],
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (["--dir", "/nonexistent/really"], "No such file or directory"),
        (["--bind", *[f"10.0.0.{i}" for i in range(17)]], "Too many bind addresses specified."),
        (["--region", ""], "argument must not be empty"),
    ],
)
def test_bad_values(argv: list[str], reason: str) -> None:
    msg = error_of(argv)
    assert msg.endswith(": " + reason), msg
    assert f"bad value for '{argv[0][2:]}'" in msg


def test_dir_not_a_directory(tmp_path: Path) -> None:
    f = write(tmp_path, "x")
    assert error_of(["--dir", f]).endswith(": Not a directory")
    assert load_config(["--dir", str(tmp_path)]).dir == str(tmp_path)


def test_unbalanced_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, 'port 1\n# ok\nrequirepass "abc\n', "q.conf")
    assert error_of([path]) == (
        f"activekv-server: syntax error (line 3 of {path}): Unbalanced quotes in configuration line"
    )


def test_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.conf")
    assert error_of([missing]) == (
        f"activekv-server: can't open config file '{missing}': No such file or directory"
    )


def test_stray_argument() -> None:
    assert "unknown option 'stray'" in error_of(["--port", "1", "--", "stray"])
    msg = error_of(["-x"])
    assert "unknown option '-x'" in msg


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1048576", 1048576),
        ("1048576b", 1048576),
        ("2048k", 2048000),
        ("1024kb", 1048576),
        ("2m", 2000000),
        ("2M", 2000000),
        ("1mb", 1048576),
        ("1MB", 1048576),
        ("1g", 1000000000),
        ("1G", 1000000000),
        ("1gb", 1073741824),
        ("1Gb", 1073741824),
        ("17179869185gb", 1073741824),  # wraps around 2**64 exactly as Redis's C does
    ],
)
def test_memory_units(value: str, expected: int) -> None:
    assert load_config(["--proto-max-bulk-len", value]).proto_max_bulk_len == expected


def test_hz_is_clamped_like_redis() -> None:
    assert load_config(["--hz", "0"]).hz == 1
    assert load_config(["--hz", "100000"]).hz == 500
    assert load_config(["--hz", "100"]).hz == 100


def test_non_utf8_value_roundtrips(tmp_path: Path) -> None:
    path = write(tmp_path, b"requirepass \xff\xfe\n")
    cfg = load_config([path])
    assert cfg.requirepass.encode("utf-8", "surrogateescape") == b"\xff\xfe"


# ---------------------------------------------------------------- CONFIG GET


def names(pairs: list[tuple[str, str]]) -> list[str]:
    return [n for n, _ in pairs]


def test_config_get_rendering() -> None:
    cfg = load_config(["--bind", "10.0.0.1", "::1", "--dir", "/"])
    got = dict(config_get(cfg, [b"*"]))
    listed = {o.name for o in OPTIONS if not o.hidden} | {o.alias for o in OPTIONS if o.alias}
    assert set(got) == listed and "use-exit-on-panic" not in got and "slaveof" in got
    assert got["proto-max-bulk-len"] == "536870912"
    assert got["client-query-buffer-limit"] == "1073741824"
    assert got["bind"] == "10.0.0.1 ::1"
    assert got["port"] == "6379"
    assert got["loglevel"] == "notice"
    assert got["requirepass"] == ""
    assert got["dir"] == "/"
    cfg.bind = []
    assert config_get(cfg, [b"bind"]) == [("bind", "")]


def test_config_get_patterns() -> None:
    cfg = Config()
    assert config_get(cfg, [b"port"]) == [("port", "6379")]
    assert config_get(cfg, [b"nosuch"]) == []
    assert config_get(cfg, []) == []
    assert sorted(names(config_get(cfg, [b"*bulk*"]))) == ["proto-max-bulk-len"]
    assert sorted(names(config_get(cfg, [b"*MAXc*"]))) == ["maxclients"]
    assert names(config_get(cfg, [b"h?"])) == ["hz"]
    assert names(config_get(cfg, [b"[pq]ort"])) == ["port"]
    assert sorted(names(config_get(cfg, [b"ti?eout"]))) == ["timeout"]
    assert sorted(names(config_get(cfg, [b"hash-*-value"]))) == [
        "hash-max-listpack-value", "hash-max-ziplist-value"]
    assert config_get(cfg, [b"use-exit-on-panic"]) == [("use-exit-on-panic", "no")]  # hidden
    # Several patterns, each option once.
    got = names(config_get(cfg, [b"port", b"p*", b"PORT", b"*o*"]))
    assert len(got) == len(set(got))
    assert got[0] == "port" and "proto-max-bulk-len" in got and "loglevel" in got


def test_config_get_exact_name_keeps_client_spelling() -> None:
    # Redis: a pattern without glob characters is a direct lookup, replied as given.
    assert config_get(Config(), [b"PORT"]) == [("PORT", "6379")]
    assert config_get(Config(), [b"PORT", b"port"]) == [("PORT", "6379")]
    assert config_get(Config(), [b"POR*"]) == [("port", "6379")]


# ---------------------------------------------------------------- CONFIG SET


def set_error(cfg: Config, *args: bytes) -> str:
    with pytest.raises(ConfigSetError) as ei:
        config_set(cfg, list(args))
    assert isinstance(ei.value, Error)
    return ei.value.message


def test_config_set_success_and_changed_names() -> None:
    cfg = Config()
    changed = config_set(cfg, [b"timeout", b"30", b"LOGLEVEL", b"DEBUG", b"hz", b"10"])
    assert changed == ["timeout", "loglevel"]  # hz unchanged
    assert (cfg.timeout, cfg.loglevel, cfg.hz) == (30, "debug", 10)
    assert config_set(cfg, [b"proto-max-bulk-len", b"2mb"]) == ["proto-max-bulk-len"]
    assert config_get(cfg, [b"proto-max-bulk-len"]) == [("proto-max-bulk-len", "2097152")]
    assert config_set(cfg, [b"port", b"7001"]) == ["port"]
    assert config_set(cfg, [b"bind", b"10.0.0.1 ::1"]) == ["bind"]
    assert cfg.bind == ["10.0.0.1", "::1"]
    assert config_set(cfg, [b"bind", b""]) == ["bind"]
    assert cfg.bind == []
    assert config_set(cfg, [b"bind", b"a  b"]) == ["bind"]  # single-space split, as Redis
    assert cfg.bind == ["a", "", "b"]
    assert config_set(cfg, [b"requirepass", b"s3cret"]) == ["requirepass"]
    assert cfg.requirepass == "s3cret"
    config_set(cfg, [b"hz", b"0"])
    assert cfg.hz == 1
    config_set(cfg, [b"hz", b"1000"])
    assert cfg.hz == 500


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([b"foo", b"1"], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        ([b"port"], "ERR wrong number of arguments for 'config|set' command"),
        ([], "ERR wrong number of arguments for 'config|set' command"),
        ([b"port", b"1", b"timeout"], "ERR syntax error"),
        (
            [b"port", b"abc"],
            "ERR CONFIG SET failed (possibly related to argument 'port') - "
            "argument couldn't be parsed into an integer",
        ),
        (
            [b"PORT", b"abc"],
            "ERR CONFIG SET failed (possibly related to argument 'port') - "
            "argument couldn't be parsed into an integer",
        ),
        (
            [b"port", b"70000"],
            "ERR CONFIG SET failed (possibly related to argument 'port') - "
            "argument must be between 0 and 65535 inclusive",
        ),
        (
            [b"port", b"1", b"PORT", b"2"],
            "ERR CONFIG SET failed (possibly related to argument 'PORT') - duplicate parameter",
        ),
        (
            [b"databases", b"4"],
            "ERR CONFIG SET failed (possibly related to argument 'databases') - "
            "can't set immutable config",
        ),
        (
            [b"logfile", b"x"],
            "ERR CONFIG SET failed (possibly related to argument 'logfile') - "
            "can't set immutable config",
        ),
        (
            [b"region", b"x"],
            "ERR CONFIG SET failed (possibly related to argument 'region') - "
            "can't set immutable config",
        ),
        (
            [b"dir", b"/tmp"],
            "ERR CONFIG SET failed (possibly related to argument 'dir') - "
            "can't set protected config",
        ),
        (
            [b"loglevel", b"loud"],
            "ERR CONFIG SET failed (possibly related to argument 'loglevel') - "
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (
            [b"maxclients", b"0"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
            "argument must be between 1 and 4294967295 inclusive",
        ),
        (
            [b"proto-max-bulk-len", b"1k"],
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - "
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            [b"client-query-buffer-limit", b"12x"],
            "ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - "
            "argument must be a memory value",
        ),
        (
            [b"bind", b" ".join(b"10.0.0.%d" % i for i in range(17))],
            "ERR CONFIG SET failed (possibly related to argument 'bind') - "
            "Too many bind addresses specified.",
        ),
        # Name checks come before value checks, in argument order.
        (
            [b"timeout", b"abc", b"foo", b"1"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            [b"timeout", b"abc", b"databases", b"2"],
            "ERR CONFIG SET failed (possibly related to argument 'databases') - "
            "can't set immutable config",
        ),
        (
            [b"logfile", b"x", b"foo", b"1"],
            "ERR CONFIG SET failed (possibly related to argument 'logfile') - "
            "can't set immutable config",
        ),
        (
            [b"foo", b"1", b"logfile", b"x"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            [b"timeout", b"7", b"hz", b"1000", b"hz", b"5"],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter",
        ),
        (
            [b"maxclients", b"10001", b"hz", b"x", b"port", b"y"],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - "
            "argument couldn't be parsed into an integer",
        ),
    ],
)
def test_config_set_errors(args: list[bytes], message: str) -> None:
    cfg = Config()
    before = copy.deepcopy(cfg)
    assert set_error(cfg, *args) == message
    assert cfg == before  # nothing changed


def test_config_set_is_atomic() -> None:
    cfg = Config()
    set_error(cfg, b"timeout", b"5", b"maxclients", b"5", b"port", b"abc")
    assert (cfg.timeout, cfg.maxclients, cfg.port) == (0, 10000, 6379)


def test_config_set_apply_rolls_back() -> None:
    cfg = Config()
    seen: list[list[str]] = []

    def apply(c: Config, changed: list[str]) -> None:
        seen.append(list(changed))
        assert c.port == 7002  # the new values are visible to apply
        raise ConfigSetError(
            "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port"
        )

    with pytest.raises(ConfigSetError):
        config_set(cfg, [b"timeout", b"9", b"port", b"7002"], apply=apply)
    assert seen == [["timeout", "port"]]
    assert (cfg.timeout, cfg.port) == (0, 6379)

    ok: list[list[str]] = []
    assert config_set(cfg, [b"port", b"7003"], apply=lambda c, ch: ok.append(ch)) == ["port"]
    assert ok == [["port"]] and cfg.port == 7003
    # apply is not called when nothing changed
    config_set(cfg, [b"port", b"7003"], apply=lambda c, ch: ok.append(ch))
    assert ok == [["port"]]
