"""Wires the daemon together: pid file, index, worker thread, observer, signals, shutdown.

Threads: watchdog's (events -> queue touches), one worker (catch-up, then fills one note at a time),
and the main thread, which only waits for a stop signal and checks that the others are alive.
Shutdown finishes the note in flight (its write is atomic either way) and exits 0.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from vitnotes.obsidian.guard import install_sigio_ignore
from vitnotes.paths import vault_paths
from vitnotes.watch.index import NoteIndex
from vitnotes.watch.notes import Fill, NoteProcessor
from vitnotes.watch.pidfile import PidFile, live_daemon
from vitnotes.watch.queue import QuietQueue
from vitnotes.watch.rules import VaultRules
from vitnotes.watch.signals import StopSignals
from vitnotes.watch.worker import Worker

HEALTH_CHECK_S = 5.0


class Logger:
    """One line per action on stdout, flushed; a timestamp unless systemd's journal adds its own."""

    def __init__(self, out: TextIO, verbose: bool = False, timestamps: bool = True):
        self.out = out
        self.verbose = verbose
        self.timestamps = timestamps
        self._lock = threading.Lock()

    def __call__(self, msg: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S ") if self.timestamps else ""
        with self._lock:
            try:
                self.out.write(stamp + msg + "\n")
                self.out.flush()
            except (OSError, ValueError):
                pass  # a closed terminal must not take the daemon down

    def debug(self, msg: str) -> None:
        if self.verbose:
            self(msg)


@dataclass
class WatchOptions:
    quiet: float = 3.0
    poll: bool = False
    once: bool = False
    poll_interval: Optional[float] = None
    on_stop: Optional[Callable[[], None]] = None  # called at the first stop signal (cancels waits in a fill)


def serve(root: Path, fill: Fill, opts: WatchOptions, log: Logger,
          warm: Optional[Callable[[], None]] = None) -> int:
    """Run the daemon (or one catch-up pass with `opts.once`); returns the exit code."""
    return _Daemon(Path(root).absolute(), fill, opts, log, warm).run()


class _Daemon:
    def __init__(self, root: Path, fill: Fill, opts: WatchOptions, log: Logger, warm):
        self.root, self.opts, self.log = root, opts, log
        self.paths = vault_paths(root)
        self.state_dir = self.paths.state_dir
        self.rules = VaultRules.for_folder(root)
        self.index = NoteIndex.load(self.paths.watch_index)
        self.processor = NoteProcessor(self.rules, self.index, fill, log, log.debug)
        self.worker = Worker(self.processor, QuietQueue(opts.quiet), log=log,
                             warm=None if opts.once else warm, once=opts.once, on_ready=self._ready)
        self.observer: Any = None
        self.handler: Any = None
        self.how = "once"

    def run(self) -> int:
        pidfile = None
        if self.opts.once:
            pid = live_daemon(self.paths.watch_pid, self.root)
            if pid is not None:
                self.log(f"a watch daemon (pid {pid}) is running for {self.root}; it keeps the notes filled")
                return 0
        else:
            pidfile = PidFile(self.root, self.state_dir)
            pidfile.acquire()
        install_sigio_ignore()  # main thread: lets the worker's fills take read leases (obsidian/guard.py)
        try:
            with StopSignals() as signals:
                self.worker.on_done = signals.wake
                if not self.opts.once:
                    self._start_observer()
                self.worker.start(catch_up=True)
                self._wait(signals)
            if self.opts.once:
                return self.worker.worst
            return 0 if self.worker.stopping else 1  # the worker died: say so to systemd/launchd
        finally:
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(5)
            if pidfile is not None:
                pidfile.release()
                self.log("stopped")

    def _start_observer(self, force_poll: bool = False) -> None:
        from vitnotes.watch.events import VaultEventHandler, start_observer

        if self.handler is None:
            self.handler = VaultEventHandler(self.rules, self.processor, self.worker, self.log.debug)
        interval = self.opts.poll_interval or max(1.0, min(self.opts.quiet, 5.0) / 2)
        self.observer, self.how = start_observer(self.root, self.handler, poll=self.opts.poll or force_poll,
                                                 poll_interval=interval, log=self.log)

    def _ready(self, due: list[str]) -> None:
        if self.opts.once:
            self.log(f"checked {self.root}: {len(due)} note(s) to fill")
            return
        opted = {rel for rel in self.index.rels() if (e := self.index.get(rel)) is not None and e.opted}
        opted |= {self.rules.rel(p) for p in due}
        self.worker.warm_wanted = bool(opted)
        where = "" if self.rules.vault.config_dir else " (no Obsidian config folder: watching a plain folder)"
        self.log(f"watching {self.root}{where} — {self.how} events, settle {self.opts.quiet:g} s, "
                 f"{len(opted)} opted-in note(s), {len(due)} to catch up; Ctrl-C stops")

    def _wait(self, signals: StopSignals) -> None:
        """Main thread: sleep until a stop signal, keep the observer alive, then finish the fill in flight."""
        worker = self.worker
        while worker.is_alive() and worker.state != "done":
            if signals.wait(HEALTH_CHECK_S):
                break
            if self.observer is not None and not self.observer.is_alive():
                self.log("watch: the file watcher stopped unexpectedly; switching to polling")
                self._start_observer(force_poll=True)
        if not worker.is_alive() or worker.state == "done":
            worker.join(2)
            return
        worker.stop()
        if self.opts.on_stop is not None:
            self.opts.on_stop()
        if worker.state in ("starting", "warming"):
            return  # reading or importing only: nothing to finish
        if worker.state == "filling":
            self.log("stopping after the note in flight … (again to abort)")
        while worker.is_alive():
            if signals.wait(0.2) >= 2:
                self.log("aborted: the note in flight is left as it was (vitnotes writes atomically)")
                raise KeyboardInterrupt
