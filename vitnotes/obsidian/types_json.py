"""Property types in ``<vault>/<config dir>/types.json``: Obsidian's ``{"types": {"name": "number", ...}}``.

Obsidian gives a property one type vault-wide (text, multitext, number, checkbox, date, datetime,
plus aliases/tags) and keeps them in this file. vitnotes adds its own keys' types and nothing else:
every other entry, and a type the user chose for a vitnotes key, stays as it is (the caller reports
the latter). The file is rewritten atomically, in Obsidian's own layout (two-space JSON), and only
when an entry is missing. A broken file is left alone, as Obsidian would not read it either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vitnotes.obsidian.write import write_bytes_atomic


@dataclass
class TypesResult:
    written: bool = False
    added: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)  # key -> the type the user set
    problem: str = ""  # why the file was left alone

    def message(self, wanted: Mapping[str, str]) -> str:
        """One line for the fill's report, "" when there is nothing to say."""
        if self.problem:
            return self.problem
        if not self.conflicts:
            return ""
        said = ", ".join(f"{k} is {t} (vitnotes writes {wanted[k]})" for k, t in self.conflicts.items())
        return f"types.json keeps your property types: {said}"


def _read(path: Path) -> tuple[dict | None, str]:
    if not path.exists():
        return {"types": {}}, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        return None, f"{path.name} left as it is: not readable JSON ({type(exc).__name__})"
    if not isinstance(data, dict) or not isinstance(data.get("types", {}), dict):
        return None, f"{path.name} left as it is: it is not Obsidian's {{\"types\": {{...}}}} layout"
    data.setdefault("types", {})
    return data, ""


def register_types(config_dir: Path | None, wanted: Mapping[str, str], vault_root: Path) -> TypesResult:
    """Add the ``wanted`` key → type entries missing from types.json; never change an existing one."""
    result = TypesResult()
    if config_dir is None or not wanted:
        return result  # a plain folder, not an Obsidian vault: no config to register types in
    path = config_dir / "types.json"
    data, result.problem = _read(path)
    if data is None:
        return result
    types = data["types"]
    for key, kind in wanted.items():
        if key not in types:
            types[key] = kind
            result.added.append(key)
        elif types[key] != kind:
            result.conflicts[key] = str(types[key])
    if result.added:
        blob = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        result.written = write_bytes_atomic(path, blob, vault_root)
    return result
