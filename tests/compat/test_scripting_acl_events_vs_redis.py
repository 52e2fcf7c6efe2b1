"""What a script's redis.call goes through, as Redis's scriptCall: the ACL rules of the user
running the script (errors and ACL LOG entries with context ``lua``; redis.acl_check_cmd),
keyspace notifications for the script's writes, and INFO commandstats counting the calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Differential
from tests.respclient import Reply, RespConnection


@pytest.fixture
def users(diff: Differential) -> Iterator[Differential]:
    for conn in (diff.ref, diff.ours):
        conn.call("ACL", "DELUSER", "noset", "akeys")
        conn.call("ACL", "SETUSER", "noset", "on", ">p", "~*", "&*", "+@all", "-set")
        conn.call("ACL", "SETUSER", "akeys", "on", ">p", "~a*", "resetchannels", "+@all")
        conn.call("ACL", "LOG", "RESET")
    yield diff
    for conn in (diff.ref, diff.ours):
        conn.call("AUTH", "default", "")
        conn.call("ACL", "DELUSER", "noset", "akeys")
        conn.call("CONFIG", "SET", "notify-keyspace-events", "")


def test_a_script_runs_each_call_under_its_users_acl_rules(users: Differential) -> None:
    d = users
    d.check("AUTH", "noset", "p")
    d.check("EVAL", "return redis.pcall('set', 'x', '1')", "0")
    d.check("EVAL", "return redis.call('set', 'x', '1')", "0")  # the error names the script
    d.check("EVAL", "return redis.call('get', 'x')", "0")
    d.check("EVAL", "return redis.acl_check_cmd('set', 'x', '1')", "0")
    d.check("EVAL", "return redis.acl_check_cmd('get', 'x')", "0")
    d.check("AUTH", "akeys", "p")
    d.check("EVAL", "return redis.pcall('get', 'x')", "0")
    d.check("EVAL", "return redis.pcall('get', 'abc')", "0")
    d.check("EVAL", "return redis.pcall('publish', 'ch', 'm')", "0")
    d.check("EVAL", "return redis.acl_check_cmd('get', 'x')", "0")
    d.check("AUTH", "default", "")
    ref, ours = d.both("ACL", "LOG")
    assert _entries(ours) == _entries(ref) and len(_entries(ref)) == 3  # the two SET denials are one entry


def _entries(reply: Reply) -> list[dict[bytes, object]]:
    """Each ACL LOG entry's reason, context, object and username."""
    out = []
    for e in reply.value:
        items = e.value if e.type == "%" else zip(e.value[::2], e.value[1::2], strict=True)
        fields = {k.value: v.value for k, v in items}
        out.append({k: fields[k] for k in (b"reason", b"context", b"object", b"username")})
    return out


def test_a_scripts_writes_fire_keyspace_notifications(diff: Differential, redis_ref: object,
                                                      activekv: object) -> None:
    heard = []
    for conn, server in ((diff.ref, redis_ref), (diff.ours, activekv)):
        conn.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = RespConnection(server.port)  # type: ignore[attr-defined]
        sub.call("PSUBSCRIBE", "__key*__:*")
        conn.call("EVAL", "redis.call('set', KEYS[1], '1'); redis.call('incr', KEYS[1]);"
                  " return redis.call('del', KEYS[1])", "1", "k")
        conn.call("PUBLISH", "__keyevent@0__:end", "x")  # a marker: everything before arrived
        got = []
        for _ in range(20):
            msg = sub.read_reply()
            got.append([part.value for part in msg.value[1:]])
            if got[-1][-1] == b"x":
                break
        heard.append(got)
        sub.close()
        conn.call("CONFIG", "SET", "notify-keyspace-events", "")
    assert heard[0] == heard[1] and len(heard[0]) == 7


def test_calls_from_scripts_are_counted_in_commandstats(diff: Differential) -> None:
    for conn in (diff.ref, diff.ours):
        conn.call("CONFIG", "RESETSTAT")
        conn.call("EVAL", "redis.call('set', 'a', '1'); redis.call('set', 'a', '2'); return redis.call('get', 'a')", "0")
    ref, ours = (c.call("INFO", "commandstats").value for c in (diff.ref, diff.ours))
    def calls(text: bytes, name: bytes) -> bytes:
        line = next(li for li in text.split(b"\r\n") if li.startswith(b"cmdstat_" + name + b":"))
        return line.split(b",")[0]
    for name in (b"set", b"get", b"eval"):
        assert calls(ours, name) == calls(ref, name)


SCRIPTS_UNDER_OOM = (
    ("EVAL", "return redis.call('set', 'a', '1')", "0"),  # no shebang: its first write is refused
    ("EVAL", "return redis.pcall('set', 'a', '1')", "0"),
    ("EVAL", "return redis.call('get', 'a')", "0"),  # reads are fine
    ("EVAL", "#!lua\nreturn redis.call('get', 'a')", "0"),  # a flagged script may write: refused
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", "0"),
    ("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'a', '2')", "0"),
    ("EVAL", "return redis.call('del', 'nokey')", "0"),  # DEL is not denyoom
    ("GET", "a"),
)


def test_scripts_and_maxmemory_as_redis(diff: Differential) -> None:
    try:
        for conn in (diff.ref, diff.ours):
            assert conn.call("CONFIG", "SET", "maxmemory", "1").value == "OK"
        diff.check_all(*SCRIPTS_UNDER_OOM)
    finally:
        for conn in (diff.ref, diff.ours):
            conn.call("CONFIG", "SET", "maxmemory", "0")
