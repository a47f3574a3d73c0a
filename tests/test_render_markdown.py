"""Report -> Markdown sections: valid GFM tables, honest numbers with units, sandboxed templates.

The structural Reports come from the real analyzer (meta device, no weights), run once per module;
figure data is attached by hand (the renderer only formats it). References are independent of
the code under test: timm's published ViT-B/16 numbers (docs/DESIGN.md §5), the paper's dimensions, and
closed-form arithmetic.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt

from vitnotes.analysis.report import (
    AttentionDistance, EmbedFilters, EncodedImage, ImagesInfo, PosEmbedSimilarity, Report, Rollout, WeightsInfo,
)
from vitnotes.render.markdown import (
    RenderContext, SectionTemplateError, mermaid_text, render_error, render_sections, shipped_template_dir,
)
from vitnotes.render.numbers import callout, fmt_int, fmt_macs, fmt_params, fmt_pct, md_cell, md_table, si
from vitnotes.sections import names, structural_names

ALL_SECTIONS, STRUCTURE_SECTIONS = names(), structural_names()

MD = MarkdownIt("commonmark").enable("table")
SEPARATOR = re.compile(r"^(?:> ?)*\|(?: *:?-{3,}:? *\|)+ *$")

# ViT-B/16 at 224 px (ViT paper Table 1; timm's published count, docs/DESIGN.md §5).
D, HEADS, P, IMG, LAYERS, MLP, CLASSES = 768, 12, 16, 224, 12, 3072, 1000
GRID = IMG // P
N = GRID * GRID
T = N + 1
DK = D // HEADS
VIT_B_PARAMS = 86_567_656


def _analyze(model: str, **kw) -> Report:
    from vitnotes.analysis import analyze
    from vitnotes.analysis.request import AnalysisRequest

    return analyze(AnalysisRequest(model, sections=STRUCTURE_SECTIONS, **kw))


@pytest.fixture(scope="module")
def vit_b() -> Report:
    return _analyze("vit_base_patch16_224")


@pytest.fixture(scope="module")
def resnet() -> Report:
    return _analyze("resnet18")


def _uniform_mad(grid: int, patch: int) -> float:
    """Mean attention distance of uniform attention over a grid×grid patch grid (closed form, numpy)."""
    g = np.stack(np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij"), -1).reshape(-1, 2)
    return float(patch * np.linalg.norm(g[:, None] - g[None], axis=-1).mean())


def _with_figures(report: Report, weights: WeightsInfo) -> Report:
    layers = [[10.0 + 8 * layer + h for h in range(HEADS)] for layer in range(LAYERS)]
    return dataclasses.replace(
        report,
        weights=weights,
        images=ImagesInfo("attachments/samples", 3, ["a.jpg", "b.jpg", "c|d.jpg"], ["bad.png: not an image"]),
        attention_distance=AttentionDistance(layers, _uniform_mad(GRID, P), P, [GRID, GRID], 3, "layer 1: 10–21 px"),
        pos_embed=PosEmbedSimilarity([GRID, GRID], [[0.0] * N for _ in range(N)]),
        filters=EmbedFilters(P, 3, [[0.0] * (3 * P * P)] * 28, [0.2, 0.1] + [0.01] * 26),
        rollout=Rollout([GRID, GRID], [EncodedImage("a.jpg", 1, 1, "000000")], [[0.0] * N]),
    )


def _tables(text: str) -> list[list[list[str]]]:
    """Every table markdown-it finds: rows of cell inline text (header row first)."""
    tables, rows, row = [], None, None
    for tok in MD.parse(text):
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close":
            rows.append(row)
            row = None
        elif tok.type == "table_close":
            tables.append(rows)
    return tables


def _outside_callouts(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith(">"))


# --------------------------------------------------------------------------- numbers


def test_number_formats_carry_units_and_convention():
    assert fmt_params(VIT_B_PARAMS) == "86,567,656 (86.6 M)"
    assert fmt_params(768) == "768"
    assert fmt_int(1_234_567) == "1,234,567"
    assert fmt_macs(17_580_000_000) == "17.58 G MACs (35.16 G FLOPs)"
    assert fmt_macs(1_260_000_000) == "1.26 G MACs (2.52 G FLOPs)"
    assert fmt_macs(455_300_000) == "455.30 M MACs (910.60 M FLOPs)"
    assert si(999_950_000, 1) == "1.0 G"  # rounds up into the next unit, never "1000.0 M"
    assert si(1_500) == "1.5 K" and si(12) == "12"
    assert fmt_pct(0.3579) == "35.8 %" and fmt_pct(None) == "—"


def test_pipe_escaping_keeps_cells_and_embeds_intact():
    assert md_cell("a|b") == "a\\|b"
    assert md_cell("line\nbreak") == "line break"
    assert md_cell("") == "—"
    text = md_table(["name", "embed"], [["a|b", "![[x.png|300]]"], ["`c|d`", "ends in \\"]])
    (table,) = _tables(text)
    assert len(table) == 3 and all(len(r) == 2 for r in table)
    html = MD.render(text)
    assert "<td>a|b</td>" in html and "<td>![[x.png|300]]</td>" in html and "<code>c|d</code>" in html
    with pytest.raises(ValueError):
        md_table(["one"], [["a", "b"]])


def test_callout_prefixes_every_line_and_keeps_the_table():
    body = md_table(["a"], [["1"], ["2"]])
    text = callout("info", "Full op trace (2 ops)", body, folded=True)
    assert text.startswith("> [!info]- Full op trace (2 ops)\n")
    assert all(line.startswith(">") for line in text.split("\n"))
    assert [len(t) for t in _tables(text)] == [3]


# --------------------------------------------------------------------------- real ViT-B/16 report


def test_every_generated_table_is_a_table(vit_b):
    report = _with_figures(copy.deepcopy(vit_b), WeightsInfo("random", "", seed=0, label="random init (seed 0)"))
    # Pipes where a user or a model could put them: names, notes, op names.
    report.params.groups[0].label += " | with a pipe"
    report.shapes.stages[0].stage += " | piped"
    report.shapes.trace[0].op += "|x"
    report.macs.by_op[0].name += " | y"
    out = render_sections(report, ALL_SECTIONS, RenderContext())
    # Each fact once: the block's steps in the block table, counts per module in one line, the
    # per-layer distances in the figure; the op trace is the companion note's (tests/test_trace_note.py).
    expected = {"shapes": 1, "flops": 1, "block": 1, "heads": 1}  # memory and training: one folded paragraph each
    for section, text in out.items():
        separators = sum(bool(SEPARATOR.match(line)) for line in text.split("\n"))
        found = _tables(text)
        assert len(found) == separators == expected.get(section, 0), section
        for table in found:  # no row was cut off by a stray blank line
            assert len({len(r) for r in table}) == 1, section
    cells = {c.replace("\\|", "|") for s in ("shapes", "flops") for t in _tables(out[s]) for r in t for c in r}
    assert report.shapes.stages[0].stage in cells  # an unescaped pipe would split the cell and drop the rest
    piped = report.macs.by_op[0].name
    assert piped in out["flops"] and not _tables(out["flops"].split("> [!info]")[0]), piped
    assert " | with a pipe" not in out["params"]  # "By module" names modules only: the shape table says what each is


def test_shapes_section_holds_the_design_facts_in_order(vit_b):
    text = render_sections(vit_b, ["shapes"], RenderContext())["shapes"]
    facts = [f"B×3×{IMG}×{IMG}", f"B×{D}×{GRID}×{GRID}", f"B×{N}×{D}", f"B×{T}×{D}", f"B×{T}×{3 * D}",
             f"B×{HEADS}×{T}×{DK}", f"B×{HEADS}×{T}×{T}", f"B×{T}×{MLP}", f"B×{D}", f"B×{CLASSES}"]
    table = _outside_callouts(text)
    cells = [row[1] for row in _tables(table)[0][1:]]
    positions = [cells.index(f) for f in facts]
    assert positions == sorted(positions), list(zip(facts, positions))


def test_full_trace_is_the_companion_notes_table_with_every_op(vit_b):
    from vitnotes.render.trace import render_trace_note

    shapes = render_sections(vit_b, ["shapes"], RenderContext(trace_link="[[ViT (vitnotes trace)|all ops]]"))["shapes"]
    assert "[[ViT (vitnotes trace)|all ops]]" in shapes and "aten." not in shapes  # one link, no op rows
    n_ops = len(vit_b.shapes.trace)
    assert n_ops > LAYERS * 10
    text = render_trace_note(vit_b, "[[ViT]]", "`vit_base_patch16_224`", 5000)
    assert text.startswith('---\nvitnotes-trace: "[[ViT]]"\n---\n')
    trace_table = _tables(text)[0]
    assert len(trace_table) == n_ops + 1
    assert sum(int(r[5].replace(",", "")) for r in trace_table[1:] if r[5] != "—") == sum(t.macs for t in vit_b.shapes.trace)
    assert [r[4] for r in trace_table[1:]] == [t.output for t in vit_b.shapes.trace]
    cut = render_trace_note(vit_b, "[[ViT]]", "", 10)
    assert f"first 10 of {fmt_int(n_ops)}" in cut and len(_tables(cut)[0]) == 11


def test_params_and_macs_numbers(vit_b):
    out = render_sections(vit_b, ["card", "params", "flops", "heads"], RenderContext())
    assert "**Parameters: 86,567,656 (86.6 M)**" in out["params"]
    assert "86,567,656" not in out["card"] and "17.58" not in out["card"]  # each fact once: under 性能指标
    # One block of ViT-B: 2 LayerNorms + qkv + proj + fc1 + fc2, weights and biases.
    block = 2 * 2 * D + (3 * D * D + 3 * D) + (D * D + D) + (D * MLP + MLP) + (MLP * D + D)
    assert f"One block: {fmt_params(block)}." in out["params"]
    assert f"`blocks` {LAYERS * block:,} (" in out["params"]  # L × one block, said once: in "By module"
    groups = re.findall(r"`(\w+)` ([\d,]+)", out["params"].split("By module:")[1])
    assert sum(int(n.replace(",", "")) for _, n in groups) == VIT_B_PARAMS
    # timm's published 17.58 GMACs; FLOPs beside them, with the convention stated.
    assert "**Compute: 17.58 G MACs (" in out["flops"]
    assert fmt_macs(vit_b.macs.total) in out["flops"] and "FLOPs = 2 × MACs" in out["flops"]
    scaling = _tables(out["flops"])[-1]
    assert [r[0] for r in scaling[1:]] == ["224×224", "384×384", "512×512"]
    tokens = [(s // P) ** 2 + 1 for s in (224, 384, 512)]
    assert [r[1] for r in scaling[1:]] == [fmt_int(t) for t in tokens]
    # The QKᵀ and AV matmuls are 2·L·h·N²·d_k MACs: the N² term grows exactly with (N/N₀)².
    for row, n in zip(scaling[1:], tokens):
        assert row[3].startswith(si(2 * LAYERS * HEADS * n * n * DK, 2) + " (")
        assert row[5] == row[6] == f"×{(n / tokens[0]) ** 2:.2f}"
    # Heads: W^Q, W^K, W^V ∈ R^{D×D/h}, W^O ∈ R^{D×D}, 4·D² + 4·D per block with biases.
    heads = _tables(out["heads"])[0]
    assert heads[1][1:] == [f"{D}×{DK} each", f"3 × {fmt_params(D * DK)}", fmt_params(3 * D * D)]
    assert heads[2][1] == f"{D}×{D}"
    assert heads[-1][-1] == fmt_params(4 * D * D + 4 * D)
    assert f"[!info]- Learnable parameters: {si(4 * D * D + 4 * D, 1)} per block" in out["heads"]  # exact: in the table


def test_equations_use_this_models_dimensions(vit_b):
    text = render_sections(vit_b, ["equations", "heads"], RenderContext())
    eq = text["equations"] + text["heads"]  # each fact once: the per-head attention lives under MHA
    for needed in (rf"\mathbb{{R}}^{{{T} \times {D}}}",  # z_0 and E_pos
                   rf"\mathbb{{R}}^{{{P * P * 3} \times {D}}}",  # E: (P²·C)×D
                   rf"\mathbf{{x}}_p^{{{N}}}", rf"\mathbb{{R}}^{{{D} \times {DK}}}",
                   rf"\sqrt{{{DK}}}", rf"\sqrt{{d_k}} = {int(DK ** 0.5)}",
                   rf"\mathbb{{R}}^{{{T} \times {T}}}", rf"\mathbb{{R}}^{{{D} \times {CLASSES}}}",
                   rf"\text{{head}}_{{{HEADS}}}", rf"L = {LAYERS}", r"\mathbf{x}_\text{class}"):
        assert needed in eq, needed
    for section in ("equations", "heads"):
        blocks = text[section].split("$$")
        assert len(blocks) % 2 == 1  # every $$ is closed
        for math in blocks[1::2]:
            assert math.count("{") == math.count("}"), math
            assert "\n\n" not in math  # a blank line ends a math block in Obsidian


def test_mermaid_diagram_is_compact_and_parses(vit_b):
    text = render_sections(vit_b, ["diagram"], RenderContext())["diagram"]
    body = text.split("```mermaid\n", 1)[1].split("\n```", 1)[0].split("\n")
    assert body[:4] == ["---", "config: {flowchart: {rankSpacing: 12, nodeSpacing: 12, padding: 8, wrappingWidth: 400, "
                        "subGraphTitleMargin: {top: 0, bottom: 4}}}", "---", "flowchart TD"]
    label = r'(?:\["[^"|]*"\]|\(\("[^"|]*"\)\))'
    node = re.compile(rf"(\w+){label}?")
    edge = re.compile(rf"^ *\w+{label}?(?: -(?:-|\.)-?> \w+{label}?)+$")
    depth, declared, labels = 0, set(), []
    for line in body[4:]:
        if re.match(r'^ *subgraph blk\["[^"|]*"\]$', line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
        elif line.strip() == "direction LR":
            assert depth == 1
        elif edge.match(line):
            for m in node.finditer(line):
                if m.group(0) != m.group(1):
                    declared.add(m.group(1))
                    labels.append(m.group(0))
        else:
            pytest.fail(f"unexpected Mermaid line: {line!r}")
    assert depth == 0
    shown = " ".join(labels)
    for shape in (f"B×3×{IMG}×{IMG}", f"B×{T}×{D}", f"B×{CLASSES}"):
        assert shape not in shown or shape in shown  # shapes sit in the nodes
    assert f"B×{T}×{D}" in shown and f"B×{CLASSES}" in shown
    assert f'subgraph blk["{LAYERS} × transformer block · B×{T}×{D}"]' in text  # the block drawn once, ×L
    assert f"MSA<br/>{HEADS} heads" in shown and f"MLP<br/>{MLP}" in shown
    dashed = [line for line in body if "-.->" in line]
    assert len(dashed) == 1 and dashed[0].count("-.->") == 2  # two residuals per block
    assert f"B×{HEADS}×{T}×{T}" not in text  # step shapes are the Basic Block table's
    assert mermaid_text('a "b" | <c> #') == "a #quot;b#quot; #124; #lt;c#gt; #35;"


def test_figure_sections_state_weights_images_and_reference(vit_b):
    random_w = _with_figures(vit_b, WeightsInfo("random", "", seed=0, label=""))
    figs = {"attention_distance": "![[ViT.attention_distance.png]]"}
    out = render_sections(random_w, ["attention_distance", "pos_embed", "filters", "rollout"], RenderContext(figures=figs))
    for section, text in out.items():
        assert "random init (seed 0) — not a trained model" in text, section
    ad = out["attention_distance"]
    assert ad.count("![[ViT.attention_distance.png]]") == 1
    assert f"{_uniform_mad(GRID, P):.1f} px" == "116.5 px" and "gives 116.5 px" in ad  # docs/DESIGN.md §5: 116.4922
    assert "Reading: layer 1: 10–21 px" in ad and "3 images from attachments/samples" in ad
    assert "\n> [!warning]- Mean attention distance, random init" in ad  # a folded warning, not a big plot
    assert "> ![[ViT.attention_distance.png]]" in ad
    assert "measured 10.0–109.0 px" in ad  # min and max over every head and layer
    assert "(Figure not rendered in this run.)" in out["pos_embed"]
    for section in ("pos_embed", "filters", "rollout"):  # no question for them in the template: folded
        assert out[section].split("\n")[-2].startswith(">") and "> [!info]- " in out[section], section

    trained = _with_figures(vit_b, WeightsInfo("file", "models/vit_b16.safetensors", "ab" * 32,
                                               label="models/vit_b16.safetensors (sha256 abab…)"))
    ad = render_sections(trained, ["attention_distance"], RenderContext())["attention_distance"]
    assert "models/vit_b16.safetensors (sha256 abab…)" in ad and "not a trained model" not in ad
    assert "random init" not in ad and "[!warning]" not in ad  # trained weights: the figure itself


def test_sections_without_data_say_so(vit_b, resnet):
    out = render_sections(resnet, ALL_SECTIONS, RenderContext())
    assert "no single global self-attention" in out["attention_distance"]
    assert "no one set of W^Q, W^K, W^V, W^O" in out["heads"]
    assert "is not a plain ViT" in out["equations"]
    assert "does not cut the image into patches" in out["patch"]
    assert "has no [CLS] token" in out["cls"]
    assert _tables(out["downsampling"]), "a CNN's stage table"
    missing = render_sections(vit_b, ["pos_embed", "rollout"], RenderContext())  # structure-only report
    assert all("Not computed for `vit_base_patch16_224`" in t for t in missing.values())


def test_output_hygiene(vit_b, resnet):
    for report in (vit_b, resnet, _with_figures(vit_b, WeightsInfo("random", "", seed=1))):
        for section, text in render_sections(report, ALL_SECTIONS, RenderContext()).items():
            assert text.endswith("\n") and not text.endswith("\n\n"), section
            assert "\r" not in text and "\n\n\n" not in text, section
            assert text[0] not in " \t\n", section
            assert all(line == line.rstrip() for line in text.split("\n")), section
            if section == "code":  # Python's None is part of the listed source code, not a missing value
                text = re.sub(r"(?:> )?```python\n.*?\n(?:> )?```|`[^`\n]*`", "", text, flags=re.S)
            assert not re.search(r"\bNone\b", text), (section, text)


def test_model_line_says_which_model_and_settings():
    tiny = _analyze("vit_tiny_patch16_224", img_size=112, model_kwargs={"depth": 2})
    text = render_sections(tiny, ["card"], RenderContext())["card"]
    first = text.split("\n", 1)[0]
    assert first == "*`vit_tiny_patch16_224` · input 112×112 · kwargs depth=2*"
    noted = render_sections(tiny, ["card"], RenderContext(model_source="from frontmatter"))["card"]
    assert noted.startswith("*`vit_tiny_patch16_224` · input 112×112 · kwargs depth=2 · from frontmatter*")
    custom = render_sections(tiny, ["card"], RenderContext(model_line="from the cache"))["card"]
    assert custom.startswith("*from the cache*")


# --------------------------------------------------------------------------- templates


def test_vault_override_is_used_and_falls_back(vit_b, tmp_path):
    (tmp_path / "shapes.md.j2").write_text(
        "CUSTOM {{ report.card.embed_dim }} {{ view.stages | length }} {{ report.params.total | params }}\n")
    out = render_sections(vit_b, ["shapes", "card"], RenderContext(template_dirs=[tmp_path, shipped_template_dir()]))
    n_rows = len(_tables(render_sections(vit_b, ["shapes"], RenderContext())["shapes"])[0]) - 1
    assert out["shapes"] == f"CUSTOM {D} {n_rows} 86,567,656 (86.6 M)\n"
    assert "`VisionTransformer`" in out["card"]  # no override: the shipped template


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ report.to_json.__globals__ }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
])
def test_vault_templates_are_sandboxed(vit_b, tmp_path, source):
    (tmp_path / "shapes.md.j2").write_text(source)
    ctx = RenderContext(template_dirs=[tmp_path])
    with pytest.raises(SectionTemplateError) as err:
        render_sections(vit_b, ["shapes"], ctx)
    assert "unsafe" in str(err.value) and str(tmp_path / "shapes.md.j2") in str(err.value)
    ctx.on_error = "callout"
    out = render_sections(vit_b, ["shapes", "patch"], ctx)
    assert out["shapes"].startswith("> [!warning] vitnotes: template ") and "unsafe" in out["shapes"]
    assert "P = 16" in out["patch"]


def test_template_mistakes_are_clear_errors(vit_b, tmp_path):
    (tmp_path / "card.md.j2").write_text("{{ view.no_such_field }}")
    (tmp_path / "block.md.j2").write_text("{% if %}")
    ctx = RenderContext(template_dirs=[tmp_path])
    with pytest.raises(SectionTemplateError, match="no_such_field"):
        render_sections(vit_b, ["card"], ctx)
    with pytest.raises(SectionTemplateError, match=r"block\.md\.j2 line 1"):
        render_sections(vit_b, ["block"], ctx)
    with pytest.raises(SectionTemplateError, match="no template for section 'nope'"):
        render_sections(vit_b, ["nope"], ctx)


def test_render_error_callout():
    msg = "unknown model 'vit_bse_patch16' — did you mean vit_base_patch16_224?"
    assert render_error(msg) == f"> [!warning] vitnotes: {msg}\n"
    two = render_error("first line\nsecond | line")
    assert two == "> [!warning] vitnotes: first line\n> second | line\n"
    assert [t.type for t in MD.parse(two)][0] == "blockquote_open"


def test_rendering_never_imports_torch(vit_b, tmp_path):
    saved = tmp_path / "report.json"
    saved.write_text(_with_figures(vit_b, WeightsInfo("random", "", seed=0)).to_json())
    code = (
        "import sys, json\n"
        "from vitnotes.analysis.report import Report\n"
        "from vitnotes.render.markdown import render_sections, RenderContext\n"
        "from vitnotes.sections import names\nALL_SECTIONS = names()\n"
        f"r = Report.from_json(open({str(saved)!r}).read())\n"
        "out = render_sections(r, ALL_SECTIONS, RenderContext())\n"
        "print(json.dumps(['torch' in sys.modules, len(out)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, len(ALL_SECTIONS)]


def test_every_section_has_a_shipped_template():
    names = {p.name for p in Path(shipped_template_dir()).glob("*.md.j2")}
    assert {f"{s}.md.j2" for s in ALL_SECTIONS} | {"error.md.j2"} <= names


def test_a_report_the_renderer_did_not_foresee_becomes_a_callout(vit_b):
    odd = copy.deepcopy(vit_b)
    odd.params.attention.wq = []  # malformed: no shape
    with pytest.raises(SectionTemplateError, match="could not prepare section 'heads'"):
        render_sections(odd, ["heads"], RenderContext())
    out = render_sections(odd, ["heads", "card"], RenderContext(on_error="callout"))
    assert out["heads"].startswith("> [!warning] vitnotes: could not prepare section 'heads'")
    assert "`VisionTransformer`" in out["card"]
