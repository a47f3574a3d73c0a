"""A visible mark on a region the user edited that no longer matches the model.

`fill` keeps a hand-edited region as it is (``--force`` overwrites it). When vitnotes would now write
something else there (the model or its settings changed since the region was written: the marker's
sha, the hash of what vitnotes last wrote, differs from the hash of what it generates now), the note
says so in one callout line placed directly above the region's begin marker — outside the region,
so the user's edited text is never touched. The line is vitnotes' own: recognised by its exact
start, rewritten or removed on every fill, so filling twice changes nothing.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from vitnotes.obsidian.regions import Line, Region, body_hash, find_regions, join_lines, split_lines

_MARK = re.compile(r"^[ \t]*> \[!warning\] vitnotes: `([A-Za-z0-9_]+)` below is out of date\b")


def stale_regions(regions: Sequence[Region], sections: Mapping[str, str], kept: Sequence[str]) -> list[str]:
    """Kept (edited) regions whose generated text changed since they were written."""
    return [r.name for r in regions
            if r.name in kept and r.name in sections and r.sha is not None and r.sha != body_hash(sections[r.name])]


def mark_line(name: str, indent: str, model: str) -> str:
    return (f"{indent}> [!warning] vitnotes: `{name}` below is out of date — you edited it, and `{model}` now "
            f"gives other numbers; `vitnotes fill --force` replaces it (your edit is lost), or move your text out "
            f"of the region first.")


def apply_marks(text: str, stale: Sequence[str], model: str) -> str:
    """``text`` with exactly one mark above each stale region and none anywhere else."""
    lines = split_lines(text)
    begins = {r.begin: r for r in find_regions(text)}
    out: list[Line] = []
    for i, line in enumerate(lines):
        mark = _MARK.match(line.content)
        if mark and (i + 1) in begins and begins[i + 1].name == mark.group(1):
            continue  # our old mark: written again below if still stale
        region = begins.get(i)
        if region is not None and region.name in stale:
            eol = line.eol or (lines[i - 1].eol if i else "\n") or "\n"
            out.append(Line(mark_line(region.name, region.indent, model), eol))
        out.append(line)
    return join_lines(out)
