"""Where a file's time went, step by step: wall and CPU milliseconds, measured where the work
runs (the worker's loop, its threads, the parser process) and carried back with the outcome.

>>> clock = StepTimes()
>>> clock.add("parsing", wall_ms=12.0, cpu_ms=10.5)
>>> clock.add("parsing", wall_ms=3.0, cpu_ms=1.0)
>>> clock.as_dict()
{'parsing': [15.0, 11.5]}
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

# The steps that time is recorded for, in the order a file goes through them.
TIMED_STEPS = (
    "downloading",
    "detecting",
    "scanning",
    "waiting_for_parser",  # a file ready to parse, waiting for a free parser process
    "parsing",
    "chunking",
    "embedding",
    "storing",
)


@dataclass(slots=True)
class StepTimes:
    """Milliseconds per step: ``{step: [wall_ms, cpu_ms]}``; a step seen twice adds up."""

    steps: dict[str, list[float]] = field(default_factory=dict)

    def add(self, step: str, *, wall_ms: float, cpu_ms: float) -> None:
        spent = self.steps.setdefault(step, [0.0, 0.0])
        spent[0] += wall_ms
        spent[1] += cpu_ms

    def merge(self, other: Mapping[str, tuple[float, float] | list[float]]) -> None:
        for step, (wall_ms, cpu_ms) in other.items():
            self.add(step, wall_ms=wall_ms, cpu_ms=cpu_ms)

    def as_dict(self) -> dict[str, list[float]]:
        return {step: [round(w, 3), round(c, 3)] for step, (w, c) in self.steps.items()}

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu for _, cpu in self.steps.values()) / 1000

    @contextmanager
    def thread(self, step: str) -> Iterator[None]:
        """Time a step that runs in the current thread: wall clock and this thread's CPU."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.add(
                step,
                wall_ms=(time.perf_counter() - wall) * 1000,
                cpu_ms=(time.thread_time() - cpu) * 1000,
            )

    @contextmanager
    def process(self, step: str) -> Iterator[None]:
        """Time a step that has a process to itself (a parser child): its CPU in every
        thread of the process (a library may compute in threads of its own)."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(
                step,
                wall_ms=(time.perf_counter() - wall) * 1000,
                cpu_ms=(time.process_time() - cpu) * 1000,
            )

    @contextmanager
    def waiting(self, step: str) -> Iterator[None]:
        """Time a step that waits for I/O on the event loop: its wall clock, no CPU of its own."""
        wall = time.perf_counter()
        try:
            yield
        finally:
            self.add(step, wall_ms=(time.perf_counter() - wall) * 1000, cpu_ms=0.0)
