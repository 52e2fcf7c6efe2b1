"""Admin commands end to end, with redis-py and raw sockets: CLIENT LIST/KILL/SETINFO,
SHUTDOWN, INFO, CONFIG SET side effects (proto-max-bulk-len, port), CONFIG RESETSTAT."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, free_port, start_activekv
from tests.respclient import RespConnection

redis = pytest.importorskip("redis")


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with start_activekv() as proc:
        yield proc


def _client(port: int, **kw: Any) -> Any:
    return redis.Redis(host="127.0.0.1", port=port, **kw)


def _closed(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True once the peer closed the connection (EOF or reset)."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_client_list_parses(srv: ServerProcess) -> None:
    a = _client(srv.port, client_name="alpha")
    b = _client(srv.port, client_name="beta")
    try:
        b.ping()
        listing = a.client_list()
        by_name = {c["name"]: c for c in listing}
        assert {"alpha", "beta"} <= set(by_name)
        me = by_name["alpha"]
        assert int(me["id"]) == a.client_id()
        assert me["cmd"] == "client|list" and me["flags"] == "N" and me["db"] == "0"
        assert me["laddr"] == f"127.0.0.1:{srv.port}"
        assert by_name["beta"]["cmd"] in ("ping", "client|setname")
        assert [c["name"] for c in a.client_list(_type="normal")].count("beta") == 1
        only_b = a.client_list(client_id=[int(by_name["beta"]["id"])])
        assert [c["name"] for c in only_b] == ["beta"]
        info = a.client_info()
        assert info["name"] == "alpha" and info["cmd"] == "client|info"
        assert a.client_getname() in (b"alpha", "alpha")
    finally:
        a.close()
        b.close()


def test_client_list_resp3(srv: ServerProcess) -> None:
    conn = RespConnection(srv.port)
    try:
        conn.call("HELLO", "3")
        reply = conn.call("CLIENT", "LIST")
        assert reply.type == "=" and reply.value.startswith(b"txt:id=")
        assert b" resp=3\n" in reply.value
    finally:
        conn.close()


def test_client_kill_by_id_closes(srv: ServerProcess) -> None:
    killer = RespConnection(srv.port)
    victim = RespConnection(srv.port)
    try:
        vid = victim.call("CLIENT", "ID").value
        assert killer.call("CLIENT", "KILL", "ID", str(vid)).value == 1
        assert _closed(victim.sock)
        ids = killer.call("CLIENT", "LIST").value
        assert f"id={vid} ".encode() not in ids
        assert killer.call("PING").value == "PONG"
    finally:
        killer.close()
        victim.close()


def test_client_kill_old_form_and_filters(srv: ServerProcess) -> None:
    killer = RespConnection(srv.port)
    victim = RespConnection(srv.port)
    victim2 = RespConnection(srv.port)
    try:
        victim.call("PING")
        victim2.call("PING")
        addr = "%s:%d" % victim.sock.getsockname()[:2]
        assert killer.call("CLIENT", "KILL", addr).value == "OK"
        assert _closed(victim.sock)
        assert killer.call("CLIENT", "KILL", addr).value == "ERR No such client"
        # The other filters: everything normal of user default except ourselves.
        n = killer.call("CLIENT", "KILL", "TYPE", "normal", "USER", "default", "LADDR",
                        f"127.0.0.1:{srv.port}").value  # fmt: skip
        assert n >= 1
        assert _closed(victim2.sock)
        assert killer.call("PING").value == "PONG"  # SKIPME yes by default
    finally:
        killer.close()
        victim.close()
        victim2.close()


def test_client_kill_self_replies_then_closes(srv: ServerProcess) -> None:
    conn = RespConnection(srv.port)
    try:
        cid = conn.call("CLIENT", "ID").value
        assert conn.call("CLIENT", "KILL", "ID", str(cid), "SKIPME", "no").value == 1
        assert _closed(conn.sock)
    finally:
        conn.close()
    conn = RespConnection(srv.port)
    try:
        addr = "%s:%d" % conn.sock.getsockname()[:2]
        assert conn.call("CLIENT", "KILL", addr).value == "OK"  # old form: may kill yourself
        assert _closed(conn.sock)
    finally:
        conn.close()


def test_client_setinfo(srv: ServerProcess) -> None:
    conn = RespConnection(srv.port)
    try:
        assert conn.call("CLIENT", "SETINFO", "LIB-NAME", "redis-py").value == "OK"
        assert conn.call("CLIENT", "SETINFO", "lib-ver", "5.0.0").value == "OK"
        assert conn.call("CLIENT", "SETINFO", "lib-name", "a b").value == (
            "ERR lib-name cannot contain spaces, newlines or special characters."
        )
        assert conn.call("CLIENT", "SETINFO", "foo", "x").value == "ERR Unrecognized option 'foo'"
        assert conn.call("CLIENT", "SETINFO", "lib-name").value == (
            "ERR wrong number of arguments for 'client|setinfo' command"
        )
        info = conn.call("COMMAND", "INFO", "client|setinfo").value[0].value
        assert info[0].value == b"client|setinfo" and info[1].value == -4
        assert [f.value for f in info[2].value] == ["noscript", "loading", "stale"]
    finally:
        conn.close()
    # redis-py >= 5 sends CLIENT SETINFO on connect; it must not fail.
    r = _client(srv.port)
    try:
        assert r.ping()
    finally:
        r.close()


def test_info_parses_with_redis_py(srv: ServerProcess) -> None:
    r = _client(srv.port)
    try:
        r.flushall()
        r.set("a", 1)
        r.set("b", 2, ex=100)
        r.execute_command("SELECT", "2")  # on this connection only
        r.set("c", 3)
        info = r.info()
        assert info["redis_version"] == "7.0.15"
        assert info["role"] == "active-active"
        assert info["tcp_port"] == srv.port
        assert info["region"] == "test"
        assert info["db0"]["keys"] == 2 and info["db0"]["expires"] == 1
        assert 0 < info["db0"]["avg_ttl"] <= 100_000
        assert info["db2"] == {"keys": 1, "expires": 0, "avg_ttl": 0}
        assert "db1" not in info
        assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
        assert info["connected_clients"] >= 1
        assert info["total_commands_processed"] > 0
        assert r.info("keyspace").keys() == {"db0", "db2"}
        everything = r.info("everything")
        assert everything["cluster_enabled"] == 0
        assert set(r.info("server", "clients")) >= {"redis_version", "connected_clients"}
        assert r.info("nosuch") == {}
    finally:
        r.flushall()
        r.close()


def test_info_resp3_verbatim(srv: ServerProcess) -> None:
    conn = RespConnection(srv.port)
    try:
        conn.call("HELLO", "3")
        reply = conn.call("INFO", "server")
        assert reply.type == "=" and reply.value.startswith(b"txt:# Server\r\nredis_version:7.0.15\r\n")
    finally:
        conn.close()


def test_info_stats_counters(srv: ServerProcess) -> None:
    r = _client(srv.port)
    try:
        r.flushall()
        r.get("nosuch")
        r.set("k", "v")
        r.get("k")
        with pytest.raises(redis.ResponseError):
            r.execute_command("NOSUCHCOMMAND")
        stats = r.info("stats")
        assert stats["keyspace_misses"] >= 1 and stats["keyspace_hits"] >= 1
        assert stats["total_error_replies"] >= 1
        assert stats["total_net_input_bytes"] > 0 and stats["total_net_output_bytes"] > 0
        assert r.info("errorstats")["errorstat_ERR"]["count"] >= 1
        assert r.config_resetstat()
        stats = r.info("stats")
        assert stats["total_commands_processed"] <= 2
        assert stats["keyspace_hits"] == 0 and stats["total_error_replies"] == 0
        assert r.info("errorstats") == {}
    finally:
        r.close()


def test_config_set_proto_max_bulk_len(srv: ServerProcess) -> None:
    r = _client(srv.port)
    before = RespConnection(srv.port)  # connected before the change: must see it too
    try:
        assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "536870912"}
        assert r.config_set("proto-max-bulk-len", "1mb")
        assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "1048576"}
        before.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
        assert before.read_reply().value == "ERR Protocol error: invalid bulk length"
        after = RespConnection(srv.port)
        try:
            after.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n")
            assert after.read_reply().value == "ERR Protocol error: invalid bulk length"
        finally:
            after.close()
        assert r.set("k", "x" * 1_048_576)  # exactly the limit is fine
    finally:
        r.config_set("proto-max-bulk-len", "512mb")
        r.delete("k")
        before.close()
        r.close()


def test_config_set_client_query_buffer_limit(srv: ServerProcess) -> None:
    r = _client(srv.port)
    victim = RespConnection(srv.port)
    try:
        assert r.config_set("client-query-buffer-limit", "1mb")
        # An unfinished command bigger than the limit: the connection is closed.
        victim.send_raw(b"*2\r\n$4\r\nECHO\r\n$1500000\r\n" + b"x" * 1_200_000)
        assert _closed(victim.sock)
    finally:
        r.config_set("client-query-buffer-limit", "1gb")
        victim.close()
        r.close()


def test_config_set_port_rebinds() -> None:
    with start_activekv() as proc:
        r = _client(proc.port)
        new_port = free_port()
        try:
            assert r.config_set("port", str(new_port))
            r2 = _client(new_port)
            assert r2.ping()
            assert r2.config_get("port") == {"port": str(new_port)}
            assert r2.info("server")["tcp_port"] == new_port
            assert r.ping()  # existing connections stay
            time.sleep(0.1)
            with pytest.raises(redis.ConnectionError):
                _client(proc.port, socket_connect_timeout=1).ping()
            # A port that is taken: Redis's error, and nothing changes.
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                busy = taken.getsockname()[1]
                with pytest.raises(redis.ResponseError, match="Unable to listen on this port"):
                    r2.config_set("port", str(busy))
            assert r2.config_get("port") == {"port": str(new_port)}
            with pytest.raises(redis.ResponseError, match="Failed to bind to specified addresses"):
                r2.config_set("bind", "127.0.0.1 192.0.2.1")
            assert r2.config_get("bind") == {"bind": "127.0.0.1"}
            r2.close()
        finally:
            r.close()


def test_shutdown_exits_cleanly() -> None:
    proc = start_activekv()
    try:
        conn = RespConnection(proc.port)
        assert conn.call("SHUTDOWN", "ABORT").value == "ERR No shutdown in progress."
        assert conn.call("SHUTDOWN", "NOSAVE", "SAVE").value == "ERR syntax error"
        conn.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        assert _closed(conn.sock)  # no reply, the connection just closes
        conn.close()
        assert proc.proc.wait(10) == 0
    finally:
        assert proc.stop() == 0


def test_shutdown_with_redis_py() -> None:
    proc = start_activekv()
    try:
        r = _client(proc.port)
        r.shutdown()  # redis-py expects the connection to drop without a reply
        assert proc.proc.wait(10) == 0
    finally:
        proc.stop()
