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
    )  # fmt: skip


def simulate(redraw_cost: float, seconds: float, share: float = 0.05) -> tuple[int, float]:
    """Ticks every 10 ms for ``seconds``; each drain costs ``redraw_cost`` of UI CPU.

    Returns the number of drains and the UI's share of the time.
    """
    clocks = Clocks()
    subject = pacer(clocks, share)
    drains, spent = 0, 0.0
    for _ in range(int(seconds / 0.01)):
        clocks.wall += 0.01
        if subject.due():
            subject.drained()
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
