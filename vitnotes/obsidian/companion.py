"""vitnotes' companion notes: `<note> (vitnotes trace).md` and `<note> (vitnotes code).md`, beside the figures.

The paper note keeps a compact answer and links to each companion with one wikilink; the long
reference material lives there: every aten op of the forward (``trace``) and the model's own
annotated ``forward`` code (``code``). A companion is vitnotes' own file: rewritten on every fill
(after the paper note's merge succeeded, like the PNGs), skipped by `watch` and `fill --vault`
(`Vault.is_skipped`), and recognised by its ``vitnotes-<kind>`` property. A file of the same name
without that property is the user's and is never overwritten (nor linked to).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from vitnotes.obsidian.write import write_bytes_atomic

Kind = Literal["trace", "code"]
KINDS: tuple[Kind, ...] = ("trace", "code")


def suffix(kind: Kind) -> str:
    return f" (vitnotes {kind}).md"


def owner_key(kind: Kind) -> str:
    """The property that marks a companion as vitnotes'; its value links back to the paper note."""
    return f"vitnotes-{kind}"


def _owned(kind: Kind) -> re.Pattern[bytes]:
    key = re.escape(owner_key(kind)).encode()
    return re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(?:(?!---)[^\n]*\n)*?" + key + rb"[ \t]*:", re.M)


def is_companion_name(name: str) -> bool:
    return any(name.lower().endswith(suffix(kind).lower()) for kind in KINDS)


def companion_path(vault, note_path: Path, kind: Kind = "trace") -> Path:
    base = vault.figure_name(note_path, "trace")[: -len(".trace.png")]
    return vault.attachment_dir(note_path) / (base + suffix(kind))


def is_ours(path: Path, kind: Kind = "trace") -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return _owned(kind).match(head) is not None


def blocked(path: Path, kind: Kind = "trace") -> bool:
    """A file of that name that vitnotes did not write: leave it alone."""
    return os.path.lexists(path) and not is_ours(path, kind)


def link(vault, companion: Path, from_note: Path, label: str, heading: str = "") -> str:
    """One link from ``from_note`` to ``companion`` (to one of its headings): a wikilink, or a Markdown
    link when the vault uses them."""
    if vault.use_markdown_links:
        rel = os.path.relpath(companion, Path(from_note).parent).replace(os.sep, "/")
        return f"[{label}]({quote(rel)}{'#' + quote(heading) if heading else ''})"
    return f"[[{companion.name[:-3]}{'#' + heading if heading else ''}|{label}]]"


def write_companion(path: Path, text: str, vault_root: Path, kind: Kind = "trace") -> bool:
    """Write the companion note (True) unless it holds these bytes already or is not ours (False)."""
    if blocked(path, kind):
        return False
    return write_bytes_atomic(path, text.encode("utf-8"), vault_root=vault_root)
