"""The keyspace: databases of keys, each key a typed CRDT value plus an expire register.

Every change goes through ``_apply(effect, tag, ctx)``: a local write (``emit``) and a
replicated batch (``apply_batch``) both call it, and it hands the effect to its interpreter
(the content types' live in their modules under ``crdt/types/``; the key-level ``Delete``,
``Expire`` and ``Flush`` here):

* ``tag`` is ``(hlc, origin, seq)``: the effect's dot and timestamp;
* ``ctx`` is the origin's version vector just before the effect: what it had observed.

State that arrives whole (a snapshot at start-up, a peer's state to merge) goes through
``clear``/``install``/``merge_entry``/``join_entry``, which keep the same indexes true as effects do: the
expire index, the orphan expire registers and the GC queue.

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

from collections import OrderedDict
from collections.abc import Callable
from itertools import islice
from types import MethodType
from typing import Any

from . import expiry
from .clock import VV, HybridClock, Tag, covers, vv_leq
from .conflicts import ConflictLog
from .effects import EFFECTS, NO_DB, Batch, Delete, Effect, Expire, Flush
from .entry import Database, Entry, EntryExtra
from .packing import PACKABLE, Packed, unpack
from .types import interpreter_table, registered
from .types.strings import SEQ_BITS, StrValue

# Keys of small collections stay live (unpacked) while among this many most recently written:
# older ones are packed at the next batch boundary (``pack_cold``).
RECENT_KEYS = 256


class Keyspace:
    def __init__(self, region: str, databases: int = 16) -> None:
        self.region = region
        self.dbs = [Database() for _ in range(databases)]
        self.vv: VV = {}
        # Everything every region has applied: our own VV until ``expect_peers``; then the
        # replication layer keeps it the minimum over the regions.
        self.stable: VV = self.vv
        self.has_peers = False
        self.clock = HybridClock()
        self.conflicts = ConflictLog()
        self.now_ms = 0
        # Called with (db, key) after every applied change to a key, and (db, None) after a
        # flush (db -1 = all): WATCH and keyspace statistics hook in here.
        self.on_change: Callable[[int, bytes | None], None] | None = None
        # Set by ``emit_quiet``: the effect being applied changes no visible value (SADD of a
        # present member, ZADD of an equal score), so the hook is told not to signal it.
        self.quiet = False
        self.quieted: list[Effect] = []  # this batch's quiet effects (no keyspace events)
        # Keyspace notifications of the open batch (the server's commands add them; commit
        # attaches them to the batch), and who hears a replicated batch's (``Batch.events``).
        self.events: list[tuple[str, str, int, bytes]] = []
        self.on_events: Callable[[tuple[tuple[str, str, int, bytes], ...]], None] | None = None
        # The open batch (``emit`` until ``commit``): its effects (None: no batch open), first
        # seq, HLC and deps. Plain fields, not a Batch: one Batch is made per commit.
        self.open_effects: list[Effect] | None = None
        self._open_seq = 0
        self._open_hlc = 0
        self._open_deps: VV = {}
        self._deleted: set[tuple[int, bytes]] = set()  # keys deleted in the open batch
        self._types = registered()
        # effect class -> interpreter(effect, tag, ctx), bound to this keyspace
        self._dispatch: dict[type, Callable[[Any, Tag, VV], None]] = {
            cls: MethodType(fn, self) for cls, fn in interpreter_table().items()
        }
        self._dispatch.update({Delete: self._delete, Expire: self._expire, Flush: self._flush})
        self._creates = {cls: info.creates for cls, info in EFFECTS.items() if info.creates}
        # Packing at write time (crdt/packing.py): the packable keys written lately, oldest
        # first; past ``recent_keys`` of them, the oldest are packed when a batch ends, so a
        # burst of writes to many small collections never holds more than that many live.
        self.recent_keys = RECENT_KEYS
        self._recent: OrderedDict[tuple[int, bytes], None] = OrderedDict()
        self.packed = 0  # contents packed at write time (INFO)
        # Called with (db, key) after a key's content was packed (the memory accounting).
        self.on_packed: Callable[[int, bytes], None] | None = None
        # State a type keeps beside the keys, by type name (the function library registry).
        self.type_state: dict[str, Any] = {}

    def expect_peers(self) -> None:
        """Other regions exist: keep the metadata they may still need until ``stable`` (which
        the replication layer now maintains) says every region has observed it."""
        self.has_peers = True
        if self.stable is self.vv:
            self.stable = {}

    # -- the one write path -----------------------------------------------------------------
    def emit(self, effect: Effect) -> None:
        """Apply a local effect now and add it to the open batch.

        A write that creates a key (it has no content here) first observed-removes what
        this region saw of the key, whenever other regions exist: an expire register kept
        from an EXPIRE concurrent with a delete must not attach to a key created after both
        were seen, in any region, whatever order they arrive in and whether or not a region
        has already collected that register as stable."""
        t = type(effect)
        if t is Delete:
            self._deleted.add((effect.db, effect.key))
        elif self.has_peers and effect.db >= 0 and effect.key not in self.dbs[effect.db].entries:
            creates = self._creates.get(t)
            if (creates is not None and (effect.db, effect.key) not in self._deleted
                    and (creates is True or creates(effect))):
                self.emit(Delete(effect.db, effect.key))
        vv = self.vv
        region = self.region
        seq = vv.get(region, 0) + 1
        effects = self.open_effects
        if effects is None:
            effects = self.open_effects = []
            self._open_seq = seq
            self._open_hlc = self.clock.now(self.now_ms)
            self._open_deps = dict(vv)
        # ``_apply``, inlined (the hot path): our VV is the effect's context
        self._dispatch[t](effect, (self._open_hlc, region, seq), vv)
        vv[region] = seq
        if self.on_change is not None and effect.db != NO_DB:
            self.on_change(effect.db, effect.key if t is not Flush else None)
        effects.append(effect)

    def emit_quiet(self, effect: Effect) -> None:
        """``emit`` an effect that changes no visible value here (it still ships: add-wins
        needs the re-add). Redis signals no modified key for it: WATCH stays clean, no
        tracking invalidation, no blocked client woken."""
        self.quiet = True
        try:
            self.emit(effect)
        finally:
            self.quiet = False
        self.quieted.append(effect)

    def commit(self) -> Batch | None:
        """Close the open batch (end of a command or of EXEC) and return it, if any."""
        effects = self.open_effects
        if len(self._recent) > self.recent_keys:
            self.pack_cold()
        if self._deleted:
            self._deleted.clear()
        if self.quieted:
            self.quieted.clear()
        events = self.events
        if effects is None:
            if events:
                events.clear()
            return None
        self.open_effects = None
        if events:
            batch = Batch(self.region, self._open_seq, self._open_hlc, self._open_deps, effects,
                          tuple(events))
            events.clear()
            return batch
        return Batch(self.region, self._open_seq, self._open_hlc, self._open_deps, effects)

    def pending(self) -> list[Effect]:
        """The effects of the open batch so far (none when no batch is open)."""
        return self.open_effects if self.open_effects is not None else []

    def ready(self, batch: Batch) -> bool:
        """Causal delivery: every effect the origin had observed has been applied here."""
        deps = dict(batch.deps)
        deps.pop(batch.origin, None)
        return vv_leq(deps, self.vv) and self.vv.get(batch.origin, 0) >= batch.first_seq - 1

    def apply_batch(self, batch: Batch) -> int:
        """Apply a remote batch (caller checked ``ready``). Effects already applied are skipped
        (exactly once). Returns how many effects were applied."""
        if self.open_effects is not None:
            raise RuntimeError("a local batch is open")
        origin = batch.origin
        applied = 0
        ctx = dict(batch.deps)
        self.clock.observe(batch.hlc)
        vv = self.vv
        if batch.events and self.on_events is not None and vv.get(origin, 0) < batch.last_seq:
            # Before the effects: the hook can still see what they are about to change.
            self.on_events(batch.events)
        seq = batch.first_seq - 1
        hlc = batch.hlc
        dispatch = self._dispatch
        on_change = self.on_change
        for effect in batch.effects:  # (``_apply``, inlined: this is a peer's hot loop)
            seq += 1
            if vv.get(origin, 0) >= seq:
                continue
            ctx[origin] = seq - 1
            t = type(effect)
            dispatch[t](effect, (hlc, origin, seq), ctx)
            vv[origin] = seq
            if on_change is not None and effect.db != NO_DB:
                on_change(effect.db, effect.key if t is not Flush else None)
            applied += 1
        if len(self._recent) > self.recent_keys:
            self.pack_cold()
        return applied

    def pack_cold(self) -> int:
        """Pack the small collections written longest ago beyond the ``recent_keys`` latest
        (between batches only: no command holds one of their contents then). How many."""
        recent, dbs, keep = self._recent, self.dbs, self.recent_keys
        done = 0
        while len(recent) > keep:
            dbi, key = recent.popitem(last=False)[0]
            if dbs[dbi].pack_key(key):
                done += 1
                if self.on_packed is not None:
                    self.on_packed(dbi, key)
        self.packed += done
        return done

    def _apply(self, effect: Effect, tag: Tag, ctx: VV) -> None:
        """Interpret one effect and count its dot as applied (``ctx`` may be our own VV: it
        is read before the dot is added)."""
        t = type(effect)
        self._dispatch[t](effect, tag, ctx)
        self.vv[tag[1]] = tag[2]
        if self.on_change is not None and effect.db != NO_DB:
            self.on_change(effect.db, effect.key if t is not Flush else None)

    # -- metadata GC ----------------------------------------------------------------------
    def collect(self, budget: int) -> int:
        """Drop metadata every region has observed (covered by ``stable``), for up to
        ``budget`` pending keys: "never" expire entries (once all of a key's expire entries
        are stable and resolve to never, the register is empty-equivalent: any later write
        observes them) and expire registers of keys without content. A SET's own "never"
        entry becomes the shared ``OWN_NEVER`` marker instead, whatever way it was stored, so
        the result does not depend on the path the state took. Keys whose metadata is not
        stable yet go back to the end of the queue. Returns how many keys were cleaned."""
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
                entry = db.find(key)
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
                if entry.x is expiry.OWN_NEVER:  # shared: costs nothing, needs no collecting
                    continue
                exp = entry.expire
                if not exp:
                    continue
                if all(covers(stable, e) for e in exp):
                    if expiry.resolve(exp) == expiry.PERSISTENT:
                        if type(entry.x) is list and entry.is_own_never(exp):
                            entry.x = expiry.OWN_NEVER  # the same, as the shared marker
                        else:
                            entry.expire = None
                        cleaned += 1
                else:
                    pending[key] = None
            budget -= n
            if budget <= 0:
                break
        return cleaned

    # -- what interpreters use ----------------------------------------------------------------
    def entry(self, db: Database, key: bytes) -> Entry:
        """The key's entry, created (with its orphan expire entries, if any) when absent."""
        entry = db.find(key)
        if entry is None:
            entry = Entry()
            db.entries[key] = entry
            entry.x = db.orphan_expiry.pop(key, None)  # the expire entries, if any
            db.generation += 1
        return entry

    @staticmethod
    def new_entry() -> Entry:
        return Entry()

    def open(self, dbi: int, key: bytes, name: str, tag: Tag, ctx: VV) -> tuple[Database, Entry, Any]:
        """For a write of type ``name`` (not string) to ``key``: its database, entry and content
        of that type (created empty if absent), after removing what the write observed of
        the key's other types. The interpreter calls ``settle`` when done."""
        db = self.dbs[dbi]
        entry = self.entry(db, key)
        x = entry._extra()
        other = x.other
        if type(other) is not list and other is not None and other.type_name == name:
            if isinstance(other, Packed):
                other = x.other = unpack(other)
            content = other
            if entry.val is not None or x.contribs:
                self.clear_others(dbi, key, entry, name, tag, ctx)
        else:
            if entry.val is not None or x.contribs or other is not None:
                self.clear_others(dbi, key, entry, name, tag, ctx)
            content = entry.part(name)
            if content is None:
                content = self._types[name].new()
                entry.put(content)
        if name in PACKABLE:
            recent = self._recent
            k = (dbi, key)
            if k not in recent:
                recent[k] = None
        return db, entry, content

    def clear_others(self, db: int, key: bytes, entry: Entry, name: str, tag: Tag, ctx: VV) -> None:
        """A write of type ``name`` removes what it observed of the key's other types."""
        for content in entry.parts():
            if content.type_name == name:
                continue
            content.remove_observed(ctx)
            if content.is_empty():
                entry.drop(content)
            else:
                self.conflicts.record(db, key, "type", tag, content.latest())

    def settle(self, db: Database, key: bytes, entry: Entry) -> None:
        """Drop empty contents; move an entry without content out of the keyspace."""
        x = entry.x
        if type(x) is EntryExtra:
            other = x.other
            if other is None:
                pass
            elif type(other) is not list:  # one content: the common case
                if other.is_empty():
                    x.other = None
            else:
                for content in entry.others():
                    if content.is_empty():
                        entry.drop(content)
            entry.compact()
            x = entry.x
        if entry.val is None and (x is None or type(x) is list):  # no content left
            if x is expiry.OWN_NEVER:
                x = entry._pin()
            del db.entries[key]
            db.expires.pop(key, None)
            db.generation += 1
            if x:
                self._keep_orphan(db, key, x)
            return
        self.index_expire(db, key, entry)

    def _keep_orphan(self, db: Database, key: bytes, entries: list[expiry.ExpireEntry]) -> None:
        """Keep an expire register without content until every region has observed it."""
        kept = [e for e in entries if not covers(self.stable, e)]
        if kept:
            db.orphan_expiry[key] = kept
            db.gc_pending[key] = None
        else:
            db.orphan_expiry.pop(key, None)

    @staticmethod
    def index_expire(db: Database, key: bytes, entry: Entry) -> None:
        """Keep ``db.expires`` (keys with content and a finite expire time) in step, and queue
        a key whose expire register resolves to "never" for ``collect``."""
        x = entry.x
        exp = x if x is None or type(x) is list else x.expire
        if exp is None or exp is expiry.OWN_NEVER:  # no expire entries (or a SET's own
            # "never", which is empty): the common case
            if db.expires:
                db.expires.pop(key, None)
            return
        at = expiry.resolve(exp)
        if at:
            db.expires[key] = at
            return
        if db.expires:
            db.expires.pop(key, None)
        if exp:  # "never" entries (not the SET's own marker, which is empty): GC them later
            db.gc_pending[key] = None

    def write_expire(self, db: int, key: bytes, entry: Entry, tag: Tag, at: int, ctx: VV) -> None:
        if at == expiry.PERSISTENT and not self.has_peers:
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
        if own and not concurrent and type(entry.x) is list:
            entry.x = expiry.OWN_NEVER
            return
        # A conflict only when concurrent writes disagree on the time (two SETs without a TTL
        # both write "never": nothing to resolve).
        if concurrent and any(e[3] != at for e in entry.expire[:-1]):
            self.conflicts.record(db, key, "expire", tag, max(entry.expire[:-1]))

    # -- key-level effects --------------------------------------------------------------------
    def _delete(self, e: Delete, tag: Tag, ctx: VV) -> None:
        self._remove_key(self.dbs[e.db], e.key, ctx)

    def _remove_key(self, db: Database, key: bytes, ctx: VV) -> None:
        entry = db.find(key)
        if entry is None:
            orphan = expiry.remove(db.orphan_expiry.get(key), ctx)
            if orphan:
                db.orphan_expiry[key] = orphan
            else:
                db.orphan_expiry.pop(key, None)
            return
        for content in entry.parts():
            content.remove_observed(ctx)
        entry.expire = expiry.remove(entry.expire, ctx)
        self.settle(db, key, entry)

    def _expire(self, e: Expire, tag: Tag, ctx: VV) -> None:
        db = self.dbs[e.db]
        entry = db.find(e.key)
        if entry is None:  # content removed concurrently: keep the write aside
            entries, _ = expiry.write(db.orphan_expiry.get(e.key), tag, e.at_ms, ctx)
            self._keep_orphan(db, e.key, entries)
            return
        self.write_expire(e.db, e.key, entry, tag, e.at_ms, ctx)
        self.settle(db, e.key, entry)

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

    # -- state that arrives whole (snapshot restore, state merge) ------------------------------
    def clear(self) -> None:
        """Forget every key and the VV (before restoring a snapshot)."""
        for db in self.dbs:
            db.entries.clear()
            db.expires.clear()
            db.orphan_expiry.clear()
            db.gc_pending.clear()
            db.generation += 1
        self.vv.clear()

    def install(self, dbi: int, key: bytes, entry: Entry, notify: bool = True) -> None:
        """Put a decoded entry (contents and expire entries, maybe neither) in place of
        whatever ``key`` holds, with every index as the same history applied as effects would
        leave it. ``notify=False``: the caller signals the change itself (a bulk install
        signals each database once)."""
        db = self.dbs[dbi]
        if db.entries.pop(key, None) is not None:
            db.generation += 1
        if db.orphan_expiry:
            db.orphan_expiry.pop(key, None)
        if db.expires:
            db.expires.pop(key, None)
        if entry.has_other_types():
            for content in entry.others():
                if content.is_empty():
                    entry.drop(content)
            entry.compact()
        x = entry.x
        if type(x) is list and entry.is_own_never(x):
            entry.x = expiry.OWN_NEVER  # as the SET that wrote it stores it
        db.entries[key] = entry
        db.generation += 1
        self.settle(db, key, entry)  # (an entry without content becomes an orphan register)
        if notify and self.on_change is not None:
            self.on_change(dbi, key)

    def merge_entry(self, dbi: int, key: bytes, other: Entry, theirs: VV, mine: VV) -> None:
        """State merge of one key: join our entry with a peer's (``theirs`` is the peer's VV,
        ``mine`` ours before the merge began), then ``install`` the result."""
        self.install(dbi, key, self.join_entry(dbi, key, other, theirs, mine))

    def join_entry(self, dbi: int, key: bytes, other: Entry, theirs: VV, mine: VV) -> Entry:
        """Our entry for ``key`` joined with a peer's, as a new entry: ours is left as it is
        (a sliced merge keeps serving it until the merged state is swapped in), ``other`` may
        be used up. Keeps what both hold, and what one side holds that the other's VV has not
        observed."""
        db = self.dbs[dbi]
        entry = db.peek(key)  # (left as it is)
        if entry is None:
            # Nothing here (the common case of a region catching up): the join is the peer's
            # entry minus what we observed and removed — ``other`` itself, filtered.
            a = db.orphan_expiry.get(key) or []
            merged = other
            for content in other.parts():
                content.merge_from(self._types[content.type_name].new(), theirs, mine)
                if content.is_empty():
                    merged.drop(content)
        else:
            a = entry.expire or []
            merged = Entry()
            names = dict.fromkeys([c.type_name for c in entry.parts()] + [c.type_name for c in other.parts()])
            for name in names:
                t = self._types[name]
                content = entry.part(name)
                if content is entry:  # the string content: copy it out of the entry being replaced
                    content = StrValue()
                    content.regs, content.contribs = entry.regs, entry.contribs
                elif content is not None:  # a copy: ``merge_from`` changes it in place
                    regions: list[str] = []
                    index: dict[str, int] = {}

                    def rid(name: str, regions: list[str] = regions, index: dict[str, int] = index) -> int:
                        i = index.get(name)
                        if i is None:
                            i = index[name] = len(regions)
                            regions.append(name)
                        return i

                    content = t.decode(content.encode(rid), regions)
                else:
                    content = t.new()
                theirs_part = other.part(name)
                content.merge_from(theirs_part if theirs_part is not None else t.new(), mine, theirs)
                if not content.is_empty():
                    merged.put(content)
        b = other.expire or []
        if a or b:
            kept = ([e for e in a if e in b or not covers(theirs, e)]
                    + [e for e in b if e not in a and not covers(mine, e)])
            merged.expire = sorted(kept) or None
        return merged
