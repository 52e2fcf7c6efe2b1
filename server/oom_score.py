"""``oom-score-adj`` / ``oom-score-adj-values`` (Redis 7.0's setOOMScoreAdj, Linux only).

While ``oom-score-adj`` is not ``no``, the process's ``/proc/self/oom_score_adj`` is the
value of its class (activekv is always a master here: the first of ``oom-score-adj-values``),
plus, for ``yes``/``relative``, the score the process had when activekv first took control
(``absolute``: the value itself); clamped to -1000..1000. Back to ``no`` restores that score.
Changing the values while enabled writes the new score.
"""

from __future__ import annotations

from typing import Any

PROC_PATH = "/proc/self/oom_score_adj"
FAILED = "Failed to set current oom_score_adj. Check server logs."
MASTER_CLASS = 0


class OomScore:
    def __init__(self, path: str = PROC_PATH) -> None:
        self.path = path
        self.adjusted = False  # Redis's oom_score_adjusted_by_redis
        self.base = 0  # the score before activekv took control

    def apply(self, mode: str, values: list[int]) -> bool:
        """Set the score for ``mode`` (``no``, ``yes`` = relative, ``absolute``); False when
        /proc could not be read or written (Redis: the CONFIG SET fails)."""
        if mode != "no":
            if not self.adjusted:
                try:
                    with open(self.path) as f:
                        self.base = int(f.read().strip() or 0)
                except (OSError, ValueError):
                    return False
                self.adjusted = True
            val = values[MASTER_CLASS] + (self.base if mode != "absolute" else 0)
            val = max(-1000, min(1000, val))
        elif self.adjusted:
            self.adjusted = False
            val = self.base
        else:
            return True
        try:
            with open(self.path, "w") as f:
                f.write("%d\n" % val)
        except OSError:
            return False
        return True

    def configure(self, config: Any) -> bool:
        return self.apply(config.get("oom-score-adj"), config.get("oom-score-adj-values"))
