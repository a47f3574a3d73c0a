"""File-system events -> "this note may have changed": the watchdog side of the daemon.

Every way an editor or sync tool saves comes down to touching the note's path: in-place writes
(modified/closed), temp file + rename (vim, gedit: a move whose destination is the note),
delete-then-create, and creations by sync tools. Content decides what happens after the quiet
period, never the kind of event. Opened/closed-without-write events are not subscribed to:
the daemon's own reads would otherwise wake it.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

from vitnotes.watch.notes import Log, NoteProcessor
from vitnotes.watch.rules import VaultRules
from vitnotes.watch.worker import Worker

EVENTS = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent]
WATCH_LIMIT_SYSCTL = "fs.inotify.max_user_watches"
INSTANCE_LIMIT_SYSCTL = "fs.inotify.max_user_instances"


class VaultEventHandler(FileSystemEventHandler):
    """Runs on watchdog's thread: only path rules and a queue touch, never file I/O."""

    def __init__(self, rules: VaultRules, processor: NoteProcessor, worker: Worker, debug: Log):
        self.rules = rules
        self.processor = processor
        self.worker = worker
        self.debug = debug

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.is_directory:
                return  # a moved folder also yields one (synthetic) move per file inside it
            if event.event_type == "moved":
                self._moved(os.fsdecode(event.src_path), os.fsdecode(event.dest_path))
            elif event.event_type in ("created", "modified", "closed", "deleted"):
                self._touch(os.fsdecode(event.src_path), event.event_type)
        except Exception as exc:  # never let one odd event kill the observer thread
            self.debug(f"watch: could not handle {event!r}: {exc}")

    def _touch(self, path: str, kind: str) -> bool:
        reason = self.rules.skip_reason(path)
        if reason is None:
            self.debug(f"event {kind} {self.rules.rel(path)}")
            self.worker.touch(path)
            return True
        if reason != "not a note" and path.lower().endswith(".md"):
            self.debug(f"event {kind} {self.rules.rel(path) or path} ignored ({reason})")
        return False

    def _moved(self, src: str, dest: str) -> None:
        src_note, dest_note = self.rules.is_note(src), self.rules.is_note(dest)
        if src_note and dest_note:
            self.processor.renamed(src, dest)
        if dest_note:
            self._touch(dest, "moved-in")
        if src_note:
            self._touch(src, "moved-away")  # gone: its record is dropped; back (vim's backup dance): rechecked


def watch_limit_message(exc: OSError) -> str:
    sysctl = INSTANCE_LIMIT_SYSCTL if exc.errno == errno.EMFILE else WATCH_LIMIT_SYSCTL
    current = ""
    try:
        current = " (now " + Path("/proc/sys/" + sysctl.replace(".", "/")).read_text().strip() + ")"
    except OSError:
        pass
    return (f"watch: the inotify limit is reached ({exc.strerror or exc}); falling back to polling, "
            f"which is slower. Raise {sysctl}{current}, e.g. `sudo sysctl {sysctl}=524288` "
            f"(and add it to /etc/sysctl.conf to keep it), then restart `vitnotes watch`.")


def _visible_entries(path: Optional[str]):
    """scandir without dot-entries: polling never walks .git, .trash or the config folder."""
    with os.scandir(path) as it:
        return [e for e in it if not e.name.startswith(".")]


def polling_observer(interval: float):
    from watchdog.observers.polling import PollingObserverVFS

    return PollingObserverVFS(os.stat, _visible_entries, polling_interval=interval)


def native_observer():
    from watchdog.observers import Observer

    return Observer()


def start_observer(root: Path, handler: FileSystemEventHandler, *, poll: bool, poll_interval: float, log: Log,
                   native: Callable[[], Any] = native_observer,
                   polling: Callable[[float], Any] = polling_observer):
    """The OS's notification observer; polling when asked (`--poll`) or when the inotify limits are hit."""
    if not poll:
        observer = native()
        try:
            observer.schedule(handler, str(root), recursive=True, event_filter=EVENTS)
            observer.start()
            missing = unwatched_folders(observer, root)
            if not missing:
                return observer, "native"
            observer.stop()
            observer.join(5)
            raise OSError(errno.ENOSPC, f"{missing} folder(s) could not be watched")
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EMFILE):
                raise
            log(watch_limit_message(exc))
    observer = polling(poll_interval)
    observer.schedule(handler, str(root), recursive=True)
    observer.start()
    return observer, "polling"


def unwatched_folders(observer, root: Path) -> int:
    """Folders inotify silently failed to watch (watchdog skips sub-folders it cannot add at the limit).

    Reads watchdog's inotify bookkeeping; other observers (FSEvents, Windows) watch a whole tree
    with one handle and report 0. Counted twice, to let a folder created meanwhile get its watch.
    """
    missing = 0
    for attempt in range(2):
        try:
            groups = [e._inotify for e in observer.emitters]
            watched = set()
            for g in groups:
                if g is not None:
                    watched.update(g._active_callbacks_by_path)
        except AttributeError:
            return 0
        missing = sum(1 for d, _, _ in os.walk(root) if os.fsencode(d) not in watched)
        if not missing:
            return 0
        if attempt == 0:
            time.sleep(0.5)
    return missing
