"""Is another program still writing this note? The checks around vitnotes' swap (docs/DESIGN.md, "Write protocol";
README: "What vitnotes reads").

vitnotes replaces a note by renaming a finished temp file over it. A program that still holds the
old file open for writing (``tool > note.md`` with pauses, an in-place save, a slow copy) would
go on writing into the replaced inode, and its bytes would be lost. Two mechanisms prevent that:

* **Linux, a read lease** (``fcntl(F_SETLEASE, F_RDLCK)``): the kernel grants it only while *no*
  process has the file open for writing, and while vitnotes holds it, any open-for-write blocks
  (for up to ``/proc/sys/fs/lease-break-time``) and marks the lease as broken. So: wait until the
  lease is granted (nobody writing), swap, and if the lease was broken meanwhile put the old inode
  (kept nameable by a hard link) back and merge again. Leases need the file's owner (or root) and a
  local file system; SIGIO, which a lease break sends, must be ignored (``install_sigio_ignore``).
* **Elsewhere, stillness**: the file must have kept its size, mtime and ctime for ``settle``
  seconds before it is read, and after the swap the old inode (through the descriptor kept open)
  is watched for ``late`` seconds; bytes that arrive there are put back the same way.

A file that has been still since before the fill started costs no wait in either case. The times
come from the environment (tests shorten them): VITNOTES_SETTLE_S, VITNOTES_LATE_CHECK_S,
VITNOTES_BUSY_WAIT_S (how long to wait for a writer before refusing); VITNOTES_LEASES=0 turns
leases off (the fallback is then used and tested on Linux too).
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from vitnotes.errors import NoteError

try:
    import fcntl
except ImportError:  # Windows: no leases; the stillness rule applies
    fcntl = None  # type: ignore[assignment]

F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
F_GETLEASE = getattr(fcntl, "F_GETLEASE", 1025)
POLL_S = 0.05


@dataclass(frozen=True)
class Timing:
    settle: float  # seconds of stillness required where no lease can be taken
    late: float  # seconds the old inode is watched after the swap where no lease was held
    busy_wait: float  # longest wait for another program to finish writing, then refuse
    leases: bool


def _env_seconds(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def timing() -> Timing:
    return Timing(
        settle=_env_seconds("VITNOTES_SETTLE_S", 2.0),
        late=_env_seconds("VITNOTES_LATE_CHECK_S", 0.5),
        busy_wait=_env_seconds("VITNOTES_BUSY_WAIT_S", 60.0),
        leases=os.environ.get("VITNOTES_LEASES", "1") != "0" and fcntl is not None and os.name == "posix"
        and os.uname().sysname == "Linux",
    )


def install_sigio_ignore() -> bool:
    """Ignore SIGIO (a lease break sends it; its default action kills). Main thread only; True when safe."""
    sig = getattr(signal, "SIGIO", None)
    if sig is None:
        return False
    handler = signal.getsignal(sig)
    if handler is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        signal.signal(sig, signal.SIG_IGN)
        return True
    return handler not in (signal.SIG_DFL, None)


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class Guard:
    """A read-only descriptor on the note's current inode, with a read lease where the OS grants one."""

    def __init__(self, path: Path):
        self.path = path
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(path, flags)  # O_NONBLOCK: a FIFO named *.md must not hang the open
        self.stat = os.fstat(self.fd)
        if not stat.S_ISREG(self.stat.st_mode):
            os.close(self.fd)
            raise NoteError(f"{path}: not a regular file", "vitnotes fills only ordinary .md files")
        self.leased = False

    def try_lease(self, allowed: bool) -> str:
        """"granted", "busy" (someone has it open for writing) or "unsupported"."""
        if not allowed or not install_sigio_ignore():
            return "unsupported"
        try:
            fcntl.fcntl(self.fd, F_SETLEASE, fcntl.F_RDLCK)
        except OSError as exc:
            return "busy" if exc.errno in (errno.EAGAIN, errno.EBUSY) else "unsupported"
        self.leased = True
        return "granted"

    def read(self) -> bytes:
        chunks: list[bytes] = []
        offset = 0
        while True:
            chunk = os.pread(self.fd, 1 << 20, offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)

    def disturbed(self, late: float) -> bool:
        """After the swap: did anyone open the old inode for writing (lease) or write to it (stillness)?"""
        if self.leased:
            broken = fcntl.fcntl(self.fd, F_GETLEASE) != fcntl.F_RDLCK
            return broken or self._written()
        deadline = time.monotonic() + late
        while True:
            if self._written():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    def _written(self) -> bool:
        """Size or mtime of the old inode moved (its ctime moves with vitnotes' own hard link)."""
        now = os.fstat(self.fd)
        return (now.st_size, now.st_mtime_ns) != (self.stat.st_size, self.stat.st_mtime_ns)

    def close(self) -> None:
        if self.leased:
            try:
                fcntl.fcntl(self.fd, F_SETLEASE, fcntl.F_UNLCK)
            except OSError:
                pass
            self.leased = False
        os.close(self.fd)


def _busy(path: Path, waited: float) -> NoteError:
    return NoteError(f"{path}: another program has kept it open for writing for {waited:.0f} s",
                     "let it finish (or close it), then fill again")


def _pause(cancel: Optional[threading.Event], seconds: float, path: Path) -> None:
    if cancel is not None:
        if cancel.wait(seconds):
            raise NoteError(f"{path}: stopped while waiting for another program to finish writing it")
    else:
        time.sleep(seconds)


def open_settled(path: Path, cancel: Optional[threading.Event] = None, *, keep_lease: bool = False) -> Guard:
    """A Guard on the note once nobody is writing it: leased where possible, else still for ``settle`` s.

    With ``keep_lease`` the lease stays held (the caller swaps, checks ``disturbed`` and closes);
    otherwise it is dropped at once and the Guard only tells the caller the file is settled.
    Raises FileNotFoundError for a missing note and NoteError when a writer outlasts ``busy_wait``.
    """
    t = timing()
    start = time.monotonic()
    seen: tuple[tuple[int, ...], float] | None = None  # a signature and when it was first seen (no lease)
    while True:
        guard = Guard(path)
        state = guard.try_lease(t.leases)
        if state == "granted":
            if not keep_lease:
                guard.close()
            return guard
        wait = POLL_S * 2
        if state == "unsupported":
            sig = _signature(guard.stat)
            if seen is None or seen[0] != sig:
                seen = (sig, time.monotonic())
            # Still since the later of mtime and ctime, or (an mtime in the future) since first seen so.
            still = max(time.time_ns() - max(guard.stat.st_mtime_ns, guard.stat.st_ctime_ns), 0) / 1e9
            still = max(still, time.monotonic() - seen[1])
            if still >= t.settle:
                if not keep_lease:
                    guard.close()
                return guard
            wait = min(t.settle - still, 0.25)
        guard.close()
        waited = time.monotonic() - start
        if waited >= t.busy_wait:
            raise _busy(path, waited)
        _pause(cancel, wait, path)


def wait_settled(path: Path, cancel: Optional[threading.Event] = None) -> None:
    """Return once nobody is writing the note (see ``open_settled``); a missing note is the reader's to report."""
    try:
        open_settled(path, cancel)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise NoteError(f"{path}: cannot read: {exc.strerror or exc}", "check the file's permissions") from None
