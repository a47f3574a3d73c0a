"""The op-trace companion note: `<note> (vitnotes trace).md`, beside the note's figures.

The paper note keeps its compact stage table and links here with one wikilink; every aten op of
the forward lives in this note, which vitnotes owns: it is rewritten on every fill (after the paper
note's merge succeeded, like the PNGs), skipped by `watch` (`Vault.is_skipped`), and recognised by
its `vitnotes-trace` property. A file of the same name without that property is the user's and is
never overwritten.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from vitnotes.obsidian.write import write_bytes_atomic

SUFFIX = " (vitnotes trace).md"
OWNER_KEY = "vitnotes-trace"
_OWNED = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(?:(?!---)[^\n]*\n)*?vitnotes-trace[ \t]*:", re.M)


def is_companion_name(name: str) -> bool:
    return name.lower().endswith(SUFFIX.lower())


def companion_path(vault, note_path: Path) -> Path:
    base = vault.figure_name(note_path, "trace")[: -len(".trace.png")]
    return vault.attachment_dir(note_path) / (base + SUFFIX)


def is_ours(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return _OWNED.match(head) is not None


def blocked(path: Path) -> bool:
    """A file of that name that vitnotes did not write: leave it alone."""
    return os.path.lexists(path) and not is_ours(path)


def link(vault, companion: Path, from_note: Path, label: str) -> str:
    """One link from ``from_note`` to ``companion``: a wikilink, or a Markdown link when the vault uses them."""
    if vault.use_markdown_links:
        rel = os.path.relpath(companion, Path(from_note).parent).replace(os.sep, "/")
        return f"[{label}]({quote(rel)})"
    return f"[[{companion.name[:-3]}|{label}]]"


def write_companion(path: Path, text: str, vault_root: Path) -> bool:
    """Write the companion note (True) unless it holds these bytes already or is not ours (False)."""
    if blocked(path):
        return False
    return write_bytes_atomic(path, text.encode("utf-8"), vault_root=vault_root)
