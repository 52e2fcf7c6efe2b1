"""ACL users across regions: peer links authenticate as a named user (``--peer-user``); an
application user, even one allowed almost everything, is refused CRDT.SYNC (it is @admin
@dangerous, as SYNC/PSYNC), so it can never read the replication stream; ACLs are local to a
region (SEMANTICS "What is local")."""

from __future__ import annotations

import socket
from typing import Any

import redis

from replication.wire import WIRE_VERSION, pack_vv
from server.harness.regions import Cluster
from server.harness.regions import peer_field as _field
from server.harness.waiting import wait_for as _wait
from tests.respclient import RespConnection, encode_command

USERS = (
    "--requirepass", "adminpw",
    "--user", "repl", "on", ">rpw", "+crdt.sync",
    "--user", "app", "on", ">apw", "~*", "&*", "+@all", "-@dangerous",
)


def _as(c: Cluster, user: str | None, password: str) -> Any:
    def call(i: int, *args: Any) -> Any:
        with c.client(i, username=user, password=password) as r:
            return r.execute_command(*args)
    return call


def test_links_authenticate_as_a_named_user_and_apps_cannot_sync() -> None:
    with Cluster(2, *USERS, "--peer-user", "repl", "--peer-password", "rpw") as c:
        admin, app = _as(c, None, "adminpw"), _as(c, "app", "apw")
        c.call = admin  # type: ignore[method-assign]
        c.wait_linked()
        app(0, "SET", "k", "v")
        _wait(lambda: app(1, "GET", "k") == b"v", 10, "k replicated")

        # The link's connection is the repl user's (CLIENT LIST on the accepting side).
        listing = admin(1, "CLIENT", "LIST").decode()
        assert any("cmd=crdt.sync" in line and "user=repl" in line for line in listing.splitlines()), listing

        # An application user cannot start a link, over redis-py or a raw socket.
        try:
            app(1, "CRDT.SYNC", str(WIRE_VERSION), "intruder", "abcd", "1", pack_vv({}), "log")
            raise AssertionError("CRDT.SYNC accepted for the app user")
        except redis.exceptions.NoPermissionError as exc:
            assert "no permissions to run the 'crdt.sync' command" in str(exc)
        with socket.create_connection(("127.0.0.1", c.ports[1]), timeout=5) as s:
            s.sendall(encode_command(("AUTH", "app", "apw")) + encode_command(
                ("CRDT.SYNC", str(WIRE_VERSION), "intruder", "abcd", "1", pack_vv({}), "log")))
            got = b""
            while got.count(b"\r\n") < 2:
                chunk = s.recv(4096)
                assert chunk, got
                got += chunk
            assert got == b"+OK\r\n-NOPERM this user has no permissions to run the 'crdt.sync' command\r\n"
        entry = admin(1, "ACL", "LOG", "1")[0]  # redis-py parses the entry into a dict
        assert entry[b"object"] == b"crdt.sync" and entry[b"username"] == b"app", entry

        # The replication user can do nothing else.
        conn = RespConnection(c.ports[0])
        assert conn.call("AUTH", "repl", "rpw").value == "OK"
        assert conn.call("GET", "k").value == "NOPERM this user has no permissions to run the 'get' command"
        conn.close()

        # ACLs are local: a user made in one region does not exist in the other.
        admin(0, "ACL", "SETUSER", "only-here", "on", ">x", "+@all")
        assert b"only-here" in admin(0, "ACL", "USERS")
        app(0, "SET", "k2", "v2")
        _wait(lambda: app(1, "GET", "k2") == b"v2", 10, "k2 replicated")
        assert b"only-here" not in admin(1, "ACL", "USERS")
        assert "intruder" not in str(c.client(1, password="adminpw").info("crdt")["vv"])


def test_a_peer_user_without_crdt_sync_does_not_link() -> None:
    with Cluster(2, *USERS, "--peer-user", "app", "--peer-password", "apw") as c:
        admin = _as(c, None, "adminpw")
        _wait(lambda: all(b"NOPERM" in (_field(row, b"last_error") or b"")
                          for i in range(2) for row in admin(i, "CRDT.PEERS")), 10, "NOPERM link errors")
        assert [_field(row, b"state") for row in admin(0, "CRDT.PEERS")] == [b"down"]
