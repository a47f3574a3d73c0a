"""Byte-exact merges and atomic writes."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from vitnotes.errors import NoteError
from vitnotes.obsidian import write as write_mod
from vitnotes.obsidian.note import read_note
from vitnotes.obsidian.regions import find_regions, merge
from vitnotes.obsidian.write import ConcurrentEdit, write_bytes_atomic, write_note

ANCHORS = {"patch": ["Patch Size"], "fig": []}
TABLE = "| k | v |\n| --- | --- |\n| patch | 16 px |"


@pytest.fixture
def vault(tmp_path) -> Path:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / "Papers").mkdir()
    return tmp_path


def _fill(path: Path, sections, force=False) -> bool:
    note = read_note(path)
    result = merge(note.text, sections, ANCHORS, force=force)
    return write_note(path, note.encode(result.text), note.raw)


def test_crlf_bom_tabs_trailing_spaces_and_no_final_newline_survive(vault):
    raw = (
        "\ufeff---\r\nvitnotes:   vit_tiny_patch16_224   # keep my spacing\r\n---\r\n"
        "# Title  \r\n- [ ] **Patch Size?**\r\n\tmy own answer\t\r\n- next\r\nlast line, no newline"
    ).encode("utf-8")
    p = vault / "Papers" / "n.md"
    p.write_bytes(raw)
    assert _fill(p, {"patch": TABLE, "fig": "![[n.fig.png]]"})
    out = p.read_bytes()
    assert out.startswith(b"\xef\xbb\xbf---\r\nvitnotes:   vit_tiny_patch16_224   # keep my spacing\r\n---\r\n")
    assert b"\n" not in out.replace(b"\r\n", b"")  # every line ending is still CRLF
    assert not out.endswith(b"\n")
    text = out.decode("utf-8-sig")
    assert "\tmy own answer\t\r\n\t<!-- vitnotes:begin patch sha=" in text
    assert "\t| patch | 16 px |\r\n" in text
    assert "last line, no newline\r\n\r\n## vitnotes: fig\r\n\r\n<!-- vitnotes:begin fig" in text
    assert text.endswith("<!-- vitnotes:end fig -->")
    # Removing the inserted lines gives back the original bytes exactly.
    lines = text.split("\r\n")
    keep = []
    spans = [(r.begin, r.end) for r in find_regions(text)]
    for i, ln in enumerate(lines):
        if not any(b <= i <= e for b, e in spans):
            keep.append(ln)
    assert "\r\n".join(keep) == raw.decode("utf-8-sig") + "\r\n\r\n## vitnotes: fig\r\n"
    # Second fill: same bytes, no write at all (mtime untouched).
    before = p.stat().st_mtime_ns
    assert not _fill(p, {"patch": TABLE, "fig": "![[n.fig.png]]"})
    assert p.stat().st_mtime_ns == before and p.read_bytes() == out


def test_edited_region_is_kept_unless_forced(vault):
    p = vault / "n.md"
    p.write_text("- Patch Size?\n", encoding="utf-8")
    _fill(p, {"patch": TABLE})
    p.write_text(p.read_text(encoding="utf-8").replace("16 px", "16 px (I checked)"), encoding="utf-8")
    note = read_note(p)
    r = merge(note.text, {"patch": TABLE.replace("16", "32")}, ANCHORS)
    assert r.kept_edited == ["patch"] and not r.changed and not r.updated
    forced = merge(note.text, {"patch": TABLE.replace("16", "32")}, ANCHORS, force=True)
    assert forced.updated == ["patch"] and "32 px" in forced.text and "I checked" not in forced.text
    assert not find_regions(forced.text)[0].edited


def test_untouched_regions_for_sections_not_asked_for(vault):
    text = merge("x\n", {"a": "A", "b": "B"}, {}).text
    out = merge(text, {"a": "A2"}, {})
    assert out.updated == ["a"] and "\nB\n" in out.text and "\nA2\n" in out.text


def test_concurrent_edit_is_detected_and_nothing_written(vault):
    p = vault / "n.md"
    p.write_text("old\n", encoding="utf-8")
    note = read_note(p)
    p.write_text("the user typed\n", encoding="utf-8")
    with pytest.raises(ConcurrentEdit):
        write_note(p, b"new\n", note.raw)
    assert p.read_bytes() == b"the user typed\n"
    assert [f.name for f in p.parent.iterdir() if "vitnotes-tmp" in f.name] == []
    p.unlink()
    with pytest.raises(ConcurrentEdit):
        write_note(p, b"new\n", note.raw)


def test_write_keeps_mode_and_leaves_no_temp_on_failure(vault, monkeypatch):
    p = vault / "n.md"
    p.write_bytes(b"a\n")
    os.chmod(p, 0o640)
    assert write_note(p, b"b\n", b"a\n")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640 and p.read_bytes() == b"b\n"

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write_mod.os, "replace", boom)
    with pytest.raises(NoteError, match="No space left"):
        write_note(p, b"c\n", b"b\n")
    assert p.read_bytes() == b"b\n"
    assert sorted(f.name for f in vault.iterdir()) == [".obsidian", "Papers", "n.md"]


def test_refuses_a_symlink_out_of_the_vault(vault, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "real.md"
    outside.write_bytes(b"secret\n")
    link = vault / "link.md"
    link.symlink_to(outside)
    with pytest.raises(NoteError, match="outside the vault"):
        write_note(link, b"x\n", b"secret\n")
    assert outside.read_bytes() == b"secret\n" and link.is_symlink()
    with pytest.raises(NoteError, match="outside the vault"):
        write_bytes_atomic(vault / "link.md", b"png")
    with pytest.raises(NoteError, match="outside the vault"):
        write_mod.ensure_writable(link, vault)
    # A symlink to a note inside the vault writes the real file and stays a link.
    real = vault / "Papers" / "real.md"
    real.write_bytes(b"a\n")
    inner = vault / "inner.md"
    inner.symlink_to(real)
    assert write_note(inner, b"b\n", b"a\n")
    assert inner.is_symlink() and real.read_bytes() == b"b\n"


def test_create_refuses_to_overwrite(vault):
    p = vault / "Papers" / "New.md"
    assert write_note(p, b"hello\n", None)
    assert p.read_bytes() == b"hello\n"
    with pytest.raises(NoteError, match="already exists"):
        write_note(p, b"other\n", None)
    assert p.read_bytes() == b"hello\n"


def test_write_bytes_atomic_skips_identical_and_creates_folders(vault):
    png = vault / "attachments" / "sub" / "n.attention_distance.png"
    assert write_bytes_atomic(png, b"\x89PNG1")
    mtime = png.stat().st_mtime_ns
    assert not write_bytes_atomic(png, b"\x89PNG1")
    assert png.stat().st_mtime_ns == mtime
    assert write_bytes_atomic(png, b"\x89PNG2") and png.read_bytes() == b"\x89PNG2"
    assert [f.name for f in png.parent.iterdir()] == ["n.attention_distance.png"]


def test_seed_note_filled_on_disk_twice_writes_once(vault):
    seed = Path(__file__).resolve().parent / "data" / "paper-study-ViT.md"
    p = vault / "Papers" / "ViT.md"
    shutil.copyfile(seed, p)
    sections = {"patch": TABLE, "fig": "![[ViT.fig.png]]"}
    assert _fill(p, sections)
    data, mtime = p.read_bytes(), p.stat().st_mtime_ns
    assert not _fill(p, sections)
    assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime
