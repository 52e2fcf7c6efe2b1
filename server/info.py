"""INFO: Redis 7.0.15's text format, with the fields that describe us.

Format (Redis's ``genRedisInfoString``): each section is ``# Name\\r\\n`` then
``field:value\\r\\n`` lines; sections are separated by one empty line (``\\r\\n``); the text
ends with the last field's ``\\r\\n``. Sections always come in Redis's order, whatever the
order asked; names are case-insensitive; unknown names are ignored (``INFO nosuch`` is an
empty string). ``INFO`` / ``INFO default``: server, clients, memory, persistence, stats,
replication, cpu, modules, errorstats, cluster, keyspace. ``all`` and ``everything`` add
commandstats and latencystats (server/monitor.py; latency percentiles come from a histogram
with 2 significant digits, as Redis's hdr_histogram) and our ``crdt`` section.

Field names are Redis's, in Redis's order; we emit a subset (fields about machinery we do not
have — jemalloc, fork/COW, Lua, IO threads, tracking, defrag — are left out, except for the
constant ones clients and tools commonly read, which keep Redis's "nothing here" values).
Our own fields: ``activekv_version`` and ``region`` at the end of the server section,
``unexpected_errors`` (handler exceptions, bugs of ours) at the end of the stats section, and
Redis 7.4's ``client_output_buffer_limit_disconnections`` (7.0 has no such counter).

Memory: ``used_memory`` is an accounting of what the keyspace holds (``server/memory.py``:
kept exactly while ``maxmemory`` is set, estimated from sampled keys otherwise; CPython gives
no cheap exact count of the bytes it allocated, tracemalloc would slow every allocation);
``used_memory_rss`` is the process's resident set size (``/proc/self/statm``), what the
operator pays for. ``mem_allocator`` is ``pymalloc``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from itertools import islice
from typing import TYPE_CHECKING

from server import migrate_link
from server.config_types import fmt_percentile
from server.replicas.status import info_fields as replica_info
from server.scripting.stats import memory_fields as script_memory_fields

if TYPE_CHECKING:
    from server.app import Server

ACTIVEKV_VERSION = "0.1.0"
REDIS_VERSION = "7.0.15"

# Redis's order (genRedisInfoString).
SECTIONS = (
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu",
    "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace", "crdt",
)
DEFAULT_SECTIONS = frozenset(SECTIONS) - {"crdt", "commandstats", "latencystats"}
_TITLES = {"cpu": "CPU", "crdt": "CRDT"}
_ALL_NAMES = {b"all", b"everything", b"default"}


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 4096


_PAGE = _page_size()
_peak_memory = 0


def rss_bytes() -> int:
    """Resident set size of this process (bytes)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):  # not Linux: the peak is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def total_system_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * _PAGE
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 0


def bytes_to_human(n: int) -> str:
    """Redis's bytesToHuman."""
    if n < 1024:
        return f"{n}B"
    for unit, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)):
        if n < 1024 ** (power + 1) or unit == "P":
            return f"{n / 1024**power:.2f}{unit}"
    raise AssertionError  # pragma: no cover


def wanted_sections(args: list[bytes]) -> set[str]:
    """The sections ``INFO args...`` asks for (Redis 7: several names allowed)."""
    if not args:
        return set(DEFAULT_SECTIONS)
    wanted: set[str] = set()
    for arg in args:
        name = arg.lower()
        if name in _ALL_NAMES:
            wanted |= DEFAULT_SECTIONS if name == b"default" else set(SECTIONS)
        else:
            wanted.add(name.decode("utf-8", "replace"))
    return wanted


def render(server: Server, args: list[bytes]) -> str:
    """The INFO text for ``INFO args...``."""
    wanted = wanted_sections(args)
    parts: list[str] = []
    for name in SECTIONS:
        if name in wanted:
            lines = _SECTION_FUNCS[name](server)
            parts.append("# " + _TITLES.get(name, name.capitalize()) + "\r\n" + "".join(f"{k}:{v}\r\n" for k, v in lines))
    return "\r\n".join(parts)


Fields = list[tuple[str, object]]


def _server(s: Server) -> Fields:
    uname = os.uname()
    uptime = int(time.time() - s.start_time)
    cfg = s.config
    return [
        ("redis_version", REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "0"),
        ("redis_mode", "standalone"),
        ("os", f"{uname.sysname} {uname.release} {uname.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll" if sys.platform.startswith("linux") else "kqueue"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", s.run_id),
        ("tcp_port", cfg.port),
        ("server_time_usec", time.time_ns() // 1000),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", cfg.hz),
        ("configured_hz", cfg.hz),
        ("executable", os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else sys.executable),
        ("config_file", cfg.config_file or ""),
        ("io_threads_active", 0),
        ("activekv_version", ACTIVEKV_VERSION),
        ("region", cfg.region),
    ]


def _clients(s: Server) -> Fields:
    max_in = max((c.reader.pending_bytes() for c in s.clients.values()), default=0)
    max_out = 0
    for c in s.clients.values():
        if c.transport is not None:
            max_out = max(max_out, c.transport.get_write_buffer_size())
    return [
        ("connected_clients", len(s.clients) - len(s.replicas.links)),  # replicas excluded, as Redis
        ("cluster_connections", 0),
        ("maxclients", s.config.maxclients),
        ("client_recent_max_input_buffer", max_in),
        ("client_recent_max_output_buffer", max_out),
        ("blocked_clients", sum(1 for w in s.waiters if w.unblockable)),
        ("tracking_clients", s.tracking.clients),
        ("clients_in_timeout_table", sum(w.deadline is not None for w in s.waiters)),
    ]


def _memory(s: Server) -> Fields:
    # used_memory is the keyspace's accounting (server/memory.py), RSS the process's size.
    mem = s.memory
    used = mem.used()
    rss = rss_bytes()
    peak = mem.peak
    system = total_system_memory()
    overhead = mem.overhead()
    dataset = max(0, used - overhead)
    maxmemory = s.config.maxmemory
    return [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", f"{used * 100 / peak:.2f}%"),
        ("used_memory_overhead", overhead),
        ("used_memory_startup", mem.startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", f"{dataset * 100 / max(1, used - mem.startup):.2f}%"),
        ("total_system_memory", system),
        ("total_system_memory_human", bytes_to_human(system)),
        *script_memory_fields(s, bytes_to_human),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", s.config.maxmemory_policy),
        ("mem_fragmentation_ratio", f"{rss / max(1, used):.2f}"),
        ("mem_allocator", "pymalloc"),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", s.stats.lazyfreed_objects),
    ]


def _persistence(s: Server) -> Fields:
    return s.persistence.info_fields()  # server/persistence.py


def _stats(s: Server) -> Fields:
    st = s.stats
    ops, in_kbps, out_kbps = s.instantaneous()
    return [
        ("total_connections_received", st.connections),
        ("total_commands_processed", st.commands),
        ("instantaneous_ops_per_sec", ops),
        ("total_net_input_bytes", st.net_input_bytes),
        ("total_net_output_bytes", st.net_output_bytes),
        ("instantaneous_input_kbps", f"{in_kbps:.2f}"),
        ("instantaneous_output_kbps", f"{out_kbps:.2f}"),
        ("rejected_connections", st.rejected_connections),
        ("sync_full", s.replicas.full_syncs),  # Redis replicas' SYNC/PSYNC (server/replicas)
        ("sync_partial_ok", 0),
        ("sync_partial_err", s.replicas.partial_errors),
        ("expired_keys", st.expired_keys),
        ("evicted_keys", st.evicted_keys),
        ("evicted_clients", st.evicted_clients),
        # Redis 7.4's name (7.0 does not count them): clients closed by the limit
        ("client_output_buffer_limit_disconnections",
         st.obuf_disconnections + s.pubsub.disconnections),  # replies, and pub/sub pushes
        ("keyspace_hits", st.keyspace_hits),
        ("keyspace_misses", st.keyspace_misses),
        ("pubsub_channels", len(s.pubsub.registry[0])),
        ("pubsub_patterns", len(s.pubsub.registry[1])),
        ("pubsubshard_channels", len(s.pubsub.registry[2])),
        ("latest_fork_usec", s.persistence.latest_fork_usec),
        ("total_forks", s.persistence.forks),
        ("migrate_cached_sockets", migrate_link.cached_socket_count()),
        ("tracking_total_keys", len(s.tracking.table)),
        ("tracking_total_items", sum(map(len, s.tracking.table.values()))),
        ("tracking_total_prefixes", len(s.tracking.prefix_clients)),
        ("unexpected_error_replies", 0),
        ("total_error_replies", st.error_replies),
        ("total_reads_processed", st.reads_processed),
        ("total_writes_processed", st.writes_processed),
        ("unexpected_errors", st.unexpected_errors),  # ours: handler exceptions (bugs)
    ]


def _replication(s: Server) -> Fields:
    rep = s.replicator
    rows = rep.peer_rows() if rep is not None else []
    pos = rep.log_position() if rep is not None else None
    fields: Fields = [
        ("role", "active-active"),
        *replica_info(s.replicas),  # stock Redis replicas (server/replicas)
        ("region", s.config.region),
        ("connected_peers", sum(1 for r in rows if r["state"] == "up")),
    ]
    for i, row in enumerate(rows):
        fields.append((f"peer{i}", f"region={row['region']},address={row['address']},"
                       f"state={row['state']},lag_ops={row['lag_ops']},lag_ms={row['lag_ms']}"))
    fields += [
        ("master_failover_state", "no-failover"),
        ("master_replid", s.run_id),
        ("master_replid2", "0" * 40),
        ("master_repl_offset", s.replicas.offset),  # the Redis replicas' stream
        ("second_repl_offset", -1),
        ("repl_backlog_active", 1 if pos is not None else 0),
        ("repl_backlog_size", pos.retention_bytes if pos is not None else 0),
        ("repl_backlog_first_byte_offset", pos.first_lsn if pos is not None else 0),
        ("repl_backlog_histlen", pos.bytes if pos is not None else 0),
    ]
    return fields


def _crdt(s: Server) -> Fields:
    ks = s.ks
    rep = s.replicator
    vv = ",".join(f"{o}={n}" for o, n in sorted(ks.vv.items()))
    stable = ",".join(f"{o}={n}" for o, n in sorted(ks.stable.items()))
    fields: Fields = [
        ("region", s.config.region),
        ("origin", ks.region),
        ("vv", vv),
    ]
    if rep is not None:
        for i, row in enumerate(rep.peer_rows()):
            fields.append((f"peer{i}", ",".join(f"{k}={v}" for k, v in row.items() if k != "last_error")))
    counts = ks.conflicts.counts
    fields += [(f"conflicts_{kind}", n) for kind, n in counts.items()]
    orphans = sum(len(db.orphan_expiry) for db in ks.dbs)
    fields += [
        ("gc_stable_vv", stable),
        ("gc_peer_timeout_s", s.config.peer_timeout),
        ("gc_pending_expire_registers", orphans),
        ("gc_pending_keys", sum(len(db.gc_pending) for db in ks.dbs)),
        ("gc_collected_keys", s.stats.gc_collected),
        ("packed_contents", s.compactor.packed + ks.packed),
        ("packing_passes", s.compactor.passes),
    ]
    if rep is not None:
        fields += rep.crdt_fields()
    return fields


def _timeval(seconds: float) -> str:
    """Redis prints rusage times as ``%ld.%06ld``."""
    usec = int(round(seconds * 1_000_000))
    return f"{usec // 1_000_000}.{usec % 1_000_000:06d}"


def _cpu(s: Server) -> Fields:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields: Fields = [
        ("used_cpu_sys", _timeval(me.ru_stime)),
        ("used_cpu_user", _timeval(me.ru_utime)),
        ("used_cpu_sys_children", _timeval(kids.ru_stime)),
        ("used_cpu_user_children", _timeval(kids.ru_utime)),
    ]
    thread = getattr(resource, "RUSAGE_THREAD", None)
    if thread is not None:
        main = resource.getrusage(thread)  # INFO runs on the event loop: the main thread
        fields += [
            ("used_cpu_sys_main_thread", _timeval(main.ru_stime)),
            ("used_cpu_user_main_thread", _timeval(main.ru_utime)),
        ]
    return fields


def _modules(s: Server) -> Fields:
    return []


def _commandstats(s: Server) -> Fields:
    out: Fields = []
    for name, st in s.monitor.commands.items():
        if st.calls or st.failed_calls or st.rejected_calls:
            per_call = st.usec / st.calls if st.calls else 0.0
            out.append((f"cmdstat_{name}", f"calls={st.calls},usec={st.usec},usec_per_call="
                        f"{per_call:.2f},rejected_calls={st.rejected_calls},failed_calls={st.failed_calls}"))
    return out


def _latencystats(s: Server) -> Fields:
    out: Fields = []
    wanted = s.config.latency_tracking_info_percentiles
    for name, st in s.monitor.commands.items():
        if st.hist:
            values = s.monitor.percentiles(st, wanted)
            out.append((f"latency_percentiles_usec_{name}",
                        ",".join(f"p{fmt_percentile(p)}={v:.3f}" for p, v in values)))
    return out


def _errorstats(s: Server) -> Fields:
    return [(f"errorstat_{code}", f"count={n}") for code, n in s.stats.error_codes.items()]


def _cluster(s: Server) -> Fields:
    return [("cluster_enabled", 0)]


# avg_ttl: Redis keeps a running estimate from its expire cycle's samples; we average the TTLs
# of up to this many keys with an expire time.
AVG_TTL_SAMPLE = 1000


def _keyspace(s: Server) -> Fields:
    now = s.ks.now_ms
    fields: Fields = []
    for i, db in enumerate(s.ks.dbs):
        keys = len(db.entries)
        if not keys:
            continue
        ttls = [at - now for at in islice(db.expires.values(), AVG_TTL_SAMPLE) if at > now]
        avg = sum(ttls) // len(ttls) if ttls else 0
        fields.append((f"db{i}", f"keys={keys},expires={len(db.expires)},avg_ttl={avg}"))
    return fields


_SECTION_FUNCS = {
    "server": _server,
    "clients": _clients,
    "memory": _memory,
    "persistence": _persistence,
    "stats": _stats,
    "replication": _replication,
    "cpu": _cpu,
    "modules": _modules,
    "commandstats": _commandstats,
    "errorstats": _errorstats,
    "latencystats": _latencystats,
    "cluster": _cluster,
    "keyspace": _keyspace,
    "crdt": _crdt,
}
