"""The one worker thread: waits for notes to go quiet, then processes them one at a time.

One thread for the whole vault serialises fills (per note and overall — the analyzer is CPU-bound
anyway), and event bursts only move a deadline in the `QuietQueue`: no thread or timer per event.
The thread sleeps on a condition until the next deadline, so an idle daemon uses no CPU. When
nothing is queued it warms the analyzer once (imports torch) so the first fill
that needs a Report does not pay for the import. The index is saved after each batch of notes.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Literal, Optional

from vitnotes.watch.notes import LOOP_WINDOW_S, Log, NoteProcessor, Outcome
from vitnotes.watch.queue import QuietQueue

WorkerState = Literal["starting", "idle", "filling", "warming", "done"]


class Worker:
    def __init__(self, processor: NoteProcessor, queue: QuietQueue, *, log: Log,
                 warm: Optional[Callable[[], None]] = None, once: bool = False,
                 on_ready: Optional[Callable[[list[str]], None]] = None,
                 on_done: Optional[Callable[[], None]] = None):
        self.processor = processor
        self.queue = queue
        self.log = log
        self.debug = processor.debug
        self.warm = warm
        self.warm_wanted = False  # set once the vault is known to hold an opted-in note
        self.once = once  # exit when nothing is left to do (`--once`)
        self.on_ready = on_ready  # called after the start-up catch-up with the notes due
        self.on_done = on_done  # called when the thread ends (wakes the main thread)
        self.state: WorkerState = "starting"
        self.worst = 0  # highest exit code of any fill (the `--once` exit status)
        self.outcomes: list[Outcome] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None

    # -------------------------------------------------------------- called from other threads
    def touch(self, path: str, delay: Optional[float] = None) -> None:
        with self._cond:
            self.queue.touch(path, delay=delay)
            self._cond.notify()

    def stop(self) -> None:
        """Finish the note in flight, then exit (pending notes are caught up at the next start)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self, catch_up: bool = True) -> None:
        self._thread = threading.Thread(target=self._main, args=(catch_up,), name="vitnotes-watch", daemon=True)
        self._thread.start()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -------------------------------------------------------------- the worker thread
    def run_due(self) -> list[Outcome]:
        """Process every note whose quiet period has passed (the loop's step; tests call it directly)."""
        with self._cond:
            due = self.queue.pop_due()
        return [self._process(path) for path in due if not self._stopping]

    def _process(self, path: str) -> Outcome:
        self.state = "filling"
        try:
            outcome = self.processor.process(path)
        except Exception as exc:  # the processor guards the fill; this guards the processor
            outcome = Outcome(path, "failed", 1)
            self.log(f"failed {path}: internal error: {type(exc).__name__}: {exc}")
        finally:
            self.state = "idle"
        self.worst = max(self.worst, outcome.exit_code)
        if outcome.action == "paused":
            self.touch(path, delay=LOOP_WINDOW_S)  # look again once the tug of war may be over
        if outcome.action in ("filled", "unchanged", "refused", "failed"):
            self.warm_wanted = True
        self.outcomes.append(outcome)
        del self.outcomes[:-100]  # a daemon runs for weeks: keep only recent ones
        return outcome

    def _main(self, catch_up: bool) -> None:
        try:
            due = self.processor.catch_up() if catch_up else []
            for path in due:
                self.touch(path, delay=0.0)
            if self.on_ready:
                self.on_ready(due)
            self.state = "idle"
            self._loop()
        except Exception as exc:
            self.log(f"watch: worker stopped by an internal error: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._save_index()
            self.state = "done"
            if self.on_done:
                self.on_done()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._has_due() or self._warm_pending():
                        break
                    if self.once and not len(self.queue):
                        return
                    deadline = self.queue.next_deadline()
                    self._cond.wait(None if deadline is None else max(0.0, deadline - self.queue.clock()))
                if self._stopping:
                    return
            if self.run_due():
                self._save_index()
            elif self._warm_pending():
                self._warm_up()

    def _has_due(self) -> bool:
        deadline = self.queue.next_deadline()
        return deadline is not None and deadline <= self.queue.clock()

    def _warm_pending(self) -> bool:
        """Warm only in a vault with opted-in notes, and with nothing queued (a note going quiet must
        not wait for the import)."""
        return self.warm is not None and self.warm_wanted and not self.once and not len(self.queue)

    def _warm_up(self) -> None:
        warm, self.warm = self.warm, None
        self.state = "warming"
        start = time.monotonic()
        try:
            warm()
            self.debug(f"analyzer loaded ({time.monotonic() - start:.1f} s): fills that need torch start at once")
        except Exception as exc:  # warming is an optimisation; the fill will report real errors
            self.log(f"watch: could not pre-load the analyzer ({type(exc).__name__}: {exc})")
        finally:
            self.state = "idle"

    def _save_index(self) -> None:
        if not self.processor.index.dirty:
            return
        try:
            self.processor.index.save()
        except OSError as exc:
            self.log(f"watch: cannot save {self.processor.index.path}: {exc.strerror or exc}")
