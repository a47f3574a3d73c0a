"""Which files the daemon looks at, and which notes opted in — decided from paths and raw bytes only.

Cheap on purpose: every file event in the vault passes through `VaultRules.skip_reason` (the vault
rules of docs/DESIGN.md §4 live in `obsidian.vault.Vault.is_skipped`; this adds "only .md files"), and
every changed note through `opted_in`, which looks at no more than the frontmatter block. It works
on the exact bytes the daemon hashed; a block that mentions `vitnotes` at all is parsed by the
(bounded) YAML parser, which decides; a block YAML refuses counts as opted in when a line starts with
the key, so the fill reports its error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from vitnotes.obsidian.vault import Vault

_FM_OPEN = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n")
_FM_CLOSE = re.compile(rb"^(?:---|\.\.\.)[ \t]*\r?$", re.M)
_FM_KEY = re.compile(rb"""^(?:vitnotes|"vitnotes"|'vitnotes')[ \t]*:""", re.M)


def frontmatter_block(data: bytes) -> Optional[bytes]:
    """The raw YAML between the opening `---` and the closing `---`/`...` line, or None (Obsidian's rule)."""
    head = _FM_OPEN.match(data)
    if head is None:
        return None
    end = _FM_CLOSE.search(data, head.end())
    return data[head.end():end.start()] if end else None


def opted_in(data: bytes) -> bool:
    """A note opts in to the daemon with a top-level `vitnotes:` frontmatter key, and only with it.

    Generated regions alone do not count (docs/DESIGN.md §3: notes without the key are never touched by
    `watch`): the key is where the model and sections live, so a note without it would be refilled
    with the vault default model and every section — a note filled once with `fill --model X` would
    silently switch to another model, and removing the key to stop vitnotes would instead add every
    missing section. Without the key, existing regions stay exactly as last written; `vitnotes fill`
    still works on such a note when asked. Broken YAML under the key still counts, so the fill can
    refuse the note and say where.
    """
    block = frontmatter_block(data)
    if block is None or b"vitnotes" not in block:
        return False
    import yaml

    from vitnotes.obsidian import yaml_bounded

    try:
        parsed = yaml_bounded.load(block.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return _FM_KEY.search(block) is not None  # broken: let the fill say where
    return isinstance(parsed, dict) and "vitnotes" in parsed


@dataclass
class VaultRules:
    """Path rules for one watched folder."""

    root: Path
    vault: Vault = field(repr=False)

    @classmethod
    def for_folder(cls, root: Path | str) -> "VaultRules":
        root = Path(root).absolute()
        return cls(root=root, vault=Vault.at(root))

    def rel(self, path: str | os.PathLike) -> Optional[str]:
        """The POSIX path relative to the watched folder, or None when the path is outside it."""
        try:
            rel = os.path.relpath(os.path.abspath(path), self.root)
        except ValueError:  # another drive on Windows
            return None
        if rel in (".", "..") or rel.startswith(".." + os.sep):
            return None
        return rel.replace(os.sep, "/")

    def skip_reason(self, path: str | os.PathLike) -> Optional[str]:
        """Why the daemon ignores this path, or None for a note it should look at."""
        rel = self.rel(path)
        if rel is None:
            return "outside the vault"
        if not rel.lower().endswith(".md"):
            return "not a note"
        if self.vault.is_skipped(Path(path)):
            return "hidden, templates folder or sync-conflict copy"
        return None

    def is_note(self, path: str | os.PathLike) -> bool:
        return self.skip_reason(path) is None

    def walk_notes(self) -> Iterator[str]:
        """Every note path below the root; hidden folders and the templates folder are not entered."""
        templates = self.vault.templates_folder
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and (templates is None or Path(dirpath, d) != templates))
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                if self.is_note(full) and os.path.isfile(full):  # a FIFO or device named *.md is no note
                    yield full


def opted_in_notes(root: Path | str) -> Iterator[str]:
    """Every note below ``root`` that the daemon would fill: its path rules, then its opt-in test.

    This is what `vitnotes fill --vault DIR` fills (the Obsidian plugin's "Fill all"), so the plugin
    and the daemon cannot disagree about which notes opted in.
    """
    for path in VaultRules.for_folder(root).walk_notes():
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # vanished or unreadable: the fill would only refuse it
        if opted_in(data):
            yield path
