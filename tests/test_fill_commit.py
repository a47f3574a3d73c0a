"""fill_note's order of work: compute once, render in memory, write only after a successful merge;
and a cached re-fill of every model family's default note never imports torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from test_fill import refill_reporting_torch, run_cli

from vitnotes.pipeline import FillOptions, fill_note

TINY_FIGURES = ("---\nvitnotes: {model: vit_tiny_patch16_224, model_kwargs: {depth: 1}, "
                "sections: [card, pos_embed, filters]}\n---\n# A paper\n\nMy words.\n\n")


def make_vault(tmp_path: Path) -> Path:
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / ".obsidian" / "app.json").write_text(json.dumps({"attachmentFolderPath": "Attachments"}))
    (vault / "Papers").mkdir()
    return vault


def snapshot(vault: Path) -> dict[str, bytes]:
    return {p.relative_to(vault).as_posix(): p.read_bytes() for p in sorted(vault.rglob("*")) if p.is_file()}


def test_a_note_refused_at_merge_writes_no_figure_and_no_file(tmp_path):
    vault = make_vault(tmp_path)
    note = vault / "Papers" / "Open fence.md"
    # The figure regions have no anchor: they would go under "## vitnotes" at the end, inside the fence.
    note.write_text(TINY_FIGURES + "```python\nprint('never closed')\n", encoding="utf-8")
    before = snapshot(vault)
    result = fill_note(note)
    assert result.status == "refused", result.line()
    assert "never closed" in result.message or "fence" in result.message
    assert snapshot(vault) == before  # same files, same bytes: no PNG, no cache entry, no temp file


def test_the_same_note_with_its_fence_closed_writes_figures_then_the_note(tmp_path):
    vault = make_vault(tmp_path)
    note = vault / "Papers" / "Closed fence.md"
    note.write_text(TINY_FIGURES + "```python\nprint('closed')\n```\n", encoding="utf-8")
    result = fill_note(note)
    assert result.status == "filled", result.line()
    pngs = sorted(p.name for p in (vault / "Attachments").iterdir())
    assert pngs == ["Closed fence.filters.png", "Closed fence.pos_embed.png"]
    text = note.read_text(encoding="utf-8")
    assert "![[Closed fence.filters.png]]" in text and "![[Closed fence.pos_embed.png]]" in text
    cached = [p for p in (vault / ".vitnotes" / "cache").iterdir() if p.suffix == ".json"]
    assert len(cached) == 1 and json.loads(cached[0].read_text())["drawn"] == ["filters", "pos_embed"]


def test_a_concurrent_edit_is_merged_again_without_recomputing(tmp_path, monkeypatch):
    import vitnotes.analysis
    from vitnotes.obsidian import write as write_mod

    vault = make_vault(tmp_path)
    note = vault / "Papers" / "n.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, sections: [card]}\n---\n# T\n", encoding="utf-8")
    calls = []
    real_analyze, real_write = vitnotes.analysis.analyze, write_mod.write_note

    def counting(req, **kw):
        calls.append(req.model)
        return real_analyze(req, **kw)

    def user_saves_first(path, data, expected_raw, vault_root=None, cancel=None):
        if len(calls) == 1 and not getattr(user_saves_first, "done", False):
            user_saves_first.done = True
            Path(path).write_text(Path(path).read_text(encoding="utf-8") + "\nTyped meanwhile.\n", encoding="utf-8")
        return real_write(path, data, expected_raw, vault_root, cancel)

    monkeypatch.setattr(vitnotes.analysis, "analyze", counting)
    monkeypatch.setattr(write_mod, "write_note", user_saves_first)
    result = fill_note(note, FillOptions(use_cache=False))
    assert result.status == "filled", result.line()
    assert calls == ["vit_tiny_patch16_224"]  # computed once, merged twice
    text = note.read_text(encoding="utf-8")
    assert "Typed meanwhile." in text and "vitnotes:begin card" in text


FAMILIES = ["vit_base_patch16_224", "swin_tiny_patch4_window7_224", "convnext_tiny", "resnet50", "mixer_b16_224"]


@pytest.mark.slow
@pytest.mark.parametrize("model", FAMILIES)
def test_cached_refill_of_a_default_note_never_imports_torch(tmp_path, model):
    """Default sections: the figure sections a non-ViT model has no data for must not defeat the cache."""
    vault = make_vault(tmp_path)
    (vault / "imgs").mkdir()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(vault / "imgs" / "one.png")
    note = vault / "Papers" / "n.md"
    note.write_text(f"---\nvitnotes: {{model: {model}, images: imgs, num_images: 1}}\n---\n# T\n", encoding="utf-8")
    first = run_cli("fill", str(note))
    assert first.returncode == 0, first.stdout + first.stderr
    again = refill_reporting_torch(note)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "NO-TORCH"
    assert again.stdout.startswith("unchanged Papers/n.md")
