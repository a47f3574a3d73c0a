"""SIGINT/SIGTERM/SIGHUP as a count the main thread waits on.

The handlers only bump a counter; the wake-up goes through `signal.set_wakeup_fd` on a socket pair,
which the main thread `select`s on. Nothing in a handler takes a lock (a handler that set a
`threading.Event` could deadlock if the signal landed while the main thread held that event's lock).
"""

from __future__ import annotations

import select
import signal
import socket
import threading
from typing import Any, Optional

STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class StopSignals:
    def __init__(self) -> None:
        self.count = 0
        self.last: Optional[int] = None
        self._old: dict[int, Any] = {}
        self._old_fd: Optional[int] = None

    def __enter__(self) -> "StopSignals":
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        if threading.current_thread() is threading.main_thread():
            self._old_fd = signal.set_wakeup_fd(self._w.fileno(), warn_on_full_buffer=False)
            for sig in STOP_SIGNALS:
                previous = signal.getsignal(sig)
                if sig != getattr(signal, "SIGINT", None) and previous is signal.SIG_IGN:
                    continue  # respect nohup
                self._old[sig] = previous
                signal.signal(sig, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        self.count += 1
        self.last = signum

    def wait(self, timeout: float) -> int:
        """Sleep until a stop signal or the timeout; the number of stop signals received so far."""
        if not self.count:
            try:
                select.select([self._r], [], [], timeout)
            except (OSError, ValueError):
                pass
        try:
            while self._r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        return self.count

    def wake(self) -> None:
        """Wake `wait` from another thread (the worker, when it is done)."""
        try:
            self._w.send(b"\0")
        except OSError:
            pass

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        if self._old_fd is not None:
            signal.set_wakeup_fd(self._old_fd)
        self._r.close()
        self._w.close()
