"""The cyclic garbage collector while a region catches up.

A catch-up builds one long-lived entry per key, hundreds of thousands of them in a few
seconds, and nothing of it is cyclic garbage; the collector, left running, examines them
again in every full collection while they arrive (12 % of the receiving region's samples:
benchmarks/README.md, "Catch-up"). So while any peer link catches up (from the log until the
peer's first heartbeat, which it sends once it is live; a state merge until its swap) the
automatic collector is paused. When the last one ends it runs again, and after a big catch-up
what was loaded is frozen first (``gc.freeze``, as ``Server.recover`` does after a load): it
lives until overwritten, and later full collections need not rescan it. Reference counting
frees everything else at once meanwhile; only cyclic garbage made during the catch-up waits
(and, after a big one, stays: the price of never rescanning the loaded keys).
"""

from __future__ import annotations

import gc

# Effects or keys a catch-up took in, from which what it loaded is frozen at its end.
FREEZE_MIN = 50_000


class CatchupCollector:
    def __init__(self) -> None:
        self.holders = 0
        self.loaded = 0  # effects and keys taken in since the collector was paused
        self.paused_by_us = False
        self.freezes = 0

    def begin(self) -> None:
        """A catch-up starts (nested calls count)."""
        if self.holders == 0:
            self.loaded = 0
            self.paused_by_us = gc.isenabled()
            if self.paused_by_us:
                gc.disable()
        self.holders += 1

    def end(self) -> None:
        """A catch-up ended (or its link dropped); the last one resumes the collector."""
        if self.holders == 0:
            return
        self.holders -= 1
        if self.holders == 0 and self.paused_by_us:
            self.paused_by_us = False
            if self.loaded >= FREEZE_MIN:
                gc.freeze()
                self.freezes += 1
            gc.enable()


# The collector is the process's: one pause for every link of this process.
COLLECTOR = CatchupCollector()
