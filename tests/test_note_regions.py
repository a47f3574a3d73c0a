"""Region markers, hashes and reading notes from disk."""

from __future__ import annotations

import hashlib

import pytest

from vitnotes.errors import NoteError
from vitnotes.obsidian.note import read_note
from vitnotes.obsidian.regions import body_hash, find_regions, merge, region_lines


def region(name, body, indent="", sha=None):
    rows = region_lines(name, body, indent)
    if sha is not None:
        rows[0] = rows[0].replace(f"sha={body_hash(body)}", f"sha={sha}")
    return "\n".join(rows)


def test_find_regions_reads_name_sha_lines_indent_and_body():
    text = "intro\n" + region("shapes", "| a |\n| - |", "\t") + "\nafter\n"
    (r,) = find_regions(text)
    assert (r.name, r.begin, r.end, r.indent) == ("shapes", 1, 6, "\t")
    assert r.sha == hashlib.sha256(b"| a |\n| - |").hexdigest()[:8]
    assert r.body == "\n\t| a |\n\t| - |\n"
    assert not r.edited


def test_body_hash_ignores_line_endings_and_indentation_but_not_content():
    base = body_hash("| a | b |\n| - | - |")
    assert body_hash("| a | b |\r\n| - | - |\r\n") == base
    assert body_hash("\n    | a | b |\n    | - | - |\n\n") == base
    assert body_hash("\t| a | b |\n\t| - | - |") == base
    assert body_hash("| a | c |\n| - | - |") != base
    assert len(base) == 8 and int(base, 16) >= 0


def test_markers_inside_code_fences_are_text():
    text = "```markdown\n<!-- vitnotes:begin shapes sha=00000000 -->\n```\n~~~\n<!-- vitnotes:end x -->\n~~~\n"
    assert find_regions(text) == []
    # A longer fence is only closed by a fence at least as long.
    text = "````\n```\n<!-- vitnotes:end x -->\n````\n"
    assert find_regions(text) == []


@pytest.mark.parametrize(
    "text, lines",
    [
        (region("a", "x") + "\n" + region("a", "y") + "\n", ("lines 1 and 4", "twice")),
        ("<!-- vitnotes:begin a sha=12345678 -->\nx\n", ("line 1", "never closed")),
        ("x\n<!-- vitnotes:end a -->\n", ("line 2", "without a matching begin")),
        ("<!-- vitnotes:begin a -->\n<!-- vitnotes:begin b -->\n<!-- vitnotes:end b -->\n<!-- vitnotes:end a -->",
         ("line 2", "line 1", "nest")),
        ("<!-- vitnotes:begin a -->\n<!-- vitnotes:end b -->\n", ("line 2", "line 1", "closes")),
        ("ok\n<!-- vitnotes:begin -->\n", ("line 2", "malformed")),
    ],
)
def test_broken_markers_are_refused_with_line_numbers(text, lines):
    with pytest.raises(NoteError) as info:
        find_regions(text)
    for part in lines:
        assert part in str(info.value)
    with pytest.raises(NoteError):
        merge(text, {"a": "new"}, {})


def test_user_edit_is_detected_by_hash():
    good = region("a", "generated")
    assert not find_regions(good)[0].edited
    assert find_regions(good.replace("generated", "mine"))[0].edited
    assert find_regions(region("a", "x", sha="deadbeef"))[0].edited
    # A begin marker without sha and an empty body is a placeholder the user placed: fill it.
    placeholder = "<!-- vitnotes:begin a -->\n<!-- vitnotes:end a -->\n"
    assert not find_regions(placeholder)[0].edited
    r = merge("top\n" + placeholder, {"a": "filled"}, {})
    assert r.updated == ["a"] and "filled" in r.text and r.text.startswith("top\n<!-- vitnotes:begin a sha=")


# ---------------------------------------------------------------- reading notes

def test_read_note_keeps_bytes_bom_crlf_and_parses_frontmatter(tmp_path):
    raw = b"\xef\xbb\xbf---\r\nvitnotes: vit_tiny_patch16_224\r\ntags: [a, b]\r\n---\r\n# T\r\nno final newline"
    p = tmp_path / "n.md"
    p.write_bytes(raw)
    note = read_note(p)
    assert note.raw == raw and note.bom and note.newline == "\r\n" and not note.final_newline
    assert note.text == raw[3:].decode("utf-8")
    assert note.frontmatter == {"vitnotes": "vit_tiny_patch16_224", "tags": ["a", "b"]}
    assert note.encode(note.text) == raw
    assert note.mtime_ns == p.stat().st_mtime_ns


def test_non_utf8_names_the_file_and_utf8(tmp_path):
    p = tmp_path / "gbk.md"
    p.write_bytes("# 标题\n内容\n".encode("gbk"))
    with pytest.raises(NoteError) as info:
        read_note(p)
    assert "gbk.md" in str(info.value) and "UTF-8" in str(info.value)


def test_broken_yaml_names_the_line(tmp_path):
    p = tmp_path / "bad.md"
    p.write_text("---\nvitnotes:\n  model: vit\n  img_size: [224\n---\nbody\n", encoding="utf-8")
    with pytest.raises(NoteError) as info:
        read_note(p)
    msg = str(info.value)
    assert "bad.md" in msg and "line 4" in msg  # where the unclosed [ is
    p.write_text("---\na: b\n c: d\n---\n", encoding="utf-8")
    with pytest.raises(NoteError, match="line 3"):
        read_note(p)


def test_frontmatter_rules(tmp_path):
    p = tmp_path / "n.md"
    p.write_text("---\n---\nx\n", encoding="utf-8")
    assert read_note(p).frontmatter == {}
    p.write_text("---\nnot closed\n", encoding="utf-8")
    assert read_note(p).frontmatter is None
    p.write_text(" ---\na: 1\n---\n", encoding="utf-8")
    assert read_note(p).frontmatter is None
    p.write_text("---\n- a\n- b\n---\n", encoding="utf-8")
    with pytest.raises(NoteError, match="key: value"):
        read_note(p)
    with pytest.raises(NoteError, match="no such note"):
        read_note(tmp_path / "missing.md")


def test_text_after_a_marker_is_named_as_such():
    text = region("shapes", "t").replace("<!-- vitnotes:end shapes -->", "<!-- vitnotes:end shapes --> my note")
    with pytest.raises(NoteError, match="line 3: text after a vitnotes marker on the same line"):
        find_regions(text)
    with pytest.raises(NoteError, match="line 1: malformed vitnotes marker"):
        find_regions("<!-- vitnotes:begin -->\n")
