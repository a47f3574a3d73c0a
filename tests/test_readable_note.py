"""The note a student reads: each fact once, defaults that follow the model, the op trace in a
companion note, one provenance line, and no "does not apply" text under default sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.structure import profile_structure
from vitnotes.obsidian.vault import Vault
from vitnotes.pipeline import FillOptions, fill_note
from vitnotes.render.markdown import RenderContext, render_sections
from vitnotes.sections import applicable, structural_names

from test_family_sweep import FAMILIES

NOT_APPLY = ("does not apply", "Not for `", "not a plain ViT", "Not computed", "no single global", "Not known for")


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "app.json").write_text(json.dumps({"attachmentFolderPath": "Attachments"}))
    (tmp_path / "Papers").mkdir()
    return tmp_path


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_default_sections_of_every_family_never_say_does_not_apply(family):
    name, kwargs, _ = FAMILIES[family]
    report = profile_structure(AnalysisRequest(name, model_kwargs=kwargs, sections=structural_names(),
                                               scaling_sizes=()))
    sections = applicable(report, structural_names())
    assert {"card", "shapes", "params", "flops", "downsampling", "diagram"} <= set(sections)
    assert ("patch" in sections) == (family != "resnet")  # Mixer, ConvNeXt, PoolFormer patchify too
    assert ("equations" in sections) == (family in ("vit", "deit", "eva", "beit", "dinov2", "hybrid"))
    out = render_sections(report, sections, RenderContext())
    for section, text in out.items():
        assert not any(p in text for p in NOT_APPLY), (family, section, text)
    # provenance once per note, in its first region
    assert sum(f"`{name}` · input" in text for text in out.values()) == 1


def test_an_explicit_section_that_does_not_apply_says_so_in_one_line():
    report = profile_structure(AnalysisRequest("resnet18", sections=structural_names(), scaling_sizes=()))
    out = render_sections(report, ["card", "patch", "equations", "heads", "cls"], RenderContext())
    for section in ("patch", "equations", "heads"):
        assert out[section].count("\n") == 1, (section, out[section])  # one line, no provenance repeat
    reasons = [out[s] for s in ("patch", "equations", "heads")]
    assert len(set(reasons)) == 3  # each says its own reason, not one sentence repeated


def test_fill_writes_the_trace_companion_note_and_links_it_once(vault):
    note = vault / "Papers" / "Tiny.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, model_kwargs: {depth: 2}, "
                    "sections: [shapes, block]}\n---\n# Tiny\n- **张量变化 (Tensor Shapes - 重点)：**\n",
                    encoding="utf-8")
    assert fill_note(note).status == "filled"
    companion = vault / "Attachments" / "Tiny (vitnotes trace).md"
    text, trace = note.read_text(encoding="utf-8"), companion.read_text(encoding="utf-8")
    assert text.count("[[Tiny (vitnotes trace)|all ") == 1 and "aten." not in text
    assert trace.startswith('---\nvitnotes-trace: "[[Tiny|Tiny]]"\n---\n') and "`convolution`" in trace
    assert Vault.for_note(note).is_skipped(companion)  # watch never treats it as a note
    before = companion.stat().st_mtime_ns
    assert fill_note(note).status == "unchanged" and companion.stat().st_mtime_ns == before


def test_a_users_file_with_the_companions_name_is_never_overwritten(vault):
    note = vault / "Papers" / "Tiny.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, model_kwargs: {depth: 2}, sections: [shapes]}\n"
                    "---\n# Tiny\n", encoding="utf-8")
    mine = vault / "Attachments" / "Tiny (vitnotes trace).md"
    mine.parent.mkdir()
    mine.write_text("my own notes about the trace\n", encoding="utf-8")
    assert fill_note(note).status == "filled"
    assert mine.read_text(encoding="utf-8") == "my own notes about the trace\n"
    assert "vitnotes trace" not in note.read_text(encoding="utf-8")  # no link to a file that is not ours


def test_defaults_follow_the_model_in_a_filled_note(vault):
    note = vault / "Papers" / "ResNet.md"
    note.write_text("---\nvitnotes: resnet18\n---\n# ResNet\n", encoding="utf-8")
    result = fill_note(note)
    assert result.status == "filled", result.line()
    text = note.read_text(encoding="utf-8")
    for absent in ("patch", "cls", "equations", "heads", "attention_distance", "pos_embed", "filters", "rollout"):
        assert f"vitnotes:begin {absent} " not in text, absent
    for present in ("card", "shapes", "params", "flops", "downsampling", "block", "diagram"):
        assert f"vitnotes:begin {present} " in text, present
    assert text.count("`resnet18` · input 224×224") == 1
    assert "drawing figures" not in result.message


def test_an_edited_region_that_the_model_outgrew_is_marked_outside_it(vault):
    note = vault / "Papers" / "Tiny.md"
    head = ("---\nvitnotes: {model: vit_tiny_patch16_224, img_size: 224, model_kwargs: {depth: 2}, "
            "sections: [patch, block]}\n---\n")
    note.write_text(head + "# Tiny\n", encoding="utf-8")
    assert fill_note(note).status == "filled"
    text = note.read_text(encoding="utf-8")
    edited = text.replace("- **P = 16**", "- **P = 16** (my note: sixteen!)")
    note.write_text(edited, encoding="utf-8")
    # Same model: the edit is kept and nothing is stale.
    assert fill_note(note).status == "unchanged" and note.read_text(encoding="utf-8") == edited
    # The model changes: the block region is redone, the edited patch region is kept and marked.
    note.write_text(edited.replace("img_size: 224", "img_size: 112"), encoding="utf-8")
    result = fill_note(note)
    assert result.status == "filled" and result.kept_edited == ["patch"]
    marked = note.read_text(encoding="utf-8")
    region = edited.split("<!-- vitnotes:begin patch", 1)[1].split("<!-- vitnotes:end patch -->", 1)[0]
    assert region in marked  # the user's text inside the region, byte for byte
    mark = [line for line in marked.split("\n") if "[!warning] vitnotes: `patch` below is out of date" in line]
    assert len(mark) == 1 and "vitnotes fill --force" in mark[0]
    assert marked.split("\n")[marked.split("\n").index(mark[0]) + 1].startswith("<!-- vitnotes:begin patch")
    assert fill_note(note).status == "unchanged"  # idempotent
    assert fill_note(note, FillOptions(force=True)).status == "filled"
    forced = note.read_text(encoding="utf-8")
    assert "out of date" not in forced and "sixteen" not in forced


def _tiny_note(vault: Path, sections: str) -> Path:
    note = vault / "Papers" / "Tiny.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, model_kwargs: {depth: 2}, "
                    f"sections: [{sections}]}}\n---\n# Tiny\n- **代码核心逻辑 (GitHub Snippets)：**\n",
                    encoding="utf-8")
    return note


def _fences(text: str) -> list[str]:
    from markdown_it import MarkdownIt

    return [t.content.rstrip("\n") for t in MarkdownIt("commonmark").parse(text) if t.type == "fence"]


def test_the_code_listing_is_a_companion_note_and_the_region_one_paragraph(vault):
    from vitnotes.obsidian.regions import find_regions
    from vitnotes.render.listing import annotate

    note = _tiny_note(vault, "code")
    assert fill_note(note).status == "filled"
    text = note.read_text(encoding="utf-8")
    companion = vault / "Attachments" / "Tiny (vitnotes code).md"
    code = companion.read_text(encoding="utf-8")
    (region,) = [r for r in find_regions(text) if r.name == "code"]
    model_line, body = region.body.strip().split("\n\n")  # the note's provenance line (its only region), then
    assert model_line.startswith("*`vit_tiny_patch16_224`") and "\n" not in body  # one paragraph
    assert "[[Tiny (vitnotes code)|PatchEmbed, Block, Attention, Mlp]]" in body
    assert "Attention ran fused `scaled_dot_product_attention` (`fused_attn = True`), not the explicit" in body
    assert "```" not in text  # no listing in the paper note
    assert code.startswith('---\nvitnotes-code: "[[Tiny|Tiny]]"\n---\n')
    # The listings, open (the reader came to read them), each the installed timm's code, annotated.
    from vitnotes.analysis import analyze
    from vitnotes.analysis.request import AnalysisRequest as Req

    report = analyze(Req("vit_tiny_patch16_224", model_kwargs={"depth": 2}, sections=("code",)))
    assert _fences(code) == [annotate(s) for s in report.code.snippets]
    assert "> [!example] `Attention.forward`" in code and "> [!info]- `__init__`" in code
    assert Vault.for_note(note).is_skipped(companion)  # watch and fill --vault never treat it as a note
    before = companion.stat().st_mtime_ns
    assert fill_note(note).status == "unchanged" and companion.stat().st_mtime_ns == before


def test_the_listing_stays_in_the_region_when_a_users_file_has_the_companions_name(vault):
    note = _tiny_note(vault, "code")
    mine = vault / "Attachments" / "Tiny (vitnotes code).md"
    mine.parent.mkdir()
    mine.write_text("---\nvitnotes-trace: not this kind\n---\nmy code notes\n", encoding="utf-8")
    assert fill_note(note).status == "filled"
    assert mine.read_text(encoding="utf-8") == "---\nvitnotes-trace: not this kind\n---\nmy code notes\n"
    text = note.read_text(encoding="utf-8")
    assert "vitnotes code" not in text and len(_fences(text)) == 4  # the listing, inline and folded
    assert "> [!example]- `Attention.forward`" in text


def test_what_the_counter_counts_is_in_the_trace_note_and_linked_from_the_macs_region(vault):
    note = vault / "Papers" / "Tiny.md"
    note.write_text("---\nvitnotes: {model: vit_tiny_patch16_224, model_kwargs: {depth: 2}, sections: [flops]}\n"
                    "---\n# Tiny\n", encoding="utf-8")
    assert fill_note(note).status == "filled"
    text = note.read_text(encoding="utf-8")
    trace = (vault / "Attachments" / "Tiny (vitnotes trace).md").read_text(encoding="utf-8")
    assert "[[Tiny (vitnotes trace)#What the counter counts|what is counted]]" in text
    assert "What the counter counts" not in text.replace("#What the counter counts|", "")  # no callout here
    assert "\n## What the counter counts\n" in trace and "\n## Every op\n" in trace
    assert "Counted: convolution" in trace and "Not counted (0 MACs):" in trace
    assert "|all " not in text  # shapes is not rendered: no link to the op table


def test_regions_have_no_blank_line_inside_their_markers_and_markdown_still_ends_each_block():
    from markdown_it import MarkdownIt

    from vitnotes.obsidian.regions import region_lines

    prose = region_lines("params", "\n\nText.\n\nMore text.\n\n", "  ")
    assert prose[1] == "  Text." and prose[-2] == "  More text." and len(prose) == 5
    table = region_lines("block", "\n\nText.\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n", "  ")
    assert table[1] == "  Text." and table[-3:-1] == ["  | 1 | 2 |", ""]  # a table keeps its blank line
    first = region_lines("shapes", "| a | b |\n| --- | --- |\n| 1 | 2 |\nB = batch.\n", "  ")
    assert first[1] == "" and first[2] == "  | a | b |" and first[-2] == "  B = batch."
    for lines in (prose, table, first):
        doc = "- question\n" + "\n".join(lines) + "\n- next item\n"
        tokens = MarkdownIt("commonmark").enable("table").parse(doc)
        kinds = [t.type for t in tokens if t.type in ("html_block", "table_open", "table_close", "bullet_list_close")]
        # both markers are hidden comments inside the item, and a table ends before the end marker
        assert kinds[0] == "html_block" and kinds[-2:] == ["html_block", "bullet_list_close"], kinds
        assert kinds.count("table_open") == kinds.count("table_close") == (lines is not prose)


def test_a_swin_pair_is_shown_once_with_what_the_shifted_block_changes():
    report = profile_structure(AnalysisRequest("swin_tiny_patch4_window7_224", sections=("block",), scaling_sizes=()))
    text = render_sections(report, ["block"], RenderContext())["block"]
    steps = [line.split(" | ")[0].lstrip("| ") for line in text.split("\n") if line.startswith("| ")][2:]
    w = [r.stage.split(": ", 1)[1] for r in report.shapes.block if r.stage.startswith("W-MSA: ")]
    assert len(w) >= 8 and not any(s.startswith("W-MSA") for s in steps)
    names = [s.split(" `")[0] for s in steps]
    assert [n for n in names if not n.startswith("SW-MSA: ")] == w  # the W-MSA block, once, in order
    shifted = [n for n in names if n.startswith("SW-MSA: ")]
    assert shifted == ["SW-MSA: cyclic shift", "SW-MSA: window attention", "SW-MSA: reverse shift"]
    assert names.index("SW-MSA: cyclic shift") == names.index("norm1") + 1
    assert names.index("SW-MSA: window attention") == names.index("window attention") + 1
    assert names.index("SW-MSA: reverse shift") == names.index("window reverse") + 1
    masked = next(line for line in text.split("\n") if line.startswith("| SW-MSA: window attention"))
    assert "as above, and a mask" in masked and "relative position bias" not in masked  # only what differs
