"""Atomic, minimal writes: nothing is lost if the process dies at any instant (docs/DESIGN.md, "Write protocol";
README: "What vitnotes reads").

Write a hidden temp file in the same folder, fsync, ``os.replace`` (atomic on POSIX and Windows).
Identical bytes are never written: sync tools and the watch daemon depend on that. A note is
replaced only while no other program writes it (``guard``: a Linux read lease, else stillness),
the old inode stays nameable through a hidden hard link until the swap is known to be clean, and
bytes another program wrote into it meanwhile put it back (ConcurrentEdit: the caller merges again).
The replacement keeps the note's mode, owner and group (root chowns it back); a read-only note and
a note with other hard links are refused (a rename would split it from its twin). Temp files a
killed run left behind (vitnotes' own name pattern, older than STALE_TEMP_S) are removed the next
time vitnotes writes into their folder.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path

from vitnotes.errors import NoteError
from vitnotes.obsidian import guard as _guard

TEMP_MARK = ".vitnotes-tmp-"
STALE_TEMP_S = 3600.0  # a temp file older than this belongs to no running vitnotes
_TEMP_NAME = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"[A-Za-z0-9_]{6,}$")


class ConcurrentEdit(NoteError):
    """The note changed on disk between reading and writing; merge again from the new text."""

    exit_code = 1


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_DEFAULT_MODE = 0o666 & ~_umask()


def _target(path: Path, vault_root: Path | None) -> Path:
    """The real file to replace; NoteError when it (or a symlink on the way) leads out of the vault."""
    if vault_root is None:
        from vitnotes.obsidian.vault import Vault

        vault_root = Vault.for_note(path).root
    root = Path(vault_root).resolve()
    target = Path(path).resolve()
    if not target.is_relative_to(root):
        raise NoteError(
            f"{path}: resolves to {target}, outside the vault {root}",
            "vitnotes never writes through a symlink out of the vault; fill the real file inside a vault",
        )
    return target


def ensure_writable(path: Path | str, vault_root: Path | None = None) -> Path:
    """Refuse early (before any analysis or figure) a note vitnotes must not replace: one that resolves
    outside its vault, a read-only one, one with other hard links, one whose owner cannot be kept."""
    target = _target(Path(path), vault_root)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    check_replaceable(target, st)
    return target


def _owner_keepable(st: os.stat_result) -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return True
    return st.st_uid == os.geteuid() and (st.st_gid == os.getegid() or st.st_gid in os.getgroups())


def check_replaceable(target: Path, st: os.stat_result) -> None:
    """NoteError (one line) when replacing this file would change what it is: mode, owner, its links."""
    if not stat.S_ISREG(st.st_mode):
        raise NoteError(f"{target}: not a regular file", "vitnotes fills only ordinary .md files")
    if not st.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise NoteError(f"{target}: is read-only (mode {stat.S_IMODE(st.st_mode):04o})",
                        "make it writable (chmod u+w) if vitnotes may fill it")
    if st.st_nlink > 1:
        raise NoteError(f"{target}: has {st.st_nlink} hard links; replacing it would split it from the others",
                        "vitnotes writes by atomic rename: fill one copy that has no other hard links")
    if not _owner_keepable(st):
        raise NoteError(f"{target}: belongs to another user or group (uid {st.st_uid}, gid {st.st_gid})",
                        "fill it as its owner (or as root, which keeps the owner)")


def remove_stale_temps(folder: Path, now: float | None = None) -> None:
    """Delete temp files a killed vitnotes left here: only its own name pattern, only old ones."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if TEMP_MARK not in entry.name or not _TEMP_NAME.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_TEMP_S:
                os.unlink(entry.path)
        except OSError:
            pass


def _temp_copy(folder: Path, name: str, data: bytes, mode: int, owner: tuple[int, int] | None) -> str:
    """``data`` in a hidden, fsynced temp file next to its destination; the caller moves it into place."""
    remove_stale_temps(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}{TEMP_MARK}", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if owner is not None and hasattr(os, "fchown"):
                os.fchown(fh.fileno(), *owner)  # before the mode: chown clears set-id bits
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _owner_of(st: os.stat_result | None, folder: Path) -> tuple[int, int] | None:
    """The uid/gid the new file must have: the old file's (or, for a new file written by root, its folder's)."""
    if not hasattr(os, "geteuid"):
        return None
    if st is None:
        if os.geteuid() != 0:
            return None
        st = os.stat(folder)
    if (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid()):
        return None
    return st.st_uid, st.st_gid


def _fsync_dir(folder: Path) -> None:
    try:  # make the rename itself durable; not every platform lets us open a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _unlink(path: str | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _keep_link(target: Path) -> str | None:
    """A hidden hard link to the old inode, so it can be put back; None where links are unsupported."""
    keep = tempfile.mktemp(prefix=f".{target.name}{TEMP_MARK}", dir=target.parent)
    try:
        os.link(target, keep)
    except OSError:
        return None
    return keep


def _swap(target: Path, data: bytes, guard: _guard.Guard) -> None:
    """Rename ``data`` over the note; put the old inode back if another program wrote to it meanwhile."""
    tmp = _temp_copy(target.parent, target.name, data, stat.S_IMODE(guard.stat.st_mode),
                     _owner_of(guard.stat, target.parent))
    keep = None
    try:
        keep = _keep_link(target)
        tmp_ino = os.stat(tmp).st_ino
        os.replace(tmp, target)
        if guard.disturbed(_guard.timing().late):
            _restore(target, tmp_ino, keep, guard)
            keep = None
            raise ConcurrentEdit(f"{target}: another program wrote to it while vitnotes replaced it",
                                 "its bytes are kept; fill it again once it is done")
    finally:
        _unlink(tmp)
        _unlink(keep)
    _fsync_dir(target.parent)


def _restore(target: Path, ours: int, keep: str | None, guard: _guard.Guard) -> None:
    """Put the old inode (with what the other program wrote) back, unless a third writer replaced ours."""
    try:
        if os.stat(target).st_ino != ours:
            return  # someone else renamed a new version over ours: theirs stays
    except FileNotFoundError:
        pass
    if keep is not None:
        os.replace(keep, target)
        return
    # No hard links here: the old inode cannot be named again; copy what it holds now back into place.
    _replace(target, guard.read(), stat.S_IMODE(guard.stat.st_mode), _owner_of(guard.stat, target.parent))


def _replace(target: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    tmp = _temp_copy(target.parent, target.name, data, mode, owner)
    try:
        os.replace(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_note(path: Path | str, new_bytes: bytes, expected_raw: bytes | None, vault_root: Path | None = None,
               cancel=None) -> bool:
    """Replace the note with ``new_bytes`` if it still holds ``expected_raw``; False when nothing to write.

    ``expected_raw=None`` creates a new note and refuses to overwrite an existing file.
    Raises ConcurrentEdit when the file changed since it was read, or another program wrote to it
    during the swap (the caller re-merges and retries). Waits (bounded) while another program has
    it open for writing; ``cancel`` (a threading.Event) ends that wait.
    """
    path = Path(path)
    target = _target(path, vault_root)
    if expected_raw is None:
        if os.path.lexists(target) or path.is_symlink():
            raise NoteError(f"{path}: already exists", "choose another title or delete the old note")
        return _create(target, new_bytes)
    try:
        guard = _guard.open_settled(target, cancel, keep_lease=True)
    except FileNotFoundError:
        raise ConcurrentEdit(f"{path}: was deleted or moved while vitnotes worked on it", "fill it again") from None
    try:
        if guard.read() != expected_raw:
            raise ConcurrentEdit(f"{path}: changed on disk while vitnotes worked on it", "fill it again")
        if new_bytes == expected_raw:
            return False
        check_replaceable(target, guard.stat)
        _swap(target, new_bytes, guard)
    except OSError as exc:
        raise NoteError(f"{path}: cannot write: {exc.strerror or exc}", "check the folder's permissions") from None
    finally:
        guard.close()
    return True


def _create(target: Path, data: bytes) -> bool:
    """No-clobber create: link the finished temp file into place (fails if the name appeared meanwhile)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_copy(target.parent, target.name, data, _DEFAULT_MODE, _owner_of(None, target.parent))
        try:
            os.link(tmp, target)
        finally:
            os.unlink(tmp)
    except FileExistsError:
        raise NoteError(f"{target}: already exists", "choose another title or delete the old note") from None
    except OSError as exc:
        raise NoteError(f"{target}: cannot write: {exc.strerror or exc}", "check the folder's permissions") from None
    return True


def write_bytes_atomic(path: Path | str, data: bytes, vault_root: Path | None = None) -> bool:
    """Write a figure (creating its folder); False, and no write, when the file already holds ``data``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NoteError(f"{path.parent}: cannot create folder: {exc.strerror or exc}", "check permissions") from None
    target = _target(path, vault_root)
    current = _read(target)
    if current == data:
        return False
    try:
        st = target.stat() if current is not None else None
        mode = stat.S_IMODE(st.st_mode) if st is not None else _DEFAULT_MODE
        _replace(target, data, mode, _owner_of(st, target.parent))
    except OSError as exc:
        raise NoteError(f"{path}: cannot write: {exc.strerror or exc}", "check the folder's permissions") from None
    return True
