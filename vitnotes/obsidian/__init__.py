"""The note engine: notes, generated regions, placement, atomic writes and vault conventions.

Pure Python (no torch): a cached re-fill goes through here without importing the analyzer.
"""

from vitnotes.obsidian.anchors import load_anchors
from vitnotes.obsidian.note import Note, read_note
from vitnotes.obsidian.regions import MergeResult, Region, body_hash, find_regions, merge
from vitnotes.obsidian.vault import Vault
from vitnotes.obsidian.write import ConcurrentEdit, write_bytes_atomic, write_note

__all__ = [
    "ConcurrentEdit", "MergeResult", "Note", "Region", "body_hash", "find_regions", "merge",
    "Vault", "load_anchors", "read_note", "write_bytes_atomic", "write_note",
]
