"""Progress of long work (a search's trials, a latency table's programs, proxy training steps):
a live bar in a terminal, a plain line now and then when the output is a file or a CI log, and
nothing at all where no one watches (`SILENT`, every library function's default).

Library code takes a `Progress` and opens a task on it; commands and benchmarks pass
`console_progress()`, which picks the bar or the lines by whether stdout is a terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TextIO


class ProgressTask(Protocol):
    def advance(self, steps: int = 1, note: str | None = None) -> None:
        """`steps` more units done; `note`: a short status shown beside the count."""

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        """Set the count, the total or the note outright."""


class Progress(Protocol):
    def task(self, description: str, total: int | None, unit: str = ""
             ) -> AbstractContextManager[ProgressTask]:
        """A context manager yielding a `ProgressTask`; the task ends with the block."""


class _NullTask:
    def advance(self, steps: int = 1, note: str | None = None) -> None:
        pass

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        pass


class Silent:
    """No output: the default where a caller shows no progress."""

    @contextmanager
    def task(self, description: str, total: int | None, unit: str = "") -> Iterator[ProgressTask]:
        yield _NullTask()


SILENT = Silent()
NULL_TASK: ProgressTask = _NullTask()  # a task that shows nothing


def format_seconds(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class _LineTask:
    def __init__(self, description: str, total: int | None, unit: str, stream: TextIO, interval_s: float):
        self.description, self.total, self.unit = description, total, unit
        self.stream, self.interval_s = stream, interval_s
        self.completed, self.note = 0, ""
        self.start = self.last_line = time.monotonic()
        self.shown = ""

    def advance(self, steps: int = 1, note: str | None = None) -> None:
        self.update(self.completed + steps, note=note)

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        self.completed = self.completed if completed is None else completed
        self.total = self.total if total is None else total
        self.note = self.note if note is None else note
        if time.monotonic() - self.last_line >= self.interval_s:
            self.line()

    def line(self, final: bool = False) -> None:
        self.last_line = now = time.monotonic()
        elapsed = now - self.start
        count = f"{self.completed}/{self.total}" if self.total else str(self.completed)
        parts = [f"{self.description}: {count}{' ' + self.unit if self.unit else ''}",
                 f"elapsed {format_seconds(elapsed)}"]
        if self.total and 0 < self.completed < self.total:
            parts.append(f"~{format_seconds(elapsed / self.completed * (self.total - self.completed))} left")
        if self.note:
            parts.append(self.note)
        if final and parts[0] + str(parts[2:]) == self.shown:
            return  # nothing new since the last line
        self.shown = parts[0] + str(parts[2:])
        print(", ".join(parts), file=self.stream, flush=True)


class PlainLines:
    """One line per task at most every `interval_s` seconds, and one when it ends: readable in a
    CI log or a file, where a redrawn bar would be noise."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 60.0):
        self.stream = stream
        self.interval_s = interval_s

    @contextmanager
    def task(self, description: str, total: int | None, unit: str = "") -> Iterator[ProgressTask]:
        state = _LineTask(description, total, unit, self.stream or sys.stdout, self.interval_s)
        yield state
        if state.last_line > state.start or time.monotonic() - state.start >= 1.0:
            state.line(final=True)


class _RichTask:
    def __init__(self, bars: RichBars, task_id: int):
        self.bars, self.task_id = bars, task_id

    def advance(self, steps: int = 1, note: str | None = None) -> None:
        fields = {} if note is None else {"note": note}
        self.bars.progress.update(self.task_id, advance=steps, **fields)

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        fields = {} if note is None else {"note": note}
        self.bars.progress.update(self.task_id, completed=completed, total=total, **fields)


class RichBars:
    """Live bars (rich) for a terminal: description, bar, count, elapsed, time left, note. Lines
    printed while a bar shows appear above it. Tasks nest: each open task is one bar."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self.progress = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                     TextColumn("{task.fields[note]}"), transient=False)
        self.open_tasks = 0

    @contextmanager
    def task(self, description: str, total: int | None, unit: str = "") -> Iterator[ProgressTask]:
        if self.open_tasks == 0:
            self.progress.start()
        self.open_tasks += 1
        task_id = self.progress.add_task(f"{description}{' (' + unit + ')' if unit else ''}", total=total,
                                         note="")
        try:
            yield _RichTask(self, task_id)
        finally:
            self.open_tasks -= 1
            if self.open_tasks == 0:
                self.progress.stop()  # the last drawing stays on screen as the summary
            self.progress.remove_task(task_id)


def console_progress(stream: TextIO | None = None) -> Progress:
    """Bars when `stream` (default stdout) is a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    return RichBars() if stream.isatty() else PlainLines(stream)
