"""Redis's persistence vocabulary mapped onto activekv's snapshot and op log.

* ``SAVE`` / ``BGSAVE`` write the snapshot (``snapshot.akv``) now, in this process or in a
  child; ``BGREWRITEAOF`` is a background snapshot, after which the replicator drops the op
  log segments the snapshot covers and every peer has (its periodic truncation).
* ``save <seconds> <changes> ...`` points trigger a background snapshot as Redis's
  serverCron does: ``changes`` counts logged batches since the last snapshot.
* The op log is always written (replication and recovery need it): ``appendonly`` is accepted
  and shown but does not turn it off; ``appendfsync`` is the op log's fsync policy.
* A snapshot that fails (a full disk, EIO) leaves the previous one and the log intact (it is
  written to a temporary file, fsynced, renamed). ``SAVE`` then replies ``-ERR``; a failed
  background one sets ``rdb_last_bgsave_status:err`` (BGREWRITEAOF: ``aof_last_bgrewrite_status``)
  and, with ``stop-writes-on-bgsave-error yes`` and ``save`` points, writes are refused
  (``server/diskguard.py``) until one succeeds; a ``save`` point retries 5 s after a failure.
* ``LASTSAVE`` is the snapshot file's modification time, or the start time before the first
  snapshot of this life (Redis's lastsave starts at startup too).
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.app import Server

log = logging.getLogger("activekv")

BGSAVE_RETRY_DELAY_S = 5  # Redis's CONFIG_BGSAVE_RETRY_DELAY: a save point retries a failure


class Persistence:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.saves = 0  # snapshots asked for by this life (INFO rdb_saves)
        self.last_bgsave_ok = True  # Redis's lastbgsave_status
        self.last_rewrite_ok = True  # aof_lastbgrewrite_status
        self.rewrite_failures = 0  # consecutive (aof_rewrites_consecutive_failures)
        self.last_bgsave_try = 0.0
        self.bgsave_started = 0.0  # time.time() of the running background snapshot
        self.last_bgsave_secs = -1
        self.child = ""  # what the running background snapshot is for: "rdb" or "aof"
        self.scheduled = ""  # BGSAVE SCHEDULE / BGREWRITEAOF waiting for the running one
        self.rewrites = 0  # BGREWRITEAOF runs (INFO aof_rewrites)
        self.forks = 0  # background snapshots started (INFO total_forks)
        self.latest_fork_usec = 0

    @property
    def enabled(self) -> bool:
        return self.server.replicator is not None

    def lastsave(self) -> int:
        rep = self.server.replicator
        start = int(self.server.start_time)
        if rep is None:
            return start
        try:
            mtime = int(os.stat(rep.snapshot_path()).st_mtime)
        except OSError:
            return start
        return max(start, mtime)

    def save(self) -> bool:
        rep = self.server.replicator
        if rep is None:
            return False
        try:
            rep.save()
        except OSError as exc:
            log.warning("Write error saving DB on disk: %s", exc.strerror or exc)
            return False
        except Exception:
            log.exception("snapshot (SAVE) failed")
            return False
        self.saves += 1
        self.last_bgsave_ok = True  # as Redis's rdbSave
        return True

    def _done(self, kind: str, ok: bool) -> None:
        """A background snapshot ended."""
        if kind == "aof":
            self.last_rewrite_ok = ok
            self.rewrite_failures = 0 if ok else self.rewrite_failures + 1
        else:
            self.last_bgsave_ok = ok

    def bgsave(self, kind: str = "rdb") -> bool | None:
        """True: started; False: one is running already; None: no replication here."""
        rep = self.server.replicator
        if rep is None:
            return None
        if rep.bgsave_in_progress:
            return False
        self.child = kind
        if kind == "aof":
            self.rewrites += 1
        self.bgsave_started = self.last_bgsave_try = time.time()
        t0 = time.perf_counter()
        try:
            started = rep.bgsave(lambda ok: self._done(kind, ok))
            if started:
                self.forks += 1
                self.latest_fork_usec = int((time.perf_counter() - t0) * 1_000_000)
        except OSError as exc:  # the op log cannot be written: no snapshot can cover it
            log.warning("Background saving error: %s", exc.strerror or exc)
            self._done(kind, False)
            return True
        except Exception:
            log.exception("background snapshot failed to start")
            self._done(kind, False)
            return True
        if started:
            self.saves += 1
        return started

    def in_progress(self) -> bool:
        rep = self.server.replicator
        running = rep is not None and rep.bgsave_in_progress
        if not running:
            self.child = ""
        return running

    def tick(self) -> None:
        """Every ~100 ms: a background snapshot when a ``save`` point is reached."""
        rep = self.server.replicator
        if rep is None or rep.bgsave_in_progress:
            if self.bgsave_started and rep is not None and not rep.bgsave_in_progress:
                self.last_bgsave_secs = int(time.time() - self.bgsave_started)
                self.bgsave_started = 0.0
            return
        if self.bgsave_started:
            self.last_bgsave_secs = int(time.time() - self.bgsave_started)
            self.bgsave_started = 0.0
        self.child = ""
        if self.scheduled:
            kind, self.scheduled = self.scheduled, ""
            self.bgsave(kind)
            return
        changes = rep.changes_since_save()
        if not changes:
            return
        now = time.time()
        elapsed = now - self.lastsave()
        if not self.last_bgsave_ok and now - self.last_bgsave_try <= BGSAVE_RETRY_DELAY_S:
            return
        for seconds, needed in self.server.config.save:
            if changes >= needed and elapsed > seconds:
                log.info("%d changes in %d seconds. Saving...", needed, seconds)
                self.bgsave()
                return

    def info_fields(self) -> list[tuple[str, object]]:
        """INFO persistence, Redis's field names."""
        rep = self.server.replicator
        cfg = self.server.config
        running = self.in_progress()
        return [
            ("loading", 0),
            ("async_loading", 0),
            ("current_cow_peak", 0),
            ("current_cow_size", 0),
            ("current_cow_size_age", 0),
            ("current_fork_perc", "0.00"),
            ("current_save_keys_processed", 0),
            ("current_save_keys_total", 0),
            ("rdb_changes_since_last_save", rep.changes_since_save() if rep is not None else 0),
            ("rdb_bgsave_in_progress", int(running and self.child == "rdb")),
            ("rdb_last_save_time", self.lastsave()),
            ("rdb_last_bgsave_status", "ok" if self.last_bgsave_ok else "err"),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_secs),
            ("rdb_current_bgsave_time_sec",
             int(time.time() - self.bgsave_started) if running and self.bgsave_started else -1),
            ("rdb_saves", self.saves),
            ("rdb_last_cow_size", 0),
            ("rdb_last_load_keys_expired", 0),
            ("rdb_last_load_keys_loaded", 0),
            ("aof_enabled", int(cfg.appendonly)),
            ("aof_rewrite_in_progress", int(running and self.child == "aof")),
            ("aof_rewrite_scheduled", int(self.scheduled == "aof")),
            ("aof_last_rewrite_time_sec", -1),
            ("aof_current_rewrite_time_sec", -1),
            ("aof_last_bgrewrite_status", "ok" if self.last_rewrite_ok else "err"),
            ("aof_rewrites", self.rewrites),
            ("aof_rewrites_consecutive_failures", self.rewrite_failures),
            ("aof_last_write_status", "err" if rep is not None and rep.disk_error else "ok"),
            ("aof_last_cow_size", 0),
            ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
        ]
