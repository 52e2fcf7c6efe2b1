"""The packing sweep's pacing (server/sweep.py): busy regions get the small budget — peers'
batches count as work — and a sweep with nothing left to pack rests until something happens."""

from server.sweep import BUSY_BUDGET_S, IDLE_BUDGET_S, RESTING_EVERY, SweepPacer


def test_commands_or_peer_batches_make_a_tick_busy() -> None:
    p = SweepPacer()
    assert p.budget(0, 0, 0) == BUSY_BUDGET_S  # the first tick: no previous count
    assert p.budget(0, 0, 0) == IDLE_BUDGET_S  # nothing happened since
    assert p.budget(5, 0, 0) == BUSY_BUDGET_S  # a command, or a batch applied from a peer
    assert p.budget(5, 0, 0) == IDLE_BUDGET_S


def test_rests_after_a_pass_that_packed_nothing_while_nothing_happened() -> None:
    p = SweepPacer()
    p.budget(7, 0, 3)
    p.budget(7, 1, 3)  # pass 1 ended (it packed 3): not resting yet, its start is unknown
    assert not p.resting
    assert p.budget(7, 2, 3) == 0.0  # pass 2 ended, packed nothing, no activity:
    assert p.resting  # from now on one tick in RESTING_EVERY
    budgets = [p.budget(7, 2, 3) for _ in range(RESTING_EVERY * 3 - 1)]  # 3 * RESTING_EVERY ticks
    assert budgets.count(IDLE_BUDGET_S) == 3  # in all, counting the one above
    assert budgets.count(0.0) == RESTING_EVERY * 3 - 4


def test_activity_or_packing_wakes_the_sweep() -> None:
    p = SweepPacer()
    for passes in range(3):
        p.budget(1, passes, 0)
    assert p.resting
    assert p.budget(2, 2, 0) == BUSY_BUDGET_S  # a command: sweep at once
    assert not p.resting
    assert p.budget(2, 3, 0) == IDLE_BUDGET_S  # that pass began before the command ended
    assert not p.resting
    assert p.budget(2, 4, 1) == IDLE_BUDGET_S  # this one packed something: not resting
    assert not p.resting
    p.budget(2, 5, 1)
    assert p.resting  # a whole pass with nothing packed and nothing done
