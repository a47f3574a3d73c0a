"""`vitnotes table VAULT`: the vault's paper notes as one comparison table (one row per note).

A row's numbers come from the note's ``vn_`` properties (what the last fill wrote); a note that opted
in but has none (properties turned off, or filled by an older vitnotes) takes them from its cached
Report. Nothing here imports torch: a note neither filled nor cached shows its model and blanks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vitnotes.errors import VitnotesError
from vitnotes.render.properties import KEYS, SORT_KEY, Value, property_values

RowSource = Literal["properties", "cached report", "none"]


@dataclass
class Row:
    note: str  # path from the vault root, without ".md"
    values: dict[str, Value] = field(default_factory=dict)
    source: RowSource = "properties"


def _owned(frontmatter: dict[str, Any]) -> dict[str, Value]:
    return {k: frontmatter[k] for k in KEYS if k in frontmatter and isinstance(frontmatter[k], (int, float, str))
            and not isinstance(frontmatter[k], bool)}


def _from_cache(frontmatter: dict[str, Any], vault, config) -> tuple[dict[str, Value], RowSource]:
    from vitnotes.cache import ReportCache, cache_key
    from vitnotes.spec import build_spec

    try:
        spec = build_spec(frontmatter, vault_root=vault.root, vault_config=config)
    except VitnotesError:
        return {}, "none"
    hit = ReportCache(vault.root / ".vitnotes" / "cache", vault.root).get(cache_key(spec.request()))
    if hit is None:
        return {"vn_model": spec.model}, "none"
    return property_values(hit[0]), "cached report"


def collect_rows(vault_dir: Path, warn=None) -> list[Row]:
    """One Row per note with a ``vitnotes:`` key or vitnotes properties, sorted by GMACs (unknown last)."""
    from vitnotes.obsidian.note import read_note
    from vitnotes.spec import read_vault_config
    from vitnotes.watch.rules import VaultRules

    rules = VaultRules.for_folder(vault_dir)
    config = read_vault_config(rules.vault.root)
    rows: list[Row] = []
    for path in rules.walk_notes():
        try:
            fm = read_note(path).frontmatter or {}
        except VitnotesError as exc:
            if warn:
                warn(f"skipped {rules.rel(path)}: {exc}")
            continue
        values = _owned(fm)
        if not values and "vitnotes" not in fm:
            continue
        row = Row(note=(rules.rel(path) or path)[:-3], values=values)
        if not values:
            row.values, row.source = _from_cache(fm, rules.vault, config)
        rows.append(row)
    rows.sort(key=lambda r: (_number(r.values.get(SORT_KEY)) is None, _number(r.values.get(SORT_KEY)) or 0, r.note))
    return rows


def _number(value: Value | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
