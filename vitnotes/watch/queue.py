"""Quiet-period bookkeeping: one deadline per note, pushed back by every event.

Obsidian autosaves about two seconds after typing stops and editors save in bursts (write,
rename, chmod), so a note is acted on only once it has been still for `quiet` seconds; a burst of
any length becomes one deadline. Plain data, no threads and an injectable clock, so the timing
rules are tested with a fake clock.
"""

from __future__ import annotations

import time
from typing import Callable, Optional


class QuietQueue:
    def __init__(self, quiet: float, clock: Callable[[], float] = time.monotonic):
        self.quiet = float(quiet)
        self.clock = clock
        self._due: dict[str, float] = {}

    def touch(self, key: str, *, delay: Optional[float] = None) -> None:
        """Something happened to `key`: it is due `delay` (default: the quiet period) from now."""
        self._due[key] = self.clock() + (self.quiet if delay is None else delay)

    def pop_due(self) -> list[str]:
        """Keys whose quiet period has passed, oldest deadline first; they leave the queue."""
        now = self.clock()
        ready = sorted((t, k) for k, t in self._due.items() if t <= now)
        for _, key in ready:
            del self._due[key]
        return [k for _, k in ready]

    def next_deadline(self) -> Optional[float]:
        return min(self._due.values()) if self._due else None

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: str) -> bool:
        return key in self._due
