"""`<vault>/.vitnotes/watch.pid`: one daemon per vault, and a way for the Obsidian plugin to see it.

Contents: {"pid": N, "started": ISO time, "vault": absolute path, "host": name}. Created without
clobbering (a finished temp file hard-linked into place), so a reader never sees half a file and two
daemons starting at once cannot both win. A pid file whose process is gone, lives on another host
(a synced vault) or belongs to another vault is stale and replaced.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from vitnotes.errors import VitnotesError
from vitnotes.paths import WATCH_PID_NAME as PID_NAME


class DaemonRunning(VitnotesError):
    """Exit 2 like other bad input, so service managers do not restart into the same refusal."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 sends nothing; EPERM means it does, as another user)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:  # Linux: a recycled pid that now runs something else is not our daemon
        return b"vitnotes" in cmdline.read_bytes()
    except OSError:
        return True


def read_pid_file(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _same_path(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(str(b))


def live_daemon(path: Path, vault: Path) -> Optional[int]:
    """The pid of a daemon that runs for this vault on this host, per the pid file; else None."""
    data = read_pid_file(path)
    if not data:
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return None
    if data.get("host", socket.gethostname()) != socket.gethostname():
        return None
    if isinstance(data.get("vault"), str) and not _same_path(data["vault"], vault):
        return None
    return pid if pid_alive(pid) else None


class PidFile:
    def __init__(self, vault: Path, state_dir: Path):
        self.vault = Path(vault).absolute()
        self.path = Path(state_dir) / PID_NAME
        self.held = False

    def acquire(self) -> None:
        """Write the pid file, or raise DaemonRunning naming the live daemon."""
        try:
            self._acquire()
        except OSError as exc:
            raise VitnotesError(f"cannot write {self.path}: {exc.strerror or exc}",
                                "the daemon keeps its state in the vault's .vitnotes folder; check its permissions") from None

    def _acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({
            "pid": os.getpid(),
            "started": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
            "vault": str(self.vault),
            "host": socket.gethostname(),
        })
        fd, tmp = tempfile.mkstemp(prefix=f".{PID_NAME}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body + "\n")
            for _ in range(3):
                try:
                    os.link(tmp, self.path)  # atomic no-clobber create
                    self.held = True
                    return
                except FileExistsError:
                    pid = live_daemon(self.path, self.vault)
                    if pid is not None:
                        raise DaemonRunning(
                            f"a vitnotes watch daemon (pid {pid}) is already running for {self.vault}",
                            f"use that one, or stop it first (kill {pid})",
                        ) from None
                    try:
                        os.unlink(self.path)  # stale: its process is gone
                    except FileNotFoundError:
                        pass
                except (AttributeError, NotImplementedError, PermissionError):
                    # no hard links here (some network or FAT drives): a plain atomic replace
                    if live_daemon(self.path, self.vault) is None:
                        os.replace(tmp, self.path)
                        self.held = True
                        return
            raise DaemonRunning(f"could not claim {self.path}: another daemon keeps starting",
                                "stop the other `vitnotes watch` first")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def release(self) -> None:
        """Remove the pid file, but only if it is still ours."""
        if not self.held:
            return
        self.held = False
        data = read_pid_file(self.path)
        if data and data.get("pid") == os.getpid():
            try:
                os.unlink(self.path)
            except OSError:
                pass
