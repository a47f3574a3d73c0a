"""Anchor lines per section: each section module's defaults (``vitnotes/sections/``) + the vault's own.

On a note's first fill each region goes right after the first line that matches one of its
section's anchors, tried in order. An anchor is a substring of a note line (case-sensitive), or
``re:<regex>`` (Python syntax, searched in the line). Lines inside code blocks, the frontmatter or
existing vitnotes regions never match; among the lines that match an anchor, headings and list
items win over other text (the ViT template mentions 模型结构图 in a tip before its checklist item).
When the line is a list item, the region is indented into that item and goes after everything
already written under it. A section whose anchors all miss (or that has none) goes under a
``## vitnotes`` heading at the end of the note, created once and reused.

The first default anchor of each section is the template's own question label (bold, with its
colon), so the same words in the student's answers never capture a region; looser ones follow for
notes whose headings were reworded.

A vault overrides them in ``<vault>/.vitnotes/anchors.yaml``::

    shapes: ["My shapes question"]     # a list: tried BEFORE the section's default anchors
    card: {replace: []}                # {replace: [...]}: exactly these ([] = under ## vitnotes)
"""

from __future__ import annotations

import re
from pathlib import Path

from vitnotes.errors import SpecError
from vitnotes.obsidian.vault import read_yaml_mapping
from vitnotes.paths import vault_paths

_HINT = 'e.g. shapes: ["张量变化"]'


def _load(path: Path) -> dict:
    return read_yaml_mapping(path, "must map section names to lists of anchors", _HINT) or {}


def _strings(path: Path | str, key: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(
            f"{path}: `{key}` must be a list of non-empty strings (or {{replace: [...]}})",
            _HINT,
        )
    for v in value:
        if v.startswith("re:"):
            try:
                re.compile(v[3:])
            except re.error as exc:
                raise SpecError(f"{path}: `{key}`: bad regular expression {v!r} ({exc})", "fix or quote it") from None
    return list(value)


def load_anchors(vault_root: Path | None = None) -> dict[str, list[str]]:
    """Section -> anchors. The vault's lists are tried first; ``{replace: [...]}`` replaces the default list."""
    from vitnotes.sections import default_anchors

    anchors = {k: _strings(f"vitnotes/sections/{k}.py", k, v) for k, v in default_anchors().items()}
    if vault_root is None:
        return anchors
    user_file = vault_paths(vault_root).anchors
    for key, value in _load(user_file).items():
        key = str(key)
        if isinstance(value, dict):
            if set(value) != {"replace"}:
                raise SpecError(f"{user_file}: `{key}` may only hold `replace`", f"{key}: {{replace: [...]}}")
            anchors[key] = _strings(user_file, f"{key}.replace", value["replace"] or [])
        else:
            extra = _strings(user_file, key, value or [])
            anchors[key] = extra + [a for a in anchors.get(key, []) if a not in extra]
    return anchors
