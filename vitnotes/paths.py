"""Where the shipped templates live: top-level ``templates/`` (mapped to ``vitnotes.templates``)."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """The shipped templates folder, in a source checkout and in an installed wheel alike."""
    here = Path(__file__).resolve().parent
    source = here.parent / "templates"
    if (source / "sections").is_dir():
        return source
    from importlib.resources import files

    return Path(str(files("vitnotes.templates")))
