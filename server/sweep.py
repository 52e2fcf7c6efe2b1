"""Pacing of the packing sweep (crdt/packing.py's ``Compactor``), run by the expire cycle.

Small collections are packed at write time (``Keyspace.pack_cold``); the sweep only packs what
was unpacked since (reads unpack a cold key; a merge or a restore may leave keys live). So:

* the budget per tick is small (3 ms) while the region is busy — client commands *or*
  replicated batches from peers — and larger (30 ms) when nothing happened since the last tick;
* once a whole pass has packed nothing and nothing happened since that pass began, there is
  nothing left to pack: the sweep rests, visiting one tick in ``RESTING_EVERY`` only (an idle
  region with a million keys would otherwise spend 30% of a core re-reading them forever).
"""

from __future__ import annotations

BUSY_BUDGET_S = 0.003
IDLE_BUDGET_S = 0.030
RESTING_EVERY = 50  # ticks: one pass every ~5 s at hz 10 while resting


class SweepPacer:
    __slots__ = ("_last_activity", "_pass_seen", "_pass_packed", "_pass_activity", "resting",
                 "_ticks")

    def __init__(self) -> None:
        self._last_activity = -1
        self._pass_seen = 0  # the compactor's pass count when we last looked
        self._pass_packed = -1  # its packed count when the current pass began
        self._pass_activity = -1  # the activity count when the current pass began
        self.resting = False
        self._ticks = 0

    def budget(self, activity: int, passes: int, packed: int) -> float:
        """This tick's time budget for the sweep (0: skip this tick). ``activity`` is a count
        that grows with every command and every applied peer batch; ``passes``/``packed`` are
        the compactor's counters."""
        idle = activity == self._last_activity
        self._last_activity = activity
        if passes != self._pass_seen:  # a pass ended since the last tick
            self._pass_seen = passes
            self.resting = packed == self._pass_packed and activity == self._pass_activity
            self._ticks = 0
            self._pass_packed, self._pass_activity = packed, activity
        elif self.resting and activity != self._pass_activity:
            self.resting = False  # something happened: sweep again
        if self.resting:
            self._ticks += 1
            if self._ticks % RESTING_EVERY:
                return 0.0
        return IDLE_BUDGET_S if idle else BUSY_BUDGET_S
