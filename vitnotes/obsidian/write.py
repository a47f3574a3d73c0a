"""Atomic, minimal writes: nothing is lost if the process dies at any instant.

Write a hidden temp file in the same folder, fsync, ``os.replace`` (atomic on POSIX and Windows).
Identical bytes are never written: sync tools and the watch daemon depend on that.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from vitnotes.errors import NoteError


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
    """Refuse early (before any analysis or figure) a note that resolves outside its vault."""
    return _target(Path(path), vault_root)


def _temp_copy(folder: Path, name: str, data: bytes, mode: int) -> str:
    """``data`` in a hidden, fsynced temp file next to its destination; the caller moves it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.vitnotes-tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _replace(target: Path, data: bytes, mode: int, expected: bytes | None) -> None:
    folder = target.parent
    tmp = _temp_copy(folder, target.name, data, mode)
    try:
        if expected is not None and _read(target) != expected:  # last look, just before the swap
            raise ConcurrentEdit(f"{target}: changed on disk while vitnotes was writing it", "fill it again")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not every platform lets us open a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_note(path: Path | str, new_bytes: bytes, expected_raw: bytes | None, vault_root: Path | None = None) -> bool:
    """Replace the note with ``new_bytes`` if it still holds ``expected_raw``; False when nothing to write.

    ``expected_raw=None`` creates a new note and refuses to overwrite an existing file.
    Raises ConcurrentEdit when the file changed since it was read (the caller re-merges and retries).
    """
    path = Path(path)
    target = _target(path, vault_root)
    current = _read(target)
    if expected_raw is None:
        if current is not None or path.is_symlink():
            raise NoteError(f"{path}: already exists", "choose another title or delete the old note")
        return _create(target, new_bytes)
    if current is None:
        raise ConcurrentEdit(f"{path}: was deleted or moved while vitnotes worked on it", "fill it again")
    if current != expected_raw:
        raise ConcurrentEdit(f"{path}: changed on disk while vitnotes worked on it", "fill it again")
    if new_bytes == current:
        return False
    try:
        _replace(target, new_bytes, stat.S_IMODE(target.stat().st_mode), expected_raw)
    except OSError as exc:
        raise NoteError(f"{path}: cannot write: {exc.strerror or exc}", "check the folder's permissions") from None
    return True


def _create(target: Path, data: bytes) -> bool:
    """No-clobber create: link the finished temp file into place (fails if the name appeared meanwhile)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_copy(target.parent, target.name, data, _DEFAULT_MODE)
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
    mode = stat.S_IMODE(target.stat().st_mode) if current is not None else _DEFAULT_MODE
    try:
        _replace(target, data, mode, None)
    except OSError as exc:
        raise NoteError(f"{path}: cannot write: {exc.strerror or exc}", "check the folder's permissions") from None
    return True
