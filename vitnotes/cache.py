"""Report cache in ``<vault>/.vitnotes/cache/``: a re-fill with nothing changed never imports torch.

The key covers everything that changes a Report or its figures: the request, the weight file and
image files (path, size, mtime, inode and ctime — hashing a 1 GB checkpoint on every save would
defeat the cache; a file rewritten with the same size and its mtime restored still gets a new ctime,
a file renamed over it a new inode),
the installed torch/timm/matplotlib versions (read from package metadata, not by importing them),
vitnotes' version and the Report schema. Figure PNGs are cached beside the Report because
re-rendering them would mean importing matplotlib and numpy on every fill; the entry records which
figures were drawn, so a hit never depends on guessing which sections have data.

The cache is a folder in the vault, so it trusts nothing it reads back: an entry that is not a
Report of this SCHEMA (``null``, a list, a truncated file), lacks a figure it lists, or holds a
figure whose sha256 (recorded in the entry) does not match or that is not a PNG is deleted and
recomputed; a cache hit is never an error.
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
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


PNG_SIGNATURE = b"\x89PNG"


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
    """``<key>.json`` holds the Report and the names (and sha256s) of the figures drawn from it, each in
    ``<key>.<section>.png``. What was drawn is recorded, not re-derived: a Report whose model has
    no data for a figure section (a Swin note asking for attention maps) is still a full hit."""

    def __init__(self, folder: Path, vault_root: Optional[Path] = None):
        self.folder = folder
        self.vault_root = vault_root if vault_root is not None else folder

    def _files(self, key: str) -> list[Path]:
        return [p for p in self.folder.glob(f"{key}.*") if p.name.split(".")[0] == key]

    def get(self, key: str, required: tuple[str, ...] = ()) -> Optional[tuple[Report, dict[str, bytes]]]:
        """The cached Report and figure PNGs, or None if the entry (or a ``required`` figure) is missing;
        a damaged entry is deleted on the way."""
        path = self.folder / f"{key}.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._drop(key)
            return None
        try:
            entry = json.loads(text)
            drawn = [str(s) for s in entry["drawn"]]
            sums = entry["sha256"]
            if not set(required) <= set(drawn):
                return None
            report = Report.from_dict(entry["report"])
            figures = {s: (self.folder / f"{key}.{s}.png").read_bytes() for s in drawn}
            intact = all(sums.get(s) == _sha(data) and data.startswith(PNG_SIGNATURE) for s, data in figures.items())
            intact = intact and isinstance(report, Report) and report.schema == SCHEMA
        except Exception:  # noqa: BLE001 — whatever the bytes are, a bad entry is a miss, never a crash
            self._drop(key)
            return None
        if not intact:
            self._drop(key)
            return None
        return report, figures

    def _drop(self, key: str) -> None:
        for path in self._files(key):
            try:
                path.unlink()
            except OSError:
                pass

    def put(self, key: str, report: Report, figures: dict[str, bytes]) -> None:
        from vitnotes.obsidian.write import write_bytes_atomic  # temp file + os.replace: never half a file

        for section, data in figures.items():
            write_bytes_atomic(self.folder / f"{key}.{section}.png", data, self.vault_root)
        entry = {"drawn": sorted(figures), "sha256": {s: _sha(d) for s, d in sorted(figures.items())},
                 "report": report.to_dict()}
        write_bytes_atomic(self.folder / f"{key}.json", json.dumps(entry, ensure_ascii=False).encode("utf-8"),
                           self.vault_root)
