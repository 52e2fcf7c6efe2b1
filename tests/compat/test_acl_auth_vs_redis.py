"""AUTH / HELLO AUTH with ACL users, NOPERM errors (commands, subcommands, first-args, keys,
selectors, MULTI/EXEC), ACL LOG entries, WHOAMI, CLIENT LIST's ``user=`` and a deleted user's
connections, against a real redis-server, RESP2 and RESP3."""

from __future__ import annotations

import re

import pytest

from tests.compat.acl_helpers import AclDiff
from tests.respclient import Reply, RespConnection


def both(pair: tuple[RespConnection, RespConnection], *args: object) -> Reply:
    ref, ours = pair[0].call(*args), pair[1].call(*args)
    assert ours == ref, f"{args!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"
    return ours


def test_auth_forms(adiff: AclDiff) -> None:
    adiff.check_all(
        ("ACL", "SETUSER", "alice", "on", ">apw", "+@all", "~*"),
        ("ACL", "SETUSER", "bob", "off", ">bpw", "+@all"),
        ("ACL", "SETUSER", "carol", "on", "nopass", "+@all"),
        ("ACL", "SETUSER", "dave", "on", "+@all"),  # no password: cannot log in
        ("AUTH", "alice", "wrong"), ("AUTH", "nobody", "x"), ("AUTH", "bob", "bpw"),
        ("AUTH", "dave", ""), ("AUTH", "x"), ("AUTH", "a", "b", "c"),
        ("AUTH", "carol", "anything"), ("ACL", "WHOAMI"),
        ("AUTH", "alice", "apw"), ("ACL", "WHOAMI"),
        ("HELLO", "2", "AUTH", "alice", "bad"), ("ACL", "WHOAMI"),
        ("AUTH", "default", "whatever"), ("ACL", "WHOAMI"),
    )
    ref, ours = adiff.both("HELLO", str(adiff.protocol), "AUTH", "carol", "x")
    assert ref.type == ours.type
    adiff.check("ACL", "WHOAMI")
    adiff.check("RESET")
    adiff.check("ACL", "WHOAMI")


def test_requirepass_is_the_default_users_password(adiff: AclDiff) -> None:
    fresh = adiff.connect()
    adiff.check_all(("CONFIG", "SET", "requirepass", "s3cret"), ("AUTH", "s3cret"))
    adiff.check_norm("ACL", "GETUSER", "default")
    new = adiff.connect()  # connected while a password is required
    both(new, "GET", "k")
    both(new, "ACL", "WHOAMI")
    both(new, "AUTH", "wrong")
    both(new, "AUTH", "default", "s3cret")
    both(new, "GET", "k")
    both(fresh, "GET", "k")  # connected before: stays authenticated
    adiff.check_all(("ACL", "SETUSER", "default", ">second"), ("CONFIG", "GET", "requirepass"))
    adiff.check_norm("ACL", "LIST")
    late = adiff.connect()
    both(late, "AUTH", "second")
    both(late, "ACL", "WHOAMI")
    adiff.check_all(("ACL", "SETUSER", "default", "off"))
    off = adiff.connect()
    both(off, "AUTH", "second")
    both(off, "PING")
    adiff.check_all(("ACL", "SETUSER", "default", "on", "nopass"), ("CONFIG", "SET", "requirepass", ""),
                    ("AUTH", "x"))
    adiff.check_norm("ACL", "GETUSER", "default")


def test_noperm_commands_and_keys(adiff: AclDiff) -> None:
    adiff.check_all(
        ("SET", "k1", "v"), ("SET", "r1", "v"), ("SET", "w1", "v"),
        ("ACL", "SETUSER", "app", "on", ">pw", "-@all", "+get", "+set", "+mget", "+client|id",
         "+select|0", "+multi", "+exec", "+rename", "+lmove", "+ping", "~k*", "%R~r*", "%W~w*",
         "(+del ~d*)"),
    )
    app = adiff.connect()
    for args in [
        ("AUTH", "app", "pw"), ("GET", "k1"), ("GET", "r1"), ("GET", "w1"), ("GET", "x"),
        ("SET", "k2", "v"), ("SET", "w2", "v"), ("SET", "r2", "v"), ("SET", "w2", "v", "GET"),
        ("MGET", "k1", "r1"), ("MGET", "k1", "x"), ("DEL", "k1"), ("DEL", "d1"), ("DEL", "d1", "k1"),
        ("CLIENT", "ID"), ("CLIENT", "INFO"), ("CLIENT", "nosuch"), ("SELECT", "0"), ("SELECT", "1"),
        ("select", "0"), ("RENAME", "r1", "w9"), ("RENAME", "k1", "k9"), ("FLUSHALL",),
        ("CONFIG", "GET", "port"), ("ACL", "WHOAMI"), ("ACL", "LIST"), ("nosuch",), ("GET",),
        ("AUTH", "app", "pw"), ("HELLO",), ("PING",),
    ]:
        ref, ours = app[0].call(*args), app[1].call(*args)
        if args == ("HELLO",):
            assert ref.type == ours.type
            continue
        if args == ("CLIENT", "ID"):
            assert ref.type == ours.type == ":"
            continue
        assert ours == ref, f"{args!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"


def test_noperm_in_transactions(adiff: AclDiff) -> None:
    adiff.check("ACL", "SETUSER", "tx", "on", ">pw", "+@all", "-flushall", "~k*")
    tx = adiff.connect()
    for args in [("AUTH", "tx", "pw"), ("MULTI",), ("SET", "k1", "1"), ("FLUSHALL",), ("GET", "x"),
                 ("EXEC",), ("MULTI",), ("SET", "k1", "1"), ("GET", "k1"), ("INCR", "k2")]:
        both(tx, *args)
    # The rules change between queueing and EXEC: those commands fail inside EXEC's reply.
    adiff.check("ACL", "SETUSER", "tx", "-get", "resetkeys", "~k1")
    both(tx, "EXEC")
    adiff.check("ACL", "SETUSER", "tx", "-exec")
    for args in [("MULTI",), ("SET", "k1", "1"), ("EXEC",), ("GET", "k1")]:
        both(tx, *args)


def _entries(reply: Reply) -> list[dict[bytes, Reply]]:
    out = []
    for entry in reply.value:
        if entry.type == "%":
            out.append({k.value: v for k, v in entry.value})
        else:
            items = entry.value
            out.append({items[i].value: items[i + 1] for i in range(0, len(items), 2)})
    return out


def _client_fields(info: bytes) -> dict[str, str]:
    return dict(re.findall(r"(\S+?)=(\S*)", info.decode()))


def test_acl_log(adiff: AclDiff) -> None:
    adiff.check_all(("ACL", "LOG", "RESET"), ("ACL", "LOG"),
                    ("ACL", "SETUSER", "lg", "on", ">pw", "+get", "+multi", "+exec", "+auth", "~k*"))
    lg = adiff.connect()
    for args in [("AUTH", "lg", "pw"), ("GET", "other"), ("SET", "k", "v"), ("SET", "k", "v"),
                 ("MULTI",), ("DEL", "k"), ("EXEC",), ("AUTH", "lg", "bad"), ("auth", "nobody", "x"),
                 ("HELLO", "2", "AUTH", "lg", "nope")]:
        ref, ours = lg[0].call(*args), lg[1].call(*args)
        assert ref.type == ours.type and (ref.type != "-" or ref == ours), (args, ref, ours)
    ref, ours = adiff.both("ACL", "LOG")
    assert ref.type == ours.type == "*"
    ref_entries, our_entries = _entries(ref), _entries(ours)
    assert len(ref_entries) == len(our_entries) == 6
    for r, o in zip(ref_entries, our_entries, strict=True):
        assert list(r) == list(o)
        for field in (b"count", b"reason", b"context", b"object", b"username"):
            assert r[field] == o[field], (field, r, o)
        assert r[b"age-seconds"].type == o[b"age-seconds"].type
        rf, of = _client_fields(r[b"client-info"].value), _client_fields(o[b"client-info"].value)
        assert list(rf) == list(of)
        for field in ("cmd", "user", "db", "multi", "flags", "resp", "name"):
            assert rf[field] == of[field], (field, rf, of)
    ref, ours = adiff.both("ACL", "LOG", "2")
    assert len(ref.value) == len(ours.value) == 2
    adiff.check_all(("ACL", "LOG", "-5"), ("ACL", "LOG", "0"), ("ACL", "LOG", "x"),
                    ("ACL", "LOG", "1", "2"), ("ACL", "LOG", "reset"), ("ACL", "LOG"))


def test_acl_log_contexts(adiff: AclDiff) -> None:
    adiff.check("ACL", "SETUSER", "ctx", "on", ">pw", "+@all", "~k*")
    ctx = adiff.connect()
    for args in [("AUTH", "ctx", "pw"), ("MULTI",), ("auth", "ctx", "bad"), ("GET", "k1"), ("EXEC",),
                 ("MULTI",), ("GET", "x"), ("EXEC",), ("MULTI",), ("GET", "k2")]:
        ref, ours = ctx[0].call(*args), ctx[1].call(*args)
        assert ours == ref, (args, ref, ours)
    adiff.check("ACL", "SETUSER", "ctx", "resetkeys", "~nothing")
    both(ctx, "EXEC")
    ref, ours = adiff.both("ACL", "LOG")
    fields = (b"count", b"reason", b"context", b"object", b"username")
    got = [[e[f].value for f in fields] for e in _entries(ours)]
    assert got == [[e[f].value for f in fields] for e in _entries(ref)]
    assert got == [[1, b"key", b"multi", b"k2", b"ctx"], [1, b"key", b"multi", b"x", b"ctx"],
                   [1, b"auth", b"multi", b"auth", b"ctx"]]


def test_acllog_max_len(adiff: AclDiff) -> None:
    adiff.check_all(("CONFIG", "SET", "acllog-max-len", "2"), ("AUTH", "a", "x"), ("AUTH", "b", "x"),
                    ("AUTH", "c", "x"))
    ref, ours = adiff.both("ACL", "LOG")
    assert [e[b"username"] for e in _entries(ref)] == [e[b"username"] for e in _entries(ours)]
    adiff.check_all(("CONFIG", "GET", "acllog-max-len"), ("CONFIG", "SET", "acllog-max-len", "128"))


def test_whoami_client_list_and_deleted_user(adiff: AclDiff) -> None:
    adiff.check("ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*")
    victim = adiff.connect()
    both(victim, "AUTH", "gone", "pw")
    both(victim, "ACL", "WHOAMI")
    for conn in victim:
        info = conn.call("CLIENT", "INFO").value
        assert b" user=gone " in info
    adiff.check("CLIENT", "KILL", "USER", "nobody")
    adiff.check("ACL", "DELUSER", "gone")
    for conn in victim:  # the server closed the deleted user's connection
        with pytest.raises(ConnectionError):
            conn.call("PING")


def test_deleting_own_user_closes_after_reply(adiff: AclDiff) -> None:
    adiff.check("ACL", "SETUSER", "me", "on", ">pw", "+@all", "~*")
    me = adiff.connect()
    both(me, "AUTH", "me", "pw")
    both(me, "ACL", "DELUSER", "me")
    for conn in me:
        with pytest.raises(ConnectionError):
            conn.call("PING")


def test_client_kill_user(adiff: AclDiff) -> None:
    adiff.check("ACL", "SETUSER", "k", "on", "nopass", "+@all")
    one, two = adiff.connect(), adiff.connect()
    both(one, "AUTH", "k", "x")
    both(two, "AUTH", "k", "y")
    adiff.check("CLIENT", "KILL", "USER", "k")
    for pair in (one, two):
        for conn in pair:
            with pytest.raises(ConnectionError):
                conn.call("PING")


def test_default_user_password_and_unauthenticated_limits(adiff: AclDiff) -> None:
    adiff.check("ACL", "SETUSER", "default", "resetpass", ">pw")
    big = adiff.connect()
    for conn in big:
        conn.send_raw(b"*2000\r\n")
    ref, ours = big[0].read_reply(), big[1].read_reply()
    assert ours == ref == Reply("-", "ERR Protocol error: unauthenticated multibulk length")
    waiting = adiff.connect()  # connected (unauthenticated) while a password is required
    both(waiting, "GET", "k")
    adiff.check_all(("AUTH", "pw"), ("ACL", "SETUSER", "default", "nopass"))
    # No password needed any more: the waiting connection may run commands, long ones too.
    both(waiting, "GET", "k")
    both(waiting, "MSET", *[f"k{i}" for i in range(2100)])
    both(waiting, "HELLO")  # but HELLO still wants the connection to have authenticated
