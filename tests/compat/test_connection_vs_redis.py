"""Connection commands, dispatch errors and authentication, activekv against a real
redis-server (RESP2 and RESP3, see ``diff``). Authentication uses a separate pair of servers
started with ``--requirepass``. HELLO's ``id`` field is a per-server counter: compared by type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection

PASSWORD = "s3cret"

# Every command of the string, key, expiry, transaction and connection suites.
COMMANDS = [
    "get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "mget", "mset", "msetnx",
    "append", "strlen", "getrange", "setrange", "incr", "decr", "incrby", "decrby", "incrbyfloat",
    "setbit", "getbit", "bitcount", "bitpos", "del", "unlink", "exists", "type", "keys", "scan",
    "randomkey", "rename", "renamenx", "copy", "touch", "expire", "pexpire", "expireat", "pexpireat",
    "ttl", "pttl", "expiretime", "pexpiretime", "persist", "object", "select", "multi", "exec",
    "discard", "watch", "unwatch", "ping", "echo", "hello", "auth", "reset", "quit", "dbsize",
    "flushdb", "flushall",
]


def _hello_fields(reply: Reply) -> dict[object, Reply]:
    if reply.type == "%":
        return {k.value: v for k, v in reply.value}
    assert reply.type == "*"
    items = reply.value
    return {items[i].value: items[i + 1] for i in range(0, len(items), 2)}


def check_hello(ref: Reply, ours: Reply) -> None:
    assert ref.type == ours.type, (ref, ours)
    if ref.type == "-":
        assert ref == ours
        return
    ref_fields, our_fields = _hello_fields(ref), _hello_fields(ours)
    assert list(ref_fields) == list(our_fields)
    for name, value in ref_fields.items():
        if name in ("id", b"id"):
            assert our_fields[name].type == value.type == ":"
        else:
            assert our_fields[name] == value, name


# -- PING / ECHO -----------------------------------------------------------------------------


def test_ping_and_echo(diff: Differential) -> None:
    diff.check_all(("PING",), ("PING", "hello"), ("PING", ""), ("PING", "a", "b"), ("ping",), ("ECHO", "x"),
                   ("ECHO", ""), ("ECHO", b"\x00\xff"), ("ECHO",), ("ECHO", "a", "b"))


# -- HELLO -----------------------------------------------------------------------------------


def test_hello_3_reply_is_a_map_with_the_server_fields(diff: Differential) -> None:
    for args in [("HELLO", "3"), ("HELLO",), ("HELLO", "2"), ("HELLO", "3"), ("HELLO", "3", "SETNAME", "myname")]:
        check_hello(*diff.both(*args))
    check_hello(*diff.both("HELLO", "2"))
    diff.check("PING")


def test_hello_4_is_noproto(diff: Differential) -> None:
    for version in ["4", "1", "0", "-1", "abc", "2.0", "", "99999999999999999999"]:
        diff.check("HELLO", version)
    diff.check("PING")


def test_hello_option_errors(diff: Differential) -> None:
    for opts in [("FOO",), ("AUTH",), ("AUTH", "default"), ("SETNAME",), ("SETNAME", "a b"),
                 ("SETNAME", "bad\nname"), ("AUTH", "default", "x", "FOO"), ("SETNAME", "ok", "EXTRA"),
                 ("AUTH", "nouser", "pw"), ("AUTH", "nouser", "pw", "SETNAME", "a b"),
                 ("SETNAME", "a b", "AUTH", "nouser", "pw")]:
        ref, ours = diff.both("HELLO", str(diff.protocol), *opts)
        check_hello(ref, ours)


def test_hello_auth_without_password_configured(diff: Differential) -> None:
    # The default user is "nopass": any password authenticates it.
    check_hello(*diff.both("HELLO", str(diff.protocol), "AUTH", "default", "anything"))


# -- AUTH without a password -----------------------------------------------------------------


def test_auth_without_a_password_configured(diff: Differential) -> None:
    diff.check_all(("AUTH", "foo"), ("AUTH", "default", "foo"), ("AUTH", "nouser", "foo"),
                   ("AUTH", "a", "b", "c"), ("AUTH",), ("PING",))


# -- SELECT / RESET / QUIT ---------------------------------------------------------------------


def test_reset_clears_client_state(diff: Differential) -> None:
    diff.check_all(("SET", "k", "db0"), ("SELECT", "4"), ("SET", "k", "db4"), ("WATCH", "k"), ("MULTI",),
                   ("SET", "x", "1"), ("RESET",), ("EXEC",), ("GET", "k"), ("RESET", "extra"),
                   ("SELECT", "4"), ("FLUSHDB",), ("SELECT", "0"))
    # RESET also brings the connection back to RESP2.
    check_hello(*diff.both("HELLO", "3"))
    diff.check_all(("RESET",), ("GET", "nokey"), ("PING",))


def test_quit_replies_ok_then_closes(redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    for port in (redis_ref.port, activekv.port):
        conn = RespConnection(port)
        assert conn.call("QUIT") == Reply("+", "OK")
        with pytest.raises(ConnectionError):
            conn.call("PING")
        conn.close()


# -- unknown commands and arity --------------------------------------------------------------


def test_unknown_commands(diff: Differential) -> None:
    diff.check_all(("NOSUCHCMD",), ("nosuchcmd", "a", "b"), ("FOO", "x" * 200), ("FOO", *["arg"] * 50),
                   ("", "a"), ("FOO BAR",), ("FOO", "a\r\nb"), ("OBJECT", "NOSUCHSUB"), ("OBJECT", "ENCODING"),
                   ("GET\x00", "x"))


def test_wrong_arity_for_every_command(diff: Differential) -> None:
    for name in COMMANDS:
        if name == "hello":
            check_hello(*diff.both(name))
        elif name not in ("multi", "quit", "reset"):  # these would change the connection
            diff.check(name)
        if name != "quit":
            for n in range(1, 6):
                diff.check(name, *[f"a{i}" for i in range(n)])
    diff.check_all(("DISCARD",), ("UNWATCH",))


# -- AUTH with requirepass -------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_redis("--requirepass", PASSWORD) as ref, start_activekv("--requirepass", PASSWORD) as ours:
        yield ref, ours


@pytest.fixture
def adiff(auth_pair: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    d = Differential.__new__(Differential)
    d.protocol = 2
    d.ref = RespConnection(auth_pair[0].port)
    d.ours = RespConnection(auth_pair[1].port)
    yield d
    d.close()


def test_noauth_before_authentication(adiff: Differential) -> None:
    adiff.check_all(("PING",), ("GET", "k"), ("SET", "k", "v"), ("SELECT", "1"), ("MULTI",), ("EXEC",),
                    ("NOSUCHCMD", "x"), ("GET",), ("ECHO", "x"), ("DBSIZE",), ("WATCH", "k"), ("RESET",),
                    ("PING",))


def test_auth_wrong_password_and_two_arguments(adiff: Differential) -> None:
    adiff.check_all(("AUTH", "wrong"), ("AUTH", "default", "wrong"), ("AUTH", "nouser", PASSWORD),
                    ("AUTH", "a", "b", "c"), ("AUTH",), ("GET", "k"), ("AUTH", "default", PASSWORD),
                    ("GET", "k"), ("AUTH", "wrong"), ("GET", "k"), ("RESET",), ("GET", "k"),
                    ("AUTH", PASSWORD), ("PING",), ("AUTH", "DEFAULT", PASSWORD))


def test_hello_before_auth_and_hello_with_auth(adiff: Differential) -> None:
    for args in [("HELLO",), ("HELLO", "2"), ("HELLO", "3"), ("HELLO", "3", "SETNAME", "x"),
                 ("HELLO", "2", "AUTH", "default", "wrong"), ("HELLO", "2", "AUTH", "nouser", PASSWORD),
                 ("HELLO", "4", "AUTH", "default", PASSWORD), ("HELLO", "2", "AUTH", "default", PASSWORD, "SETNAME",
                                                                "a b"),
                 ("HELLO", "2", "AUTH", "default"), ("HELLO", "2", "AUTH", "default", PASSWORD),
                 ("HELLO", "2", "SETNAME", "named")]:
        check_hello(*adiff.both(*args))
    adiff.check("PING")


def test_hello_auth_takes_effect_even_if_a_later_option_fails(adiff: Differential) -> None:
    check_hello(*adiff.both("HELLO", "2", "AUTH", "default", PASSWORD, "BADOPT"))
    adiff.check("PING")


def test_multi_before_auth_is_rejected_then_exec_without_multi(adiff: Differential) -> None:
    adiff.check_all(("MULTI",), ("SET", "k", "v"), ("EXEC",), ("DISCARD",), ("AUTH", PASSWORD), ("EXEC",),
                    ("MULTI",), ("AUTH", "wrong"), ("EXEC",))


def test_quit_before_auth(auth_pair: tuple[ServerProcess, ServerProcess]) -> None:
    for server in auth_pair:
        conn = RespConnection(server.port)
        assert conn.call("QUIT") == Reply("+", "OK")
        with pytest.raises(ConnectionError):
            conn.call("PING")
        conn.close()
