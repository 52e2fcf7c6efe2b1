"""The keyspace: databases of keys, each key a typed CRDT value plus an expire register.

``apply`` is the only way state changes. A local write (``emit``) and a replicated batch
(``apply_batch``) both end in ``_apply(effect, tag, ctx)``:

* ``tag`` is ``(hlc, origin, seq)``: the effect's dot and timestamp;
* ``ctx`` is the origin's version vector just before the effect: what it had observed.

Type shadows: a key written concurrently as two types keeps both contents; the visible type
is the one whose latest live write has the greatest tag, and any later write to the key
removes what it observed of the other types (SEMANTICS.md, "type conflicts").

Expiry: a key whose expire time has passed reads as absent at once (reads take ``now_ms``,
set by the server: this package never reads the clock). Removing its content is a normal
``Delete`` the server emits (lazily before a write to it, or from the active expire cycle).

An expire register whose key has no content is kept aside in ``Database.orphan_expiry`` until
every region has observed it (``stable``): an EXPIRE concurrent with a DEL must still apply
to a write that is concurrent with both, whatever order the three arrive in.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from . import expiry
from .clock import VV, HybridClock, Tag, covers, vv_leq
from .conflicts import ConflictLog
from .effects import (
    KEEP_TTL,
    Assign,
    Batch,
    Delete,
    Effect,
    Expire,
    Flush,
    HashDelete,
    HashIncr,
    HashSet,
    Incr,
    SetAdd,
    SetRemove,
)
from .ormap import ORMap
from .orset import ORSet
from .strings import SEQ_BITS, SEQ_MASK, Extra, StrValue

STRING, SET, HASH = "string", "set", "hash"


class EntryExtra(Extra):
    """An entry's rarer parts: a set or hash content, and its expire entries."""

    __slots__ = ("oset", "omap", "expire")

    def __init__(self, expire: list[expiry.ExpireEntry] | None = None) -> None:
        super().__init__()
        self.oset: ORSet | None = None
        self.omap: ORMap | None = None
        self.expire = expire


class Entry(StrValue):
    """One key: at most one content per type (usually exactly one) and its expire entries.

    The string content lives in the entry's own slots (an Entry *is* its StrValue, so a
    plain string key costs one 64-byte object): ``entry.string`` is the entry itself when it
    holds an assignment or a contribution, else None. Everything else hangs off ``x``: None,
    the expire entries alone (a list, or ``expiry.OWN_NEVER`` for the "never" entry written
    with the winning assignment, which ``_pin`` turns back into a list before that assignment
    changes), or an ``EntryExtra``."""

    __slots__ = ()

    def _extra(self) -> EntryExtra:
        x = self.x
        if x is None or type(x) is list:
            x = self.x = EntryExtra(self._pin() if x is expiry.OWN_NEVER else x)
        return x

    def _own_never(self) -> list[expiry.ExpireEntry]:
        """What the ``OWN_NEVER`` marker stands for."""
        stamp = self.stamp
        return [(stamp >> SEQ_BITS, self.org, stamp & SEQ_MASK, expiry.PERSISTENT)]

    def _pin(self) -> list[expiry.ExpireEntry]:
        """Replace the ``OWN_NEVER`` marker by the entry it stands for."""
        x = self.x = self._own_never()
        return x

    def _will_change(self) -> None:  # (StrValue's hook, called before ``regs`` changes)
        if self.x is expiry.OWN_NEVER:
            self._pin()

    def assign(self, tag: Tag, value: bytes, ctx: VV) -> bool:
        self._will_change()  # the assignment may change: pin its "never" entry first
        return StrValue.assign(self, tag, value, ctx)

    @property
    def expire(self) -> list[expiry.ExpireEntry] | None:
        x = self.x
        if x is None or type(x) is list:
            return self._own_never() if x is expiry.OWN_NEVER else x
        return x.expire

    @expire.setter
    def expire(self, value: list[expiry.ExpireEntry] | None) -> None:
        x = self.x
        if x is None or type(x) is list:
            self.x = value
        else:
            x.expire = value

    @property
    def oset(self) -> ORSet | None:
        x = self.x
        return None if x is None or type(x) is list else x.oset

    @oset.setter
    def oset(self, value: ORSet | None) -> None:
        if value is not None:
            self._extra().oset = value
        elif self.x is not None and type(self.x) is not list:
            self.x.oset = None

    @property
    def omap(self) -> ORMap | None:
        x = self.x
        return None if x is None or type(x) is list else x.omap

    @omap.setter
    def omap(self, value: ORMap | None) -> None:
        if value is not None:
            self._extra().omap = value
        elif self.x is not None and type(self.x) is not list:
            self.x.omap = None

    def compact(self) -> None:
        """Drop an ``EntryExtra`` that holds nothing but the expire entries (or nothing)."""
        x = self.x
        if (type(x) is EntryExtra and x.more is None and not x.contribs
                and x.oset is None and x.omap is None):
            self.x = x.expire

    def has_other_types(self) -> bool:
        """True when the entry holds a set or a hash (fast: the common string entry has none)."""
        x = self.x
        return x is not None and type(x) is not list and (x.oset is not None or x.omap is not None)

    @property
    def string(self) -> StrValue | None:
        return self if self.val is not None or self.contribs else None

    @string.setter
    def string(self, sv: StrValue | None) -> None:
        if sv is self:
            return
        if sv is None:
            self.val = self.more = self.contribs = None
            return
        self._will_change()
        self.stamp, self.org, self.val = sv.stamp, sv.org, sv.val
        self.more, self.contribs = sv.more, sv.contribs

    def parts(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        if self.string is not None:
            out.append((STRING, self.string))
        if self.oset is not None:
            out.append((SET, self.oset))
        if self.omap is not None:
            out.append((HASH, self.omap))
        return out

    @property
    def kind(self) -> str:
        """The visible type (the entry has content, or it would not be in the database)."""
        x = self.x
        if x is None or type(x) is list or (x.oset is None and x.omap is None):
            return STRING
        if self.val is None and not x.contribs:  # no string content
            if x.omap is None:
                return SET
            if x.oset is None:
                return HASH
        return max(self.parts(), key=lambda p: p[1].latest())[0]

    def content(self) -> Any:
        """The visible content object (StrValue, ORSet or ORMap)."""
        kind = self.kind
        if kind == STRING:
            return self
        return self.x.oset if kind == SET else self.x.omap

    def expire_at(self) -> int:
        x = self.x
        return expiry.resolve(x if x is None or type(x) is list else x.expire)  # OWN_NEVER: 0


class Database:
    __slots__ = ("entries", "expires", "orphan_expiry", "generation", "gc_pending")

    def __init__(self) -> None:
        self.entries: dict[bytes, Entry] = {}  # keys with content
        self.expires: dict[bytes, int] = {}  # keys with content and a finite expire time
        self.orphan_expiry: dict[bytes, list[expiry.ExpireEntry]] = {}
        self.generation = 0  # bumped when a key appears or disappears (SCAN caches)
        # Keys holding metadata that can go once every region has observed it ("never"
        # expire entries, expire registers without content), oldest first: see ``collect``.
        self.gc_pending: dict[bytes, None] = {}

    def get(self, key: bytes, now_ms: int) -> Entry | None:
        """The visible entry, or None when absent or expired."""
        entry = self.entries.get(key)
        if entry is not None and entry.x is not None:  # it may have expire entries
            at = self.expires.get(key)
            if at is not None and at <= now_ms:
                return None
        return entry

    def is_expired(self, key: bytes, now_ms: int) -> bool:
        at = self.expires.get(key)
        return at is not None and at <= now_ms

    def visible_count(self, now_ms: int) -> int:
        expired = sum(1 for at in self.expires.values() if at <= now_ms)
        return len(self.entries) - expired


class Keyspace:
    def __init__(self, region: str, databases: int = 16) -> None:
        self.region = region
        self.dbs = [Database() for _ in range(databases)]
        self.vv: VV = {}
        # Everything every region has applied. Without peers that is our own VV; the
        # replication layer replaces it with the minimum over the regions.
        self.stable: VV = self.vv
        self.clock = HybridClock()
        self.conflicts = ConflictLog()
        self.now_ms = 0
        # Called with (db, key) after every applied change to a key, and (db, None) after a
        # flush (db -1 = all): WATCH and keyspace statistics hook in here.
        self.on_change: Callable[[int, bytes | None], None] | None = None
        self._open: Batch | None = None
        self._deleted: set[tuple[int, bytes]] = set()  # keys deleted in the open batch
        self._dispatch: dict[type, Callable[[Any, Tag, VV], None]] = {
            Assign: self._assign,
            Incr: self._incr,
            Delete: self._delete,
            Expire: self._expire,
            SetAdd: self._set_add,
            SetRemove: self._set_remove,
            HashSet: self._hash_set,
            HashDelete: self._hash_delete,
            HashIncr: self._hash_incr,
            Flush: self._flush,
        }

    # -- the local write path -------------------------------------------------------------
    def emit(self, effect: Effect) -> None:
        """Apply a local effect now and add it to the open batch.

        A write that creates a key (it has no content here) first observed-removes what
        this region saw of the key, whenever other regions exist: an expire register kept
        from an EXPIRE concurrent with a delete must not attach to a key created after both
        were seen, in any region, whatever order they arrive in and whether or not a region
        has already collected that register as stable."""
        if (self.stable is not self.vv and type(effect) in _CREATES
                and effect.key not in self.dbs[effect.db].entries
                and (effect.db, effect.key) not in self._deleted
                # A SET that writes the TTL removes what it observed of the register itself.
                and not (type(effect) is Assign and effect.expire_at != KEEP_TTL)):
            self._emit(Delete(effect.db, effect.key))
        self._emit(effect)

    def _emit(self, effect: Effect) -> None:
        t = type(effect)
        if t is Delete:
            self._deleted.add((effect.db, effect.key))
        vv = self.vv
        region = self.region
        seq = vv.get(region, 0) + 1
        batch = self._open
        if batch is None:
            batch = self._open = Batch(region, seq, self.clock.now(self.now_ms), dict(vv), [])
        self._dispatch[t](effect, (batch.hlc, region, seq), vv)
        if self.on_change is not None:
            self.on_change(effect.db, effect.key if t is not Flush else None)
        vv[region] = seq
        batch.effects.append(effect)

    def commit(self) -> Batch | None:
        """Close the open batch (end of a command or of EXEC) and return it, if any."""
        batch, self._open = self._open, None
        if self._deleted:
            self._deleted.clear()
        return batch

    def in_batch(self) -> bool:
        return self._open is not None

    # -- the replicated write path --------------------------------------------------------
    def ready(self, batch: Batch) -> bool:
        """Causal delivery: every effect the origin had observed has been applied here."""
        deps = dict(batch.deps)
        deps.pop(batch.origin, None)
        return vv_leq(deps, self.vv) and self.vv.get(batch.origin, 0) >= batch.first_seq - 1

    def apply_batch(self, batch: Batch) -> int:
        """Apply a remote batch (caller checked ``ready``). Effects already applied are skipped
        (exactly once). Returns how many effects were applied."""
        if self._open is not None:
            raise RuntimeError("a local batch is open")
        origin = batch.origin
        applied = 0
        ctx = dict(batch.deps)
        self.clock.observe(batch.hlc)
        for i, effect in enumerate(batch.effects):
            seq = batch.first_seq + i
            if self.vv.get(origin, 0) >= seq:
                continue
            ctx[origin] = seq - 1
            self._apply(effect, (batch.hlc, origin, seq), ctx)
            self.vv[origin] = seq
            applied += 1
        return applied

    def _apply(self, effect: Effect, tag: Tag, ctx: VV) -> None:
        self._dispatch[type(effect)](effect, tag, ctx)
        if self.on_change is not None:
            self.on_change(effect.db, effect.key if type(effect) is not Flush else None)

    # -- metadata GC ----------------------------------------------------------------------
    def collect(self, budget: int) -> int:
        """Drop metadata every region has observed (covered by ``stable``), for up to
        ``budget`` pending keys: "never" expire entries (once all of a key's expire entries
        are stable and resolve to never, the register is empty-equivalent: any later write
        observes them) and expire registers of keys without content. Keys whose metadata is
        not stable yet go back to the end of the queue. Returns how many keys were cleaned."""
        stable = self.stable
        cleaned = 0
        for db in self.dbs:
            pending = db.gc_pending
            # One iterator per call: ``next(iter(pending))`` per key would rescan the deleted
            # slots at the front of the dict every time (quadratic: seconds for 100k keys).
            batch = list(islice(pending, budget))
            n = len(batch)
            for key in batch:
                del pending[key]
                entry = db.entries.get(key)
                if entry is None:
                    orphan = db.orphan_expiry.get(key)
                    if not orphan:
                        continue
                    kept = [e for e in orphan if not covers(stable, e)]
                    if kept:
                        db.orphan_expiry[key] = kept
                        pending[key] = None
                    else:
                        del db.orphan_expiry[key]
                        cleaned += 1
                    continue
                exp = entry.expire
                if not exp:
                    continue
                if all(covers(stable, e) for e in exp):
                    if expiry.resolve(exp) == expiry.PERSISTENT:
                        entry.expire = None
                        cleaned += 1
                else:
                    pending[key] = None
            budget -= n
            if budget <= 0:
                break
        return cleaned

    # -- effect interpreters --------------------------------------------------------------
    def _entry(self, db: Database, key: bytes) -> Entry:
        entry = db.entries.get(key)
        if entry is None:
            entry = db.entries[key] = Entry()
            entry.x = db.orphan_expiry.pop(key, None)  # the expire entries, if any
            db.generation += 1
        return entry

    def _clear_others(self, db: int, key: bytes, entry: Entry, kind: str, tag: Tag, ctx: VV) -> None:
        """A write of type ``kind`` removes what it observed of the key's other types."""
        for other, content in entry.parts():
            if other == kind:
                continue
            content.remove_all(ctx) if other != STRING else content.remove(ctx)
            if content.is_empty():
                setattr(entry, _SLOT[other], None)
            else:
                self.conflicts.record(db, key, "type", tag, content.latest())

    def _settle(self, db: Database, key: bytes, entry: Entry) -> None:
        """Drop empty contents; move an entry without content out of the keyspace."""
        x = entry.x
        if type(x) is EntryExtra:
            if x.oset is not None and x.oset.is_empty():
                x.oset = None
            if x.omap is not None and x.omap.is_empty():
                x.omap = None
            entry.compact()
            x = entry.x
        if entry.val is None and (x is None or type(x) is list):  # no content left
            if x is expiry.OWN_NEVER:
                x = entry._pin()
            del db.entries[key]
            db.expires.pop(key, None)
            db.generation += 1
            if x:
                kept = [e for e in x if not covers(self.stable, e)]
                if kept:
                    db.orphan_expiry[key] = kept
                    db.gc_pending[key] = None
            return
        self._index_expire(db, key, entry)

    @staticmethod
    def _index_expire(db: Database, key: bytes, entry: Entry) -> None:
        """Keep ``db.expires`` (keys with content and a finite expire time) in step."""
        x = entry.x
        exp = x if x is None or type(x) is list else x.expire
        if exp is None:  # no expire entries: the common case
            if db.expires:
                db.expires.pop(key, None)
            return
        at = expiry.resolve(exp)
        if at:
            db.expires[key] = at
        elif db.expires:
            db.expires.pop(key, None)

    def _write_expire(self, db: int, key: bytes, entry: Entry, tag: Tag, at: int, ctx: VV) -> None:
        if at == expiry.PERSISTENT and self.stable is self.vv:
            # Without peers nothing concurrent can arrive, and "never" is the default: remove
            # what was observed instead of storing an entry (a SET costs no expire memory).
            if entry.x is not None and entry.expire is not None:
                entry.expire = expiry.remove(entry.expire, ctx)
            return
        own = (at == expiry.PERSISTENT and entry.stamp == tag[0] << SEQ_BITS | tag[2]
               and entry.org == tag[1])  # "never", written with the winning assignment
        if own and entry.x is None:  # a SET's own "never" and nothing else: no object, no GC
            entry.x = expiry.OWN_NEVER
            return
        entry.expire, concurrent = expiry.write(entry.expire, tag, at, ctx)
        if at == expiry.PERSISTENT:
            if own and not concurrent and type(entry.x) is list:
                entry.x = expiry.OWN_NEVER
                return
            self.dbs[db].gc_pending[key] = None
        # A conflict only when concurrent writes disagree on the time (two SETs without a TTL
        # both write "never": nothing to resolve).
        if concurrent and any(e[3] != at for e in entry.expire[:-1]):
            self.conflicts.record(db, key, "expire", tag, max(entry.expire[:-1]))

    def _assign(self, e: Assign, tag: Tag, ctx: VV) -> None:
        db = self.dbs[e.db]
        key = e.key
        entry = db.entries.get(key)
        if entry is None:
            entry = self._entry(db, key)
        elif entry.x is expiry.OWN_NEVER:
            if e.expire_at != KEEP_TTL and ctx.get(entry.org, 0) >= entry.stamp & SEQ_MASK:
                entry.x = None  # this write observed that "never" entry: it replaces it below
        elif entry.x is not None and entry.has_other_types():
            self._clear_others(e.db, key, entry, STRING, tag, ctx)
        x = entry.x
        if x is None or type(x) is list or x.contribs is None:  # a plain register (common)
            if entry.assign(tag, e.value, ctx):
                self._lww_conflict(e, entry, tag)
        else:
            # Contributions this assignment did not observe survive it; if it makes them
            # masked, that is a counter_masked conflict here too, not only where the increment
            # arrives last (_incr), so every region counts it whatever the delivery order.
            masked_before = entry.number()[1]
            if entry.assign(tag, e.value, ctx):
                self._lww_conflict(e, entry, tag)
            if entry.contribs and not masked_before and entry.number()[1]:
                for c in entry.contribs:
                    self.conflicts.record(e.db, key, "counter_masked", tag, c)
        if type(entry.x) is EntryExtra:  # rare: other types' content, losers, contributions
            entry.compact()  # (the assignment may have replaced all of them)
        if e.expire_at != KEEP_TTL:
            self._write_expire(e.db, key, entry, tag, e.expire_at, ctx)
        self._index_expire(db, key, entry)  # the entry has content: nothing else to settle

    def _lww_conflict(self, e: Assign, sv: StrValue, tag: Tag) -> None:
        loser = max(r for r in sv.regs if r[2] != tag[2] or r[1] != tag[1])
        self.conflicts.record(e.db, e.key, "lww", tag, loser)

    def _incr(self, e: Incr, tag: Tag, ctx: VV) -> None:
        db = self.dbs[e.db]
        entry = self._entry(db, e.key)
        if entry.has_other_types():
            self._clear_others(e.db, e.key, entry, STRING, tag, ctx)
        entry.add(tag, e.delta, self.stable)
        if tag[1] != self.region and entry.regs and entry.number()[1]:
            self.conflicts.record(e.db, e.key, "counter_masked", tag, max(entry.regs))
        self._settle(db, e.key, entry)

    def _delete(self, e: Delete, tag: Tag, ctx: VV) -> None:
        db = self.dbs[e.db]
        self._remove_key(db, e.key, ctx)

    def _remove_key(self, db: Database, key: bytes, ctx: VV) -> None:
        entry = db.entries.get(key)
        if entry is None:
            orphan = expiry.remove(db.orphan_expiry.get(key), ctx)
            if orphan:
                db.orphan_expiry[key] = orphan
            else:
                db.orphan_expiry.pop(key, None)
            return
        for kind, content in entry.parts():
            content.remove(ctx) if kind == STRING else content.remove_all(ctx)
        entry.expire = expiry.remove(entry.expire, ctx)
        self._settle(db, key, entry)

    def _expire(self, e: Expire, tag: Tag, ctx: VV) -> None:
        db = self.dbs[e.db]
        entry = db.entries.get(e.key)
        if entry is None:  # content removed concurrently: keep the write aside
            entries, _ = expiry.write(db.orphan_expiry.get(e.key), tag, e.at_ms, ctx)
            kept = [x for x in entries if not covers(self.stable, x)]
            if kept:
                db.orphan_expiry[e.key] = kept
            else:
                db.orphan_expiry.pop(e.key, None)
            return
        self._write_expire(e.db, e.key, entry, tag, e.at_ms, ctx)
        self._settle(db, e.key, entry)

    def _set_entry(self, e: SetAdd | SetRemove, tag: Tag, ctx: VV) -> tuple[Database, Entry, ORSet]:
        db = self.dbs[e.db]
        entry = self._entry(db, e.key)
        x = entry._extra()
        if x.omap is not None or entry.val is not None or x.contribs:
            self._clear_others(e.db, e.key, entry, SET, tag, ctx)
        if x.oset is None:
            x.oset = ORSet()
        return db, entry, x.oset

    def _set_add(self, e: SetAdd, tag: Tag, ctx: VV) -> None:
        db, entry, oset = self._set_entry(e, tag, ctx)
        oset.add(e.members, tag, ctx)
        self._settle(db, e.key, entry)

    def _set_remove(self, e: SetRemove, tag: Tag, ctx: VV) -> None:
        db, entry, oset = self._set_entry(e, tag, ctx)
        oset.remove(e.members, ctx)
        self._settle(db, e.key, entry)

    def _hash_entry(self, e: HashSet | HashDelete | HashIncr, tag: Tag, ctx: VV) -> tuple[Database, Entry, ORMap]:
        db = self.dbs[e.db]
        entry = self._entry(db, e.key)
        x = entry._extra()
        if x.oset is not None or entry.val is not None or x.contribs:
            self._clear_others(e.db, e.key, entry, HASH, tag, ctx)
        if x.omap is None:
            x.omap = ORMap()
        return db, entry, x.omap

    def _hash_set(self, e: HashSet, tag: Tag, ctx: VV) -> None:
        db, entry, omap = self._hash_entry(e, tag, ctx)
        if omap.assign(e.pairs, tag, ctx):
            self.conflicts.record(e.db, e.key, "lww", tag, None)
        self._settle(db, e.key, entry)

    def _hash_delete(self, e: HashDelete, tag: Tag, ctx: VV) -> None:
        db, entry, omap = self._hash_entry(e, tag, ctx)
        omap.remove(e.fields, ctx)
        self._settle(db, e.key, entry)

    def _hash_incr(self, e: HashIncr, tag: Tag, ctx: VV) -> None:
        db, entry, omap = self._hash_entry(e, tag, ctx)
        omap.add(e.field, tag, e.delta, self.stable)
        self._settle(db, e.key, entry)

    def _flush(self, e: Flush, tag: Tag, ctx: VV) -> None:
        targets = self.dbs if e.db < 0 else [self.dbs[e.db]]
        observed_all = vv_leq(self.vv, ctx) or ctx is self.vv
        for db in targets:
            if observed_all:  # the flush saw everything we have: nothing can survive it
                db.entries.clear()
                db.expires.clear()
                db.orphan_expiry.clear()
                db.generation += 1
                continue
            for key in list(db.entries):
                self._remove_key(db, key, ctx)
            for key in list(db.orphan_expiry):
                self._remove_key(db, key, ctx)


_SLOT = {STRING: "string", SET: "oset", HASH: "omap"}
# Effects that can give a key content (and so create it).
_CREATES = (Assign, Incr, SetAdd, HashSet, HashIncr)
