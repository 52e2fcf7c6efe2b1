"""A region whose data directory is a real tmpfs that fills up (ENOSPC), then gets room again
(issue 15, "Faults"): local writes are refused with Redis's MISCONF text while reads go on, a
peer's writes made meanwhile wait (unapplied, unacknowledged) and arrive after the recovery,
which needs no operator; a kill -9 after it loses nothing that was acknowledged."""

from __future__ import annotations

import glob
import os
import signal
import tempfile
import time

from server.harness.processes import free_port, start_activekv
from server.harness.regions import peer_field
from server.harness.waiting import wait_for
from tests.multiregion.diskkit import fill, free, start_on, tmpfs
from tests.respclient import Reply, RespConnection

ENOSPC_MISCONF = Reply("-", "MISCONF Errors writing to the AOF file: No space left on device")
VALUE = "v" * 1000


def _info(conn: RespConnection, section: str) -> dict[str, str]:
    text = conn.call("INFO", section).value.decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _lag_at(conn: RespConnection, peer: str) -> int:
    """``lag_ops`` of ``peer`` in ``conn``'s CRDT.PEERS: our writes it has not acknowledged."""
    for row in conn.call("CRDT.PEERS").plain():
        if peer_field(row, b"region") == peer.encode():
            return int(peer_field(row, b"lag_ops"))
    raise AssertionError(f"no CRDT.PEERS row for {peer}")


def _whole_records(datadir: str) -> None:
    """Every op log segment ends at a record boundary (no torn record was left behind)."""
    from replication.oplog import HEADER

    for path in sorted(glob.glob(os.path.join(datadir, "oplog", "*.aol"))):
        with open(path, "rb") as f:
            data = f.read()
        off = 0
        while off < len(data):
            assert len(data) - off >= HEADER.size, f"torn header at {path}:{off}"
            _, _, length, _ = HEADER.unpack_from(data, off)
            off += HEADER.size + length
        assert off == len(data), f"torn record at the end of {path}"


def test_full_disk_refuses_writes_keeps_reads_and_recovers_without_loss() -> None:
    with tmpfs("3m") as datadir:
        port_a, port_b = free_port(), free_port()
        b_dir = tempfile.mkdtemp(prefix="akv-disk-b-")
        a_args = ("--region", "us-west", "--peer", f"127.0.0.1:{port_b}")
        a = start_on(datadir, *a_args, port=port_a)
        b = start_activekv("--region", "us-east", "--peer", f"127.0.0.1:{port_a}",
                           port=port_b, workdir=b_dir)
        try:
            ca, cb = RespConnection(port_a), RespConnection(port_b)
            assert ca.call("SET", "before", "1") == Reply("+", "OK")
            wait_for(lambda: cb.call("GET", "before").value == b"1", 20, "B sees A's write")
            assert cb.call("SET", "from-b-early", "1") == Reply("+", "OK")
            wait_for(lambda: ca.call("GET", "from-b-early").value == b"1", 20, "A sees B's write")

            fill(datadir)
            acknowledged = []
            for i in range(200):  # the page slack of the log file takes a few records first
                reply = ca.call("SET", f"during:{i}", VALUE)
                if reply == ENOSPC_MISCONF:
                    break
                assert reply == Reply("+", "OK"), reply
                acknowledged.append(i)
            else:
                raise AssertionError("writes were never refused on a full disk")

            # Every write command is refused (PING too, as Redis), reads and admin go on.
            assert ca.call("DEL", "before") == ENOSPC_MISCONF
            assert ca.call("INCR", "n") == ENOSPC_MISCONF
            assert ca.call("PING") == ENOSPC_MISCONF
            assert ca.call("GET", "before") == Reply("$", b"1")
            assert ca.call("CONFIG", "GET", "appendfsync").plain() == [b"appendfsync", b"everysec"]
            assert _info(ca, "persistence")["aof_last_write_status"] == "err"
            assert ca.call("MULTI") == Reply("+", "OK")
            assert ca.call("SET", "tx", "1") == ENOSPC_MISCONF
            assert ca.call("EXEC").value.startswith("EXECABORT")
            assert ca.call("EVAL", "return redis.call('get', 'before')", "0") == Reply("$", b"1")
            err = ca.call("EVAL", "return redis.call('set', 'x', 'y')", "0")
            assert err.type == "-" and err.value.startswith(ENOSPC_MISCONF.value + " script:")
            assert ca.call("SAVE") == Reply("-", "ERR")

            # B's writes during the fault wait at A's link: not applied, not acknowledged.
            for i in range(20):
                assert cb.call("SET", f"from-b:{i}", i) == Reply("+", "OK")
            wait_for(lambda: _info(ca, "crdt")["peer_batches_waiting_for_disk"] == "1", 10,
                     "A's link to B waits for the disk")
            assert ca.call("GET", "from-b:19") == Reply("$", None)
            time.sleep(0.3)
            assert ca.call("GET", "from-b:0") == Reply("$", None)
            assert _lag_at(cb, "us-west") >= 20  # A acknowledged none of them

            _whole_records(datadir)

            free(datadir)  # the disk has room again: recovery by itself, within ~a second
            wait_for(lambda: ca.call("SET", "after", "1") == Reply("+", "OK"), 10,
                     "A accepts writes again")
            assert ca.call("PING") == Reply("+", "PONG")
            assert _info(ca, "persistence")["aof_last_write_status"] == "ok"
            wait_for(lambda: ca.call("GET", "from-b:19").value == b"19", 20,
                     "B's writes made during the fault reach A")
            wait_for(lambda: _lag_at(cb, "us-west") == 0, 10, "A acknowledges them")
            wait_for(lambda: cb.call("GET", f"during:{acknowledged[-1]}").value == VALUE.encode()
                     if acknowledged else True, 20, "A's buffered writes reach B")
            log = open(a.log_path).read()
            assert log.count("Error writing to the op log") == 1, log
            assert log.count("write error looks solved") == 1, log

            ca.close()
            a.stop(signal.SIGKILL)
            _whole_records(datadir)
            a = start_on(datadir, *a_args, port=port_a)
            ca = RespConnection(port_a)
            got = [ca.call("GET", f"during:{i}").value for i in acknowledged]
            assert got == [VALUE.encode()] * len(acknowledged), "acknowledged writes lost"
            assert ca.call("GET", "after") == Reply("$", b"1")
            assert [ca.call("GET", f"from-b:{i}").value for i in range(20)] == [
                str(i).encode() for i in range(20)]
            assert ca.call("GET", "before") == Reply("$", b"1")
            ca.close()
            cb.close()
        finally:
            a.stop()
            b.stop()
