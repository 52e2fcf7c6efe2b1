"""A peer's state merged in bounded slices, then swapped in at once.

``state.merge`` joins a whole state in one go; a region that does that with a big state stops
serving its clients meanwhile. ``SlicedMerge`` does the same join a bounded number of keys per
``step``, so the caller can yield to its event loop between slices:

* ``step`` reads the peer's records and computes each key's joined entry *aside*
  (``Keyspace.join_entry``: our entry is not changed), then, once the peer's keys are done, the
  keys only we hold (which lose what the peer saw removed). Clients keep reading and writing
  the keyspace as it was: it, and the VV, are the region's pre-merge state until the swap.
* Anything that changes a key meanwhile (a local write, another peer's batch, the expire
  cycle) is reported through ``touched`` (the keyspace's ``on_change``): that key's join is
  computed again at the swap, from its entry then and the VV then. A key nobody touched has
  the same entry then as when it was joined, and no dot it could hold was applied since (a dot
  is applied to the one key it writes), so its staged join is still the join.
* ``finish`` (one synchronous call) re-joins the touched keys, installs every joined entry,
  merges the function libraries and the VV and observes the peer's clock: the result is
  exactly ``state.merge`` of the peer's state into the keyspace as it is at the swap, i.e. the
  merge, then everything applied during it, in the order a merge-then-apply would give (the
  join commutes with effects the peer had not observed, and the effects applied here during
  the merge had not observed the peer's state: their contexts were our pre-merge VV).

Fast path: most records of a catch-up are a plain string (one assignment, no contributions,
no TTL) for a key we do not hold. Such a record is not decoded through the type registry: its
join is its one assignment unless we observed (and so removed) it, built straight into an
``Entry``; at the swap those entries go into the database with one ``dict.update``. And a
plain string only we hold, of which the peer observed nothing, is its own join: not staged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import expiry
from .clock import VV, covers, vv_merge
from .entry import Entry
from .keyspace import Keyspace
from .state import STATE_VERSION, StateError, _dec_entry, _from_version_1, _libraries, read
from .types.library import registry
from .types.strings import SEQ_BITS, SEQ_MASK, STRING


class SlicedMerge:
    def __init__(self, ks: Keyspace, records: Iterable[Any]) -> None:
        self.ks = ks
        self._records: Iterator[Any] = iter(records)
        self.header, _ = read(self._records)  # the header; the key records are read here
        self.theirs: VV = self.header["vv"]
        self._names: list[str] = self.header["regions"]
        self._version = self.header["version"]
        n = len(ks.dbs)
        # per database: key -> (the peer's entry or None, the joined entry)
        self.staged: list[dict[bytes, tuple[Entry | None, Entry]]] = [{} for _ in range(n)]
        # per database: key -> joined entry, for plain strings of keys we did not hold
        self.fast: list[dict[bytes, Entry]] = [{} for _ in range(n)]
        self.touched_keys: set[tuple[int, bytes]] = set()
        self.touched_dbs: set[int] = set()
        self._ours: Iterator[tuple[int, bytes]] | None = None
        self.phase = "theirs"  # then "ours", then "ready" (to ``finish``), then "done"
        self.keys = 0  # keys joined so far

    @property
    def ready(self) -> bool:
        return self.phase == "ready"

    def touched(self, db: int, key: bytes | None) -> None:
        """The keyspace changed ``key`` (None: a whole database; db -1: all of them)."""
        if key is not None:
            self.touched_keys.add((db, key))
        elif db < 0:
            self.touched_dbs.update(range(len(self.ks.dbs)))
        else:
            self.touched_dbs.add(db)

    def step(self, budget: int) -> int:
        """Join up to ``budget`` keys. Returns how many were joined."""
        ks = self.ks
        done = 0
        if self.phase == "theirs":
            done, ended = self._step_theirs(budget)
            if not ended:
                self.keys += done
                return done
            self.phase = "ours"
            self._ours = iter([(dbi, key) for dbi, db in enumerate(ks.dbs)
                               for key in [*db.entries, *db.orphan_expiry]
                               if key not in self.staged[dbi] and key not in self.fast[dbi]])
        if self.phase == "ours":
            assert self._ours is not None
            theirs, mine, dbs = self.theirs, ks.vv, ks.dbs
            for dbi, key in self._ours:
                mine_only = self.staged[dbi]
                if key not in mine_only:
                    entry = dbs[dbi].peek(key)  # (a cold string is decoded, left stored as it is)
                    x = entry.x if entry is not None else None
                    if (entry is not None and entry.val is not None and (x is None or type(x) is list)
                            and theirs.get(entry.org, 0) < entry.stamp & SEQ_MASK
                            and (x is None or not any(covers(theirs, e) for e in x))):
                        # A plain string the peer observed nothing of (its assignment and
                        # expire entries): the join is our entry as it is, nothing to stage
                        # (a touch meanwhile joins it again at the swap). The returning
                        # region's state is merged this way into every key of the others.
                        pass
                    else:
                        mine_only[key] = (None, ks.join_entry(dbi, key, Entry(), theirs, mine))
                    done += 1
                    if done >= budget:
                        break
            else:
                self.phase = "ready"
        self.keys += done
        return done

    def _step_theirs(self, budget: int) -> tuple[int, bool]:
        """Join up to ``budget`` of the peer's keys: (how many, whether its records ended)."""
        ks = self.ks
        theirs, mine, names, ndb = self.theirs, ks.vv, self._names, len(ks.dbs)
        staged, fast, dbs, join = self.staged, self.fast, ks.dbs, ks.join_entry
        v2 = self._version == STATE_VERSION
        never, own_never = expiry.PERSISTENT, expiry.OWN_NEVER
        done = 0
        for rec in self._records:
            if rec is None:
                return done, True
            dbi, key, data = rec
            if dbi == -1:
                self.header["extensions"][key] = data
                continue
            if dbi >= ndb:
                continue
            done += 1
            if not v2:
                data = _from_version_1(data)
            else:
                # The fast path: one string assignment without contributions and with no TTL
                # (no expire entry, or the assignment's own "never"), for a key we hold nothing
                # of and whose assignment we have not observed (and so removed): the join is
                # that assignment, stored as the SET that wrote it stores it.
                contents, exp = data
                if len(contents) == 1 and len(exp) <= 1:
                    name, _, enc = contents[0]
                    if name == STRING and len(enc[0]) == 1 and not enc[1]:
                        hlc, rid, seq, val = enc[0][0]
                        origin = names[rid]
                        db = dbs[dbi]
                        if mine.get(origin, 0) < seq and key not in db.entries and key not in db.orphan_expiry:
                            x: Any = None
                            if exp:
                                e = exp[0]
                                x = (own_never if e[0] == hlc and e[1] == rid and e[2] == seq and e[3] == never
                                     else False)
                            if x is not False:
                                entry = Entry()
                                entry.stamp, entry.org, entry.val, entry.x = hlc << SEQ_BITS | seq, origin, val, x
                                fast[dbi][key] = entry
                                if done >= budget:
                                    return done, False
                                continue
            other = _dec_entry(data, names)
            staged[dbi][key] = (other, join(dbi, key, other, theirs, mine))
            if done >= budget:
                return done, False
        raise StateError("truncated state stream")

    def finish(self) -> int:
        """The swap (synchronous): re-join what changed meanwhile, install every joined entry,
        then the libraries, the VV and the clock. Returns the number of the peer's keys."""
        assert self.phase == "ready"
        ks = self.ks
        theirs, mine = self.theirs, ks.vv
        redo = set(self.touched_keys)
        for dbi in self.touched_dbs:  # a flush: everything of the database again
            db = ks.dbs[dbi]
            redo.update((dbi, k) for k in [*self.staged[dbi], *self.fast[dbi], *db.entries, *db.orphan_expiry])
        for dbi, key in redo:
            if dbi < 0 or dbi >= len(ks.dbs):
                continue
            joined = self.staged[dbi]
            before = joined.get(key)
            other = before[0] if before is not None else self.fast[dbi].pop(key, None)
            joined[key] = (other, ks.join_entry(dbi, key, other if other is not None else Entry(),
                                                theirs, mine))
        peer_keys = 0
        install = ks.install
        for dbi, joined in enumerate(self.staged):
            fast = self.fast[dbi]
            if fast:  # keys absent when joined and untouched since: nothing to index
                db = ks.dbs[dbi]
                db.entries.update(fast)
                db.generation += 1
                peer_keys += len(fast)
            for key, (other, merged) in joined.items():
                if other is not None:
                    peer_keys += 1
                install(dbi, key, merged, notify=False)
            if (joined or fast) and ks.on_change is not None:
                ks.on_change(dbi, None)  # one signal per database, as a flush gives
        self.staged = [{} for _ in ks.dbs]
        self.fast = [{} for _ in ks.dbs]
        registry(ks).merge_from(_libraries(self.header), dict(mine), theirs)
        vv_merge(ks.vv, theirs)
        ks.clock.observe(self.header["hlc"])
        self.phase = "done"
        return peer_keys

