"""`fill` writes only into paper notes: opted in by the key, by --model, by earlier regions or by the
template's questions. Anything else is refused with one line on how to opt in, and the vault is unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vitnotes.obsidian.anchors import load_anchors
from vitnotes.obsidian.note import parse_frontmatter
from vitnotes.obsidian.optin import why_not_a_paper_note
from vitnotes.pipeline import FillOptions, fill_note

SHOPPING = "# Groceries\n\n- milk\n- eggs\n- 面包\n\n```\n- [ ] **Basic Block:** inside code does not count\n```\n"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "app.json").write_text(json.dumps({"attachmentFolderPath": "Attachments"}))
    return tmp_path


def snapshot(root: Path) -> list:
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else None) for p in root.rglob("*"))


def test_a_shopping_list_is_refused_and_the_vault_is_untouched(vault):
    note = vault / "Groceries.md"
    note.write_text(SHOPPING, encoding="utf-8")
    before = snapshot(vault)
    out = subprocess.run([sys.executable, "-m", "vitnotes", "fill", str(note)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout.count("\n") == 1 and out.stdout.startswith("refused Groceries.md: not a paper note")
    assert "vitnotes: vit_base_patch16_224" in out.stdout and "--model" in out.stdout  # how to opt in
    assert snapshot(vault) == before  # no note byte, no cache folder, no figure
    assert "torch" not in out.stderr


@pytest.mark.parametrize("text, model", [
    ("---\nvitnotes: vit_tiny_patch16_224\n---\nGroceries\n", None),  # the key
    ("Groceries\n", "vit_tiny_patch16_224"),  # --model
    ("# ViT\n- [ ] **Basic Block:** 最小重复单元长什么样？\n", None),  # a template question
    ("Groceries\n<!-- vitnotes:begin patch sha=00000000 -->\nx\n<!-- vitnotes:end patch -->\n", None),  # regions
])
def test_paper_notes_qualify(text, model):
    assert why_not_a_paper_note(text, parse_frontmatter(text, "n.md"), load_anchors(None), model) == ""


def test_regex_anchors_and_frontmatter_do_not_make_a_paper_note():
    anchors = load_anchors(None)
    assert any(a.startswith("re:") for a in anchors["card"])  # `^# ` matches any note's title
    assert why_not_a_paper_note("---\ntags: [Params]\n---\n# Shopping\n", {"tags": ["Params"]}, anchors, None)


def test_a_template_question_is_enough_to_fill(vault):
    note = vault / "n.md"
    note.write_text("# My ViT notes\n- **Patch Size 是多少？**\n", encoding="utf-8")
    result = fill_note(note, FillOptions(model=None))
    assert result.status == "filled", result.line()
    assert "<!-- vitnotes:begin patch" in note.read_text(encoding="utf-8")
