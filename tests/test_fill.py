"""`vitnotes fill` end to end on the real seed note: placement, idempotence, refusals, the cache."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vitnotes.pipeline import FillOptions, fill_note
from vitnotes.sections import structural_names

STRUCTURE_SECTIONS = structural_names()

SEED = Path(__file__).resolve().parent / "data" / "paper-study-ViT.md"  # a real student's note template, verbatim
EXAMPLE = Path(__file__).resolve().parents[1] / "vault_example"

VIT_B16_SHAPES = ["B×3×224×224", "B×768×14×14", "B×196×768", "B×197×768", "B×197×2304",
                  "B×12×197×64", "B×12×197×197", "B×197×3072", "B×768", "B×1000"]


def make_vault(tmp_path: Path, sections=STRUCTURE_SECTIONS) -> Path:
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / ".obsidian" / "app.json").write_text(json.dumps({"attachmentFolderPath": "Attachments"}))
    (vault / ".vitnotes").mkdir()
    (vault / ".vitnotes" / "config.yaml").write_text("sections: [" + ", ".join(sections) + "]\n")
    (vault / "Papers").mkdir()
    return vault


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def vault(tmp_path):
    return make_vault(tmp_path)


def only_insertions(before: str, after: str) -> list[str]:
    """The lines added; fails if any original line was changed or removed."""
    a, b = before.splitlines(), after.splitlines()
    added = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), f"{tag} of original lines {i1}-{i2}: {a[i1:i2]!r}"
        added += [line + "\n" for line in b[j1:j2]]
    return added


def test_seed_note_filled_in_place_then_unchanged(vault, seed_text):
    note = vault / "Papers" / "ViT.md"
    note.write_text(seed_text, encoding="utf-8")
    first = fill_note(note)
    assert first.status == "filled", first.line()
    assert first.model == "vit_base_patch16_224"
    after = note.read_text(encoding="utf-8")
    added = "".join(only_insertions(seed_text, after))
    for fact in VIT_B16_SHAPES + ["86,567,656", "17.58"]:
        assert fact in added, fact
    stat = note.stat()
    second = fill_note(note)
    assert second.status == "unchanged", second.line()
    assert note.read_text(encoding="utf-8") == after
    assert note.stat().st_mtime_ns == stat.st_mtime_ns


def test_regions_sit_under_their_questions(vault, seed_text):
    note = vault / "Papers" / "ViT.md"
    note.write_text(seed_text, encoding="utf-8")
    assert fill_note(note).status == "filled"
    lines = note.read_text(encoding="utf-8").splitlines()

    def region_after(anchor: str) -> str:
        i = next(n for n, line in enumerate(lines) if anchor in line)
        for line in lines[i + 1:]:
            if "<!-- vitnotes:begin" in line:
                return line.split("vitnotes:begin ")[1].split()[0]
        raise AssertionError(f"no region after {anchor}")

    assert region_after("张量变化 (Tensor Shapes") == "shapes"
    assert region_after("性能指标") in ("params", "flops")
    assert region_after("Patch Size") == "patch"
    assert region_after("降采样") == "downsampling"
    assert region_after("Basic Block") == "block"
    assert region_after("[CLS] Token") == "cls"
    assert region_after("核心公式") == "equations"
    assert region_after("模型结构图") == "diagram"
    assert region_after("MHA和MHSA中的可学习参数") == "heads"
    # the user's answer under "Patch Size" stays directly under its question, before the region
    i = next(n for n, line in enumerate(lines) if "Patch Size" in line)
    assert "Depends on the model" in lines[i + 1]


def test_every_generated_table_parses(vault, seed_text):
    from markdown_it import MarkdownIt

    note = vault / "Papers" / "ViT.md"
    note.write_text(seed_text, encoding="utf-8")
    fill_note(note)
    text = note.read_text(encoding="utf-8")
    body = text.split("<!-- vitnotes:begin block", 1)[1].split("<!-- vitnotes:end block", 1)[0]  # the steps, once
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    cells = " ".join(t.content for t in tokens if t.type == "inline")
    assert sum(t.type == "table_open" for t in tokens) >= 4
    assert "B×12×197×197" in cells and "B×12×197×197" in body


def test_crlf_bom_no_final_newline_preserved(vault):
    note = vault / "n.md"
    original = "\ufeff---\r\nvitnotes: vit_tiny_patch16_224\r\n---\r\n# T\r\n\t- 张量变化 (Tensor Shapes)  \r\nend"
    note.write_bytes(original.encode("utf-8"))
    assert fill_note(note).status == "filled"
    raw = note.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf---\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert not raw.endswith(b"\n")  # no final newline before, none after
    text = raw.decode("utf-8")
    only_insertions(original, text)
    assert fill_note(note).status == "unchanged"


def test_unknown_model_becomes_a_callout(vault):
    note = vault / "n.md"
    original = "---\nvitnotes: vit_bse_patch16_224\n---\nMy own words.\n"
    note.write_text(original, encoding="utf-8")
    result = fill_note(note)
    assert result.status == "failed" and result.exit_code == 1
    assert "vit_base_patch16_224" in result.message
    text = note.read_text(encoding="utf-8")
    assert "> [!warning] vitnotes:" in text and "vit_bse_patch16_224" in text
    only_insertions(original, text)
    assert fill_note(note).status == "failed"
    assert note.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"---\nvitnotes: {model: [\n---\n", "YAML"),
        (b"---\nvitnotes: {modle: vit_tiny_patch16_224}\n---\n", "vitnotes.modle"),
        (b"---\nvitnotes: {model: x, weights: ../../w.pth}\n---\n", "outside the vault"),
        ("caf\u00e9".encode("latin-1"), "UTF-8"),
        (b"<!-- vitnotes:begin shapes sha=00000000 -->\nx\n", "line"),
    ],
)
def test_bad_input_refused_and_untouched(vault, tmp_path, content, needle):
    (tmp_path / "w.pth").write_bytes(b"x")
    note = vault / "bad.md"
    note.write_bytes(content)
    before = sorted((p, p.read_bytes()) for p in vault.rglob("*") if p.is_file())
    result = fill_note(note)
    assert result.status == "refused" and result.exit_code == 2
    assert needle in result.message
    assert "\n" not in result.message
    assert sorted((p, p.read_bytes()) for p in vault.rglob("*") if p.is_file()) == before


def test_missing_note_and_symlink_out_of_vault(vault, tmp_path):
    assert "not found" in fill_note(vault / "nope.md").message
    outside = tmp_path / "outside.md"
    outside.write_text("---\nvitnotes: vit_tiny_patch16_224\n---\n", encoding="utf-8")
    link = vault / "link.md"
    link.symlink_to(outside)
    result = fill_note(link)
    assert result.status == "refused"
    assert outside.read_text(encoding="utf-8") == "---\nvitnotes: vit_tiny_patch16_224\n---\n"


def test_edited_region_kept_unless_forced(vault):
    note = vault / "n.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, sections: [patch]}\n---\n# T\n", encoding="utf-8")
    fill_note(note)
    text = note.read_text(encoding="utf-8")
    start = text.index("<!-- vitnotes:begin patch")
    edited = text[:start] + text[start:].replace("16", "sixteen", 1)
    note.write_text(edited, encoding="utf-8")
    kept = fill_note(note)
    assert kept.kept_edited == ["patch"] and "--force" in kept.message
    assert note.read_text(encoding="utf-8") == edited
    assert fill_note(note, FillOptions(force=True)).status == "filled"
    assert note.read_text(encoding="utf-8") == text


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vitnotes", *args], capture_output=True, text=True, cwd=cwd)


def refill_reporting_torch(note: Path) -> subprocess.CompletedProcess:
    """`vitnotes fill NOTE` in a fresh interpreter after a text edit; its last line says whether torch was imported."""
    note.write_text(note.read_text(encoding="utf-8") + "\nmore words\n", encoding="utf-8")
    code = ("import sys; from vitnotes.cli import main; rc = main(['fill', sys.argv[1]]);"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH'); raise SystemExit(rc)")
    return subprocess.run([sys.executable, "-c", code, str(note)], capture_output=True, text=True)


def test_cached_refill_never_imports_torch(vault):
    note = vault / "n.md"
    note.write_text("---\nvitnotes: vit_tiny_patch16_224\n---\n# T\n", encoding="utf-8")
    assert run_cli("fill", str(note)).returncode == 0
    proc = refill_reporting_torch(note)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "NO-TORCH"
    assert proc.stdout.startswith("unchanged n.md")


def test_cli_one_line_per_note_and_exit_code(vault):
    good = vault / "good.md"
    good.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, sections: [card]}\n---\n", encoding="utf-8")
    bad = vault / "bad.md"
    bad.write_text("---\nvitnotes: no_such_model_xyz\n---\n", encoding="utf-8")
    proc = run_cli("fill", "-q", str(good), str(bad))
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert lines[0].startswith("filled good.md (vit_tiny_patch16_224, ")
    assert lines[1].startswith("failed bad.md: ") and len(lines) == 2
    assert "Traceback" not in proc.stderr


def test_new_note_then_fill(vault):
    proc = run_cli("new", "Swin Transformer: shifted windows", "--model", "swin_tiny_patch4_window7_224",
                   "--vault", str(vault))
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.split("created ", 1)[1].strip())
    assert path.name == "Swin Transformer  shifted windows.md".replace("  ", " ")
    text = path.read_text(encoding="utf-8")
    assert "model: swin_tiny_patch4_window7_224" in text and "张量变化 (Tensor Shapes" in text
    assert run_cli("new", "Swin Transformer: shifted windows", "--vault", str(vault)).returncode == 2
    assert path.read_text(encoding="utf-8") == text
    result = fill_note(path)
    assert result.status == "filled", result.line()


@pytest.mark.slow
def test_example_vault_all_sections(tmp_path):
    """The README's main job: the example note with every section, figures included."""
    vault = tmp_path / "vault_example"
    shutil.copytree(EXAMPLE, vault, ignore=shutil.ignore_patterns(".vitnotes"))
    note = vault / "Papers" / "ViT.md"
    original = note.read_text(encoding="utf-8")
    proc = run_cli("fill", str(note))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = note.read_text(encoding="utf-8")
    only_insertions(original, text)
    for section in ("attention_distance", "pos_embed", "filters", "rollout"):
        png = vault / "Attachments" / f"ViT.{section}.png"
        assert png.is_file() and png.read_bytes().startswith(b"\x89PNG"), section
        assert f"![[ViT.{section}.png]]" in text
    assert "random init" in text
    assert run_cli("fill", str(note)).stdout.startswith("unchanged")
    os.utime(note)  # touching alone changes nothing
    assert note.read_text(encoding="utf-8") == text


def test_analyzer_crash_is_a_callout_not_a_traceback(vault, monkeypatch):
    import vitnotes.analysis

    def boom(req, progress=None, on_idle=None):
        raise RuntimeError("shape mismatch in a layer nobody expected")

    monkeypatch.setattr(vitnotes.analysis, "analyze", boom)
    note = vault / "n.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, sections: [card]}\n---\nMine.\n", encoding="utf-8")
    result = fill_note(note, FillOptions(use_cache=False))
    assert result.status == "failed" and "RuntimeError: shape mismatch" in result.message
    text = note.read_text(encoding="utf-8")
    assert "> [!warning] vitnotes: internal error while analysing vit_tiny_patch16_224" in text
    assert "Mine.\n" in text


def test_refused_line_names_the_note_once(vault):
    note = vault / "bad.md"
    note.write_bytes(b"---\nvitnotes: {model: [\n---\n")
    line = fill_note(note).line()
    assert line.startswith("refused bad.md: ") and line.count("bad.md") == 1


def test_answer_words_never_capture_a_region(vault):
    """'降采样' in the user's own answer must not pull the down-sampling region away from its question."""
    from vitnotes.newnote import render_template

    text = render_template("T", "vit_tiny_patch16_224", vault)  # the shipped template, no pretrained: (offline)
    text = text.replace("- **核心贡献 (Key Idea)：**\n    - ",
                        "- **核心贡献 (Key Idea)：**\n    - patch merging 逐级降采样，层级特征")
    note = vault / "t.md"
    note.write_text(text, encoding="utf-8")
    assert fill_note(note).status == "filled"
    lines = note.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if "**降采样:**" in line)
    assert "vitnotes:begin downsampling" in lines[i + 1]
    assert "vitnotes:begin" not in lines[next(n for n, line in enumerate(lines) if "逐级降采样" in line) + 1]


def test_moving_the_vault_changes_nothing(tmp_path):
    """No absolute path leaks into a note: a vault moved (or synced to another machine) refills identically."""
    vault = tmp_path / "a" / "vault"
    shutil.copytree(EXAMPLE, vault, ignore=shutil.ignore_patterns(".vitnotes", "Papers"))
    (vault / "Papers").mkdir()
    note = vault / "Papers" / "n.md"
    note.write_text("---\nvitnotes:\n  model: vit_tiny_patch16_224\n  img_size: 64\n  model_kwargs: {depth: 2}\n"
                    "  images: Attachments/samples\n  num_images: 2\n"
                    "  sections: [card, attention_distance, rollout]\n---\n# N\n", encoding="utf-8")
    assert fill_note(note).status == "filled"
    text = note.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and "from Attachments/samples" in text
    moved = tmp_path / "b" / "vault"
    moved.parent.mkdir()
    vault.rename(moved)
    shutil.rmtree(moved / ".vitnotes")
    assert fill_note(moved / "Papers" / "n.md").status == "unchanged"
