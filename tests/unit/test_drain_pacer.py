"""The drain pacer keeps the UI thread's share of time under its limit, whatever a redraw costs."""

from __future__ import annotations

from workbench.tui.chat.drain_pacer import DrainPacer


class Clocks:
    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 5.0


def pacer(clocks: Clocks, share: float = 0.05) -> DrainPacer:
    return DrainPacer(
        share=share, min_interval=0.02, max_interval=1.0,
        clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu,
        fast_max_interval=2.0, fast_chars_per_s=250.0,
    )  # fmt: skip


def simulate(
    redraw_cost: float, seconds: float, share: float = 0.05, chars_per_s: float = 40.0
) -> tuple[int, float]:
    """Ticks every 10 ms for ``seconds`` while text arrives at ``chars_per_s`` (a CPU's
    pace by default); each drain costs ``redraw_cost`` of UI CPU.

    Returns the number of drains and the UI's share of the time.
    """
    clocks = Clocks()
    subject = pacer(clocks, share)
    drains, spent = 0, 0.0
    for tick in range(int(seconds / 0.01)):
        clocks.wall += 0.01
        if subject.due():
            subject.drained(int(tick * 0.01 * chars_per_s))
            drains += 1
            clocks.cpu += redraw_cost
            spent += redraw_cost
    return drains, spent / seconds


def test_the_first_drain_is_due_at_once() -> None:
    assert pacer(Clocks()).due()


def test_cheap_redraws_run_at_the_top_rate() -> None:
    drains, share = simulate(redraw_cost=0.0001, seconds=2.0)
    assert drains >= 60  # every 20-30 ms: the minimum interval, rounded to ticks
    assert share < 0.05


def test_costly_redraws_are_spaced_to_keep_the_share() -> None:
    drains, share = simulate(redraw_cost=0.01, seconds=10.0)
    assert share <= 0.05 + 0.01  # one redraw of slack at the end
    assert 40 <= drains <= 51


def test_text_is_drawn_at_least_every_max_interval() -> None:
    drains, _share = simulate(redraw_cost=0.5, seconds=10.0)
    assert drains >= 9  # a redraw this costly still happens about once a second


def test_fast_text_waits_longer_rather_than_pass_the_share() -> None:
    """At a GPU's pace a costly redraw (a long reply's last block) waits for its share,
    up to the fast maximum: 0.1 s of UI at 5 % is affordable every 2 s."""
    slow_drains, slow_share = simulate(redraw_cost=0.1, seconds=20.0, chars_per_s=40.0)
    fast_drains, fast_share = simulate(redraw_cost=0.1, seconds=20.0, chars_per_s=1000.0)
    assert slow_drains >= 19  # slow text: drawn every second, the share passed (10 %)
    assert slow_share > 0.09
    assert 10 <= fast_drains <= 12  # fast text: every 2 s, the share kept
    assert fast_share <= 0.05 + 0.01


def test_fast_text_is_still_drawn_at_least_every_fast_maximum() -> None:
    drains, _share = simulate(redraw_cost=0.5, seconds=20.0, chars_per_s=1000.0)
    assert drains >= 10


def test_cheap_redraws_of_fast_text_keep_their_pace() -> None:
    drains, _share = simulate(redraw_cost=0.01, seconds=10.0, chars_per_s=1000.0)
    assert 40 <= drains <= 51  # the share's pace (every 200 ms), as for slow text


def test_the_pace_of_the_text_is_learnt_from_what_was_drawn() -> None:
    clocks = Clocks()
    subject = pacer(clocks)
    subject.drained(10)  # the first text: no pace known yet
    clocks.cpu += 10.0
    assert abs(subject.delay() - 1.0) < 1e-9
    clocks.wall += 1.0
    subject.drained(500)  # 490 characters in a second: fast
    clocks.cpu += 10.0
    assert abs(subject.delay() - 2.0) < 1e-9
    clocks.wall += 2.0
    subject.drained(550)  # 540 in three seconds: 180 a second, slow again
    clocks.cpu += 10.0
    assert abs(subject.delay() - 1.0) < 1e-9


def test_the_pace_is_known_from_the_text_that_arrived_before_the_second_drain() -> None:
    """After a costly first frame nothing is drawn for a while: the text that arrived
    meanwhile, not drawn yet, already says it streams fast."""
    clocks = Clocks()
    subject = pacer(clocks)
    subject.drained(10)
    clocks.cpu += 10.0  # the first frame: affordable only after the longest wait
    clocks.wall += 0.5
    assert abs(subject.delay() - 0.5) < 1e-9  # pace unknown: the short wait, 1 s
    subject.arrived(10 + 300)  # 300 characters in half a second
    assert abs(subject.delay() - 1.5) < 1e-9  # fast: the long wait, 2 s
    clocks.wall += 0.5
    subject.arrived(10 + 200)  # 200 in a second: slow again, and the short wait is over
    assert subject.due()


def test_the_share_does_not_grow_with_the_reply() -> None:
    _drains, early = simulate(redraw_cost=0.004, seconds=2.0)
    _drains, late = simulate(redraw_cost=0.004, seconds=20.0)
    assert abs(late - early) < 0.01


def test_the_delay_says_when_the_next_drain_will_be_due() -> None:
    clocks = Clocks()
    subject = pacer(clocks)  # 5 % share, 20 ms minimum, 1 s maximum
    assert subject.delay() == 0.0
    subject.drained()
    clocks.wall += 0.005
    assert abs(subject.delay() - 0.015) < 1e-9  # the minimum interval's rest
    clocks.cpu += 0.01  # a 10 ms redraw: affordable once 200 ms have passed
    assert abs(subject.delay() - 0.195) < 1e-9
    clocks.wall += 0.195
    assert subject.delay() < 1e-9 and subject.due()


def test_the_delay_never_passes_the_maximum_interval() -> None:
    clocks = Clocks()
    subject = pacer(clocks)
    subject.drained()
    clocks.cpu += 10.0  # far more than any share allows
    assert abs(subject.delay() - 1.0) < 1e-9
    clocks.wall += 1.0
    assert subject.due()


def test_a_timer_sleeping_the_delay_keeps_the_share() -> None:
    """Waking only when told (no ticks in between) spends the same share as polling."""
    clocks = Clocks()
    subject = pacer(clocks)
    drains = 0
    while clocks.wall < 110.0:
        clocks.wall += subject.delay()
        assert subject.due()
        subject.drained()
        clocks.cpu += 0.004
        drains += 1
    share = drains * 0.004 / 10.0
    assert 0.04 <= share <= 0.05 + 0.001
