"""`vitnotes base VAULT`: a ready Obsidian Bases view (a ``.base`` file) of every paper vitnotes filled.

Bases (a core plugin since Obsidian 1.9) reads a YAML file with ``filters``, ``formulas``,
``properties`` (display names), ``summaries`` and ``views`` (help.obsidian.md/bases/syntax); a table
view's row order is its ``sort`` list, as Obsidian writes it when you click a column. The base
shows the notes that opted in (a ``vitnotes:`` key) or carry vitnotes' properties, outside the
templates folder, one row each, sorted by GMACs. An existing file that differs (you edited the view
in Obsidian) is never overwritten without ``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from vitnotes.errors import NoteError
from vitnotes.obsidian.vault import Vault
from vitnotes.obsidian.write import write_bytes_atomic
from vitnotes.render.properties import KEYS, LABELS, SORT_KEY

DEFAULT_NAME = "vitnotes.base"
HEADER = ("# Written by `vitnotes base`: one row per paper note vitnotes filled (its vn_ properties).\n"
          "# Edit freely in Obsidian; vitnotes only rewrites this file with `vitnotes base --force`.\n")


def base_config(vault: Vault) -> dict[str, Any]:
    """The .base file's content as data."""
    opted: dict[str, Any] = {"or": ['file.hasProperty("vitnotes")', f'file.hasProperty("{SORT_KEY}")']}
    templates = vault.templates_folder
    if templates is not None:
        rel = templates.relative_to(vault.root).as_posix()
        opted = {"and": [opted, {"not": [f"file.inFolder({_quote(rel)})"]}]}
    def columns() -> list[str]:  # a fresh list per view: shared ones would be written as YAML anchors
        return ["file.name", *(f"note.{k}" for k in KEYS)]

    def by_gmacs() -> list[dict[str, str]]:
        return [{"property": f"note.{SORT_KEY}", "direction": "ASC"}]

    table = {"type": "table", "name": "Papers by GMACs", "order": columns(), "sort": by_gmacs()}
    by_family = {"type": "table", "name": "By family", "order": columns(),
                 "groupBy": {"property": "note.vn_family", "direction": "ASC"}, "sort": by_gmacs()}
    return {
        "filters": opted,
        "properties": {f"note.{k}": {"displayName": LABELS[k]} for k in KEYS},
        "views": [table, by_family],
    }


def _quote(text: str) -> str:
    """A string literal of Bases' expression language (JavaScript-like, double quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def base_text(vault: Vault) -> str:
    body = yaml.safe_dump(base_config(vault), sort_keys=False, allow_unicode=True, width=1 << 16)
    return HEADER + body


@dataclass
class BaseResult:
    path: Path
    status: Literal["written", "up to date"]


def write_base(vault_dir: Path, name: str = DEFAULT_NAME, force: bool = False) -> BaseResult:
    """Write the .base file at the vault root; NoteError when it exists with other content and not ``force``."""
    vault_dir = Path(vault_dir).expanduser()
    if not vault_dir.is_dir():
        raise NoteError(f"{vault_dir} is not a folder", "give the path of your Obsidian vault")
    if "/" in name or "\\" in name or not name.endswith(".base") or name.startswith("."):
        raise NoteError(f"--name {name!r}: must be a file name ending in .base", "e.g. --name Papers.base")
    vault = Vault.at(vault_dir)
    path = vault.root / name
    data = base_text(vault).encode("utf-8")
    if path.exists() and not force:
        if path.read_bytes() == data:
            return BaseResult(path, "up to date")
        raise NoteError(f"{path} exists and differs from the view vitnotes writes (edited in Obsidian?)",
                        "keep it, or pass --force to replace it, or --name OTHER.base for a fresh one")
    written = write_bytes_atomic(path, data, vault.root)
    return BaseResult(path, "written" if written else "up to date")
