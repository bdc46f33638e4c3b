"""Progress: plain lines off a terminal (throttled, with a count, elapsed time and an estimate), a
rich bar on one, and nothing from the default."""

from __future__ import annotations

import io

import pytest

from star_search.progress import SILENT, PlainLines, RichBars, console_progress, format_seconds


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_report_count_elapsed_and_note() -> None:
    out = io.StringIO()
    with PlainLines(out, interval_s=0.0).task("latency table", 4, "programs") as task:
        task.advance(note="lowering conv")
        task.advance()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("latency table: 1/4 programs, elapsed 0s, ~0s left, lowering conv")
    assert lines[-1].startswith("latency table: 2/4 programs")


def test_plain_lines_are_throttled() -> None:
    out = io.StringIO()
    with PlainLines(out, interval_s=3600).task("proxy training", 1000, "steps") as task:
        for _ in range(1000):
            task.advance()
    # Nothing while it ran (the interval never passed) and a short task ends without a closing line.
    assert out.getvalue() == ""


def test_console_progress_picks_bars_only_on_a_terminal() -> None:
    assert isinstance(console_progress(io.StringIO()), PlainLines)
    assert isinstance(console_progress(FakeTerminal()), RichBars)


def test_rich_bars_nest_and_stop() -> None:
    bars = RichBars()
    with bars.task("search", 3, "trials") as outer:
        with bars.task("proxy training", 10, "steps") as inner:
            inner.advance(5)
        outer.update(completed=2, note="best quality 0.4")
        assert bars.progress.tasks[0].completed == 2
        assert len(bars.progress.tasks) == 1  # the inner bar went with its block
    assert bars.open_tasks == 0 and not bars.progress.live.is_started


def test_silent_accepts_everything() -> None:
    with SILENT.task("anything", None) as task:
        task.advance(3, note="x")
        task.update(completed=1, total=2)


@pytest.mark.parametrize(("seconds", "shown"), [(5.2, "5s"), (75, "1m15s"), (3725, "1h02m")])
def test_format_seconds(seconds: float, shown: str) -> None:
    assert format_seconds(seconds) == shown


def test_plain_lines_do_not_repeat_the_last_line() -> None:
    out = io.StringIO()
    with PlainLines(out, interval_s=0.0).task("search", 3, "trials") as task:
        task.update(completed=3, note="best quality 0.389")
    assert len(out.getvalue().splitlines()) == 1
