"""Anchor lines per section (data, not code): shipped templates/anchors.yaml + the vault's own."""

from __future__ import annotations

import re
from pathlib import Path

from vitnotes.errors import SpecError
from vitnotes.obsidian.vault import read_yaml_mapping
from vitnotes.paths import templates_dir


def _load(path: Path) -> dict:
    return read_yaml_mapping(path, "must map section names to lists of anchors", "see templates/anchors.yaml") or {}


def _strings(path: Path, key: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(
            f"{path}: `{key}` must be a list of non-empty strings (or {{replace: [...]}})",
            'e.g. shapes: ["张量变化"]',
        )
    for v in value:
        if v.startswith("re:"):
            try:
                re.compile(v[3:])
            except re.error as exc:
                raise SpecError(f"{path}: `{key}`: bad regular expression {v!r} ({exc})", "fix or quote it") from None
    return list(value)


def load_anchors(vault_root: Path | None = None) -> dict[str, list[str]]:
    """Section -> anchors. The vault's lists are tried first; ``{replace: [...]}`` replaces the shipped list."""
    shipped = templates_dir() / "anchors.yaml"
    anchors = {str(k): _strings(shipped, str(k), v or []) for k, v in _load(shipped).items()}
    if vault_root is None:
        return anchors
    user_file = Path(vault_root) / ".vitnotes" / "anchors.yaml"
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
