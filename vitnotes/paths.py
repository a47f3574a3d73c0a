"""Where things live: the shipped templates, and every path under a vault's ``.vitnotes/`` folder.

Nothing else builds a ``.vitnotes/…`` path by hand: ask :func:`vault_paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".vitnotes"
WATCH_PID_NAME = "watch.pid"
WATCH_INDEX_NAME = "watch-index.json"


def templates_dir() -> Path:
    """The shipped templates folder, in a source checkout and in an installed wheel alike."""
    here = Path(__file__).resolve().parent
    source = here.parent / "templates"
    if (source / "sections").is_dir():
        return source
    from importlib.resources import files

    return Path(str(files("vitnotes.templates")))


@dataclass(frozen=True)
class VaultPaths:
    """A vault's vitnotes files. Nothing here creates them: each owner does when it writes."""

    root: Path

    @property
    def state_dir(self) -> Path:
        """``<vault>/.vitnotes``: settings the user writes and state vitnotes keeps."""
        return self.root / STATE_DIR_NAME

    @property
    def config(self) -> Path:
        """Vault-wide `vitnotes:` defaults (``config.yaml``)."""
        return self.state_dir / "config.yaml"

    @property
    def anchors(self) -> Path:
        """Anchor overrides (``anchors.yaml``)."""
        return self.state_dir / "anchors.yaml"

    @property
    def templates(self) -> Path:
        """Template overrides: ``paper-study.md`` and ``<section>.md.j2`` files."""
        return self.state_dir / "templates"

    @property
    def cache(self) -> Path:
        """Cached Reports and figures."""
        return self.state_dir / "cache"

    @property
    def watch_pid(self) -> Path:
        """The running daemon's pid file (the Obsidian plugin reads it too)."""
        return self.state_dir / WATCH_PID_NAME

    @property
    def watch_index(self) -> Path:
        """The daemon's memory of what it last settled."""
        return self.state_dir / WATCH_INDEX_NAME


def vault_paths(root: Path | str) -> VaultPaths:
    return VaultPaths(Path(root))
