"""Report cache in ``<vault>/.vitnotes/cache/``: a re-fill with nothing changed never imports torch.

The key covers everything that changes a Report or its figures: the request, the weight file and
image files (path, size, mtime — hashing a 1 GB checkpoint on every save would defeat the cache),
the installed torch/timm/matplotlib versions (read from package metadata, not by importing them),
vitnotes' version and the Report schema. Figure PNGs are cached beside the Report because
re-rendering them would mean importing matplotlib and numpy on every fill; the entry records which
figures were drawn, so a hit never depends on guessing which sections have data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Optional

from vitnotes import __version__
from vitnotes.analysis.report import SCHEMA, Report
from vitnotes.analysis.request import AnalysisRequest, is_image_file


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _stat(path: Path) -> list:
    st = path.stat()
    return [str(path), st.st_size, st.st_mtime_ns]


def cache_key(req: AnalysisRequest) -> str:
    parts: dict = {
        "request": asdict(req),
        "schema": SCHEMA,
        "vitnotes": __version__,
        "torch": _version("torch"),
        "timm": _version("timm"),
    }
    if req.weights:
        parts["weights"] = _stat(Path(req.weights))
    if req.needs_weights:
        parts["matplotlib"] = _version("matplotlib")
        if req.images:
            folder = Path(req.images)
            parts["images"] = sorted(
                _stat(p) for p in folder.iterdir() if is_image_file(p)
            )
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


class ReportCache:
    """``<key>.json`` holds the Report and the names of the figures drawn from it, each in
    ``<key>.<section>.png``. What was drawn is recorded, not re-derived: a Report whose model has
    no data for a figure section (a Swin note asking for attention maps) is still a full hit."""

    def __init__(self, folder: Path, vault_root: Optional[Path] = None):
        self.folder = folder
        self.vault_root = vault_root if vault_root is not None else folder

    def get(self, key: str, required: tuple[str, ...] = ()) -> Optional[tuple[Report, dict[str, bytes]]]:
        """The cached Report and figure PNGs, or None if any piece (or a ``required`` figure) is
        missing or unreadable."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            drawn = [str(s) for s in entry["drawn"]]
            if not set(required) <= set(drawn):
                return None
            report = Report.from_dict(entry["report"])
            figures = {s: (self.folder / f"{key}.{s}.png").read_bytes() for s in drawn}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if report.schema != SCHEMA:
            return None
        return report, figures

    def put(self, key: str, report: Report, figures: dict[str, bytes]) -> None:
        from vitnotes.obsidian.write import write_bytes_atomic  # temp file + os.replace: never half a file

        for section, data in figures.items():
            write_bytes_atomic(self.folder / f"{key}.{section}.png", data, self.vault_root)
        entry = {"drawn": sorted(figures), "report": report.to_dict()}
        write_bytes_atomic(self.folder / f"{key}.json", json.dumps(entry, ensure_ascii=False).encode("utf-8"),
                           self.vault_root)
