"""One subscriber's pending events: a FIFO that collapses superseded progress while it waits.

Events are pending only while their consumer is behind (a live event the consumer can take at
once never waits here), so whatever is collapsed was never going to be seen in time anyway.
What may be collapsed, and nothing else (docs/events.md, "Coalescing"):

- a pending ``file.progress`` is dropped when a later event of the *same file* arrives while it
  still waits (a newer ``file.progress``, or the file's ``file.completed``/``failed``/...);
- a pending ``job.updated`` that only reports progress (it carries ``progress`` and no
  ``action``) is dropped when a newer such report of the same job arrives.

Only while the subscriber is behind: :data:`BEHIND` (100) events or more already wait for it.
State changes (every other event: job status changes, a file's outcome, retries) are never
dropped. Every event keeps its own ``seq``, so the stream stays in seq order and a client that
resumes with ``after=<last seq>`` gets everything it has not seen except superseded progress.

>>> from ingestd.events.envelope import LiveEvent
>>> def ev(seq, kind, file_id="f1"):
...     row = {"id": f"evt_{seq}", "seq": seq, "tenant": "t", "type": kind, "job_id": "j",
...            "file_id": file_id, "at": 0.0, "data": {}}
...     return LiveEvent.from_row(row)
>>> pending = PendingEvents(behind=1)
>>> for event in (ev(1, "file.progress"), ev(2, "file.progress", "f2"), ev(3, "file.progress")):
...     pending.append(event)
>>> [e.seq for e in pending.take(10)]
[2, 3]
"""

from __future__ import annotations

from collections import deque

from ingestd.events.envelope import LiveEvent

# A subscriber is *behind* once this many events wait for it; only then is progress collapsed
# (a consumer busy for a moment, or sending its backlog, gets every event).
BEHIND = 100


class PendingEvents:
    __slots__ = ("_dropped", "_items", "_waiting", "behind", "collapsed")

    def __init__(self, behind: int = BEHIND) -> None:
        self.behind = behind
        self._items: deque[LiveEvent] = deque()
        # Pending collapsible events by key (see LiveEvent.coalesce); made on first need.
        self._waiting: dict[str, LiveEvent] | None = None
        self._dropped: set[int] | None = None  # seqs superseded while still in _items
        self.collapsed = 0  # how many were dropped, for the subscriber's own count

    def __len__(self) -> int:
        return len(self._items) - (len(self._dropped) if self._dropped else 0)

    def __bool__(self) -> bool:
        return len(self) > 0

    def append(self, event: LiveEvent) -> None:
        waiting = self._waiting
        if event.supersedes is not None and waiting and len(self) >= self.behind:
            old = waiting.pop(event.supersedes, None)
            if old is not None:
                if self._dropped is None:
                    self._dropped = set()
                self._dropped.add(old.seq)
                self.collapsed += 1
                if len(self._dropped) > len(self._items) // 2:
                    self._compact()
        if event.coalesce is not None:
            if waiting is None:
                waiting = self._waiting = {}
            waiting[event.coalesce] = event
        self._items.append(event)

    def popleft(self) -> LiveEvent | None:
        items, dropped = self._items, self._dropped
        while items:
            event = items.popleft()
            if dropped and event.seq in dropped:
                dropped.discard(event.seq)
                continue
            waiting = self._waiting
            if event.coalesce is not None and waiting and waiting.get(event.coalesce) is event:
                del waiting[event.coalesce]
            return event
        return None

    def take(self, limit: int) -> list[LiveEvent]:
        """Up to ``limit`` events, oldest first (one batched frame's worth)."""
        out: list[LiveEvent] = []
        while len(out) < limit:
            event = self.popleft()
            if event is None:
                break
            out.append(event)
        return out

    def clear(self) -> None:
        self._items.clear()
        self._waiting = None
        self._dropped = None

    def _compact(self) -> None:
        dropped = self._dropped or set()
        self._items = deque(e for e in self._items if e.seq not in dropped)
        self._dropped = None
