"""The `code` section: the model's own forward() code from the installed timm, shape-annotated.

Everything runs on the meta device. References are independent of vitnotes' code path: the
installed timm's files read directly (which lines hold ``Attention.forward``), ``inspect`` on the
timm classes named by hand, the shape table, the modules' own attributes (``fused_attn``,
``shift_size``, ``downsample``) and the dispatch recorder's aten ops (did SDPA run?).
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import timm
import torch

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.code import code_facts, own_class
from vitnotes.analysis.recorder import record
from vitnotes.analysis.report import CodeSnippet, Report
from vitnotes.analysis.symbolic import Symbolic
from vitnotes.analysis.topology import first_block
from vitnotes.render.listing import CODE_WIDTH, annotate, permalink
from vitnotes.sections.code import view as code_view

TIMM_ROOT = Path(timm.__file__).parent
REPO = "https://github.com/huggingface/pytorch-image-models"


def _profile(name: str, tweak=None):
    """(model, recording, CodeFacts) of ``name`` on the meta device."""
    model = build_model(name, None, {}, device="meta")
    if tweak is not None:
        tweak(model)
    chw = input_size(model)
    x = torch.empty(1, *chw, device="meta")
    rec, rec2 = record(model, x), record(model, torch.empty(2, *chw, device="meta"))
    return model, rec, code_facts(model, x, rec, Symbolic(rec, rec2).out, first_block(model))


@pytest.fixture(scope="module")
def vit():
    return _profile("vit_base_patch16_224")


@pytest.fixture(scope="module")
def swin():
    return _profile("swin_tiny_patch4_window7_224")


@pytest.fixture(scope="module")
def resnet():
    return _profile("resnet50")


def _snippet(facts, qualname: str) -> CodeSnippet:
    found = [s for s in facts.snippets if s.qualname == qualname]
    assert found, f"{qualname} not among {[s.qualname for s in facts.snippets]}"
    return found[0]


def _strip_annotations(text: str) -> str:
    """The rendered code without vitnotes' comments (they start after two spaces and '# ')."""
    return "\n".join(re.sub(r"  # (?:ran\b|not run\b|B[×·]|[\w, ]+ → ).*$", "", line) for line in text.split("\n"))


def test_vit_snippets_are_the_installed_timm_forwards(vit):
    from timm.layers.attention import Attention
    from timm.layers.mlp import Mlp
    from timm.layers.patch_embed import PatchEmbed
    from timm.models.vision_transformer import Block

    _, _, facts = vit
    assert [s.qualname for s in facts.snippets] == [
        "PatchEmbed.forward", "Block.forward", "Attention.forward", "Mlp.forward"]
    for cls, module in ((PatchEmbed, "patch_embed"), (Block, "blocks.0"), (Attention, "blocks.0.attn"),
                        (Mlp, "blocks.0.mlp")):
        s = _snippet(facts, f"{cls.__name__}.forward")
        assert s.source == inspect.getsource(cls.forward)
        assert s.module == module
        assert s.cls == f"{cls.__module__}.{cls.__name__}"


def test_vit_attention_lines_and_permalink_name_the_installed_file(vit):
    s = _snippet(vit[2], "Attention.forward")
    file_lines = (TIMM_ROOT / "layers" / "attention.py").read_text(encoding="utf-8").split("\n")
    assert "\n".join(file_lines[s.start - 1:s.end]) + "\n" == s.source  # the very lines of the file
    assert file_lines[s.start - 1].strip().startswith("def forward(")
    assert (s.package, s.version, s.path) == ("timm", timm.__version__, "timm/layers/attention.py")
    assert permalink(s) == f"{REPO}/blob/v{timm.__version__}/timm/layers/attention.py#L{s.start}-L{s.end}"
    assert s.instances == 12  # ViT-B has 12 blocks, each with one Attention


def test_vit_shape_comments_match_the_shape_table(vit):
    from vitnotes.analysis import analyze
    from vitnotes.analysis.request import AnalysisRequest

    report = analyze(AnalysisRequest("vit_base_patch16_224", sections=("shapes",)))
    table = {r.module: r.shape for r in report.shapes.block + report.shapes.stages if r.module}
    notes = {n.module: n.shape for s in vit[2].snippets for n in s.shapes}
    for module in ("blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.0.mlp.fc1", "blocks.0.mlp.fc2",
                   "patch_embed.proj"):
        assert notes[module] == table[module]
    # ViT-B/16 at 224 px: 197 tokens, qkv is 3·768 wide, the MLP 3072 (ViT paper, Table 1).
    assert notes["blocks.0.attn.qkv"] == "B×197×2304"
    assert notes["blocks.0.mlp.fc1"] == "B×197×3072"
    code = annotate(_snippet(vit[2], "Attention.forward"))
    qkv_line = next(i for i, line in enumerate(code.split("\n")) if "self.qkv(x)" in line)
    statement = " ".join(code.split("\n")[qkv_line:qkv_line + 2])
    assert "# qkv → B×197×2304" in statement


def _ran_sdpa(rec, module: str) -> bool:
    """True when ``module`` ran F.scaled_dot_product_attention: on CPU a fused SDPA kernel, on the
    meta device SDPA's math fallback, whose softmax is ``aten._safe_softmax`` (the explicit path
    calls ``Tensor.softmax`` = ``aten._softmax``)."""
    ops = {o.op.split(".")[1] for o in rec.ops if o.module == module}
    assert ops & {"_softmax", "_safe_softmax"} or any("scaled_dot_product" in op for op in ops)
    return "_softmax" not in ops


@pytest.mark.parametrize("fused", [True, False])
def test_the_attention_branch_that_ran_is_the_one_the_recorder_saw(fused):
    def set_fused(model):
        for m in model.modules():
            if hasattr(m, "fused_attn"):
                m.fused_attn = fused

    _, rec, facts = _profile("vit_tiny_patch16_224", set_fused)
    assert _ran_sdpa(rec, "blocks.0.attn") is fused  # the independent witness: aten ops
    s = _snippet(facts, "Attention.forward")
    branch = next(b for b in s.branches if b.test == "self.fused_attn")
    assert branch.attrs == [["fused_attn", repr(fused)]]
    assert (len(branch.ran), len(branch.skipped)) == ((12, 0) if fused else (0, 12))
    lines = annotate(s).split("\n")
    assert any(re.search(rf"if self\.fused_attn:  # {'ran' if fused else 'not run'} \(fused_attn = {fused}\)", line)
               for line in lines)
    assert any(re.fullmatch(rf"\s*else:  # {'not run' if fused else 'ran'}", line) for line in lines)
    view = code_view(_report(facts))
    note = next(n for v in view["snippets"] for n in v["notes"] if n.startswith("Attention kernel that ran"))
    kernel = note.split(";")[0]
    assert ("scaled_dot_product_attention" in kernel) is fused and (f"fused_attn = {fused}" in note)


def _report(facts, model: str = "vit_tiny_patch16_224") -> Report:
    from vitnotes.analysis.report import Card, Macs, Params, Shapes

    return Report(model=model, card=Card(model=model, family="VisionTransformer"), params=Params(0, 0),
                  macs=Macs(0), shapes=Shapes(), code=facts)


def test_swin_shows_window_attention_and_the_shifted_window_code(swin):
    model, _, facts = swin
    from timm.models.swin_transformer import SwinTransformerBlock, WindowAttention

    wa = _snippet(facts, "WindowAttention.forward")
    assert wa.source == inspect.getsource(WindowAttention.forward)
    assert wa.module == "layers.0.blocks.0.attn"
    attn = _snippet(facts, "SwinTransformerBlock._attn")  # the cyclic shift lives in this helper
    assert attn.source == inspect.getsource(SwinTransformerBlock._attn)
    shifted = sorted(n for n, m in model.named_modules() if isinstance(m, SwinTransformerBlock) and any(m.shift_size))
    roll = [b for b in attn.branches if b.test == "has_shift"]
    assert len(roll) == 2 and all(sorted(b.ran) == shifted for b in roll)
    assert 0 < len(shifted) < attn.instances == 12
    # Windowed shapes carry the folded batch: 64 windows of 7×7 tokens at stage 1 (56×56 / 7×7).
    assert {n.module: n.shape for n in wa.shapes}["layers.0.blocks.0.attn.qkv"] == "B·64×49×288"


def test_resnet50_shows_its_bottleneck(resnet):
    model, _, facts = resnet
    from timm.models.resnet import Bottleneck

    s = _snippet(facts, "Bottleneck.forward")
    assert s.source == inspect.getsource(Bottleneck.forward) and s.module == "layer1.0"
    assert not any(x.role == "stem" for x in facts.snippets)  # ResNet's stem is plain torch.nn layers
    with_downsample = sorted(n for n, m in model.named_modules()
                             if isinstance(m, Bottleneck) and m.downsample is not None)
    branch = next(b for b in s.branches if b.test == "self.downsample is not None")
    assert sorted(branch.ran) == with_downsample == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]
    assert {n.child: n.shape for n in s.shapes}["conv3"] == "B×256×56×56"  # 4× expansion of 64


def _unbreakable(line: str) -> bool:
    """A line the policy leaves wide: it holds a string or a comment, or no argument list with a
    comma either closes the statement or is its only outermost bracket (a break anywhere else
    would land mid-expression)."""
    if '"' in line or "'" in line or "#" in line:
        return True
    code = line.rstrip()
    pairs, stack = [], []  # (open, close, depth, has a comma)
    for i, ch in enumerate(code):
        if ch in "([{":
            stack.append([i, len(stack) + 1, False])
        elif ch in ")]}":
            start, depth, comma = stack.pop()
            pairs.append((start, i, depth, comma))
        elif ch == "," and stack:
            stack[-1][2] = True
    outer = [p for p in pairs if p[2] == 1]
    return not any(comma and (set(code[close + 1:]) <= set(")]}:") or (len(outer) == 1 and depth == 1))
                   for _, close, depth, comma in pairs)


@pytest.mark.parametrize("fixture", ["vit", "swin", "resnet"])
def test_annotated_code_means_the_same_and_fits_the_column(fixture, request):
    facts = request.getfixturevalue(fixture)[2]
    for s in facts.snippets:
        code = annotate(s)
        original = textwrap.dedent(s.source)
        assert ast.dump(ast.parse(code)) == ast.dump(ast.parse(original))
        assert _strip_annotations(code).replace(" ", "").replace("\n", "") == \
            original.replace(" ", "").replace("\n", "")  # only whitespace and comments were added
        for line in code.split("\n"):
            if len(line) > CODE_WIDTH:  # only what cannot be broken safely
                assert _unbreakable(line), f"{s.qualname}: {line!r} is {len(line)} wide"


def test_the_long_qkv_line_is_wrapped_after_its_last_call_bracket(vit):
    lines = annotate(_snippet(vit[2], "Attention.forward")).split("\n")
    i = next(i for i, line in enumerate(lines) if "self.qkv(x)" in line)
    assert lines[i].endswith(".permute(") and lines[i + 1].strip().startswith("2, 0, 3, 1, 4)")
    assert max(len(lines[i]), len(lines[i + 1])) <= CODE_WIDTH


def test_a_module_without_python_source_says_so_in_one_line():
    namespace: dict = {}
    exec("def forward(self, x):\n    return self.fc(x)\n", namespace)  # no file: inspect cannot find it
    Blk = type("Blk", (torch.nn.Module,), {"forward": namespace["forward"]})

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            block = Blk()
            block.fc = torch.nn.Linear(4, 4)
            self.blocks = torch.nn.Sequential(block)

        def forward(self, x):
            return self.blocks(x)

    with torch.device("meta"):
        net = Net()
    x = torch.empty(1, 4, device="meta")
    assert own_class(net.blocks[0])
    rec = record(net, x)
    facts = code_facts(net, x, rec, Symbolic(rec, None).out, "blocks.0")
    assert facts.snippets == [] and facts.missing[0][0] == "blocks.0"
    view = code_view(_report(facts, "toy"))
    assert view["snippets"] == [] and "\n" not in view["reason"] and "no Python source" in view["reason"]


def test_torch_layers_are_not_the_models_own_code():
    assert not own_class(torch.nn.Sequential(torch.nn.Linear(2, 2)))
    from timm.layers import LayerNorm, Mlp

    assert not own_class(LayerNorm(4))  # timm's, but a torch.nn.LayerNorm underneath
    assert own_class(Mlp(4, 8))


def test_no_tag_no_permalink():
    s = CodeSnippet(qualname="A.forward", cls="pkg.A", role="block", module="blocks.0", instances=1,
                    path="pkg/a.py", start=3, end=4, source="def forward(self, x):\n    return x\n",
                    package="pkg", version="1.0.dev0", repo=REPO, ref="")
    assert permalink(s) == ""
    from vitnotes.analysis.report import CodeFacts

    view = code_view(_report(CodeFacts(snippets=[s], block="blocks.0")))
    head = view["snippets"][0]["head"]
    assert "](" not in head and "no release tag" in head and "pkg/a.py lines 3–4" in head


def test_code_facts_survive_the_cache_and_render_without_torch(vit, tmp_path):
    report = _report(vit[2], "vit_base_patch16_224")
    again = Report.from_json(report.to_json())
    assert again.code == report.code
    path = tmp_path / "report.json"
    path.write_text(report.to_json(), encoding="utf-8")
    script = (
        "import sys; from pathlib import Path\n"
        "from vitnotes.analysis.report import Report\n"
        "from vitnotes.sections.code import view as code_view\n"
        f"r = Report.from_json(Path({str(path)!r}).read_text(encoding='utf-8'))\n"
        "v = code_view(r)\n"
        "assert 'torch' not in sys.modules, 'rendering imported torch'\n"
        "print(v['snippets'][2]['code'])\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.rstrip("\n") == annotate(_snippet(vit[2], "Attention.forward"))


def test_the_analyzer_reads_code_only_for_the_code_section():
    from vitnotes.analysis import analyze
    from vitnotes.analysis.request import AnalysisRequest

    assert analyze(AnalysisRequest("vit_tiny_patch16_224", sections=("card",))).code is None
    report = analyze(AnalysisRequest("vit_tiny_patch16_224", sections=("code",)))
    assert [s.qualname for s in report.code.snippets] == [
        "PatchEmbed.forward", "Block.forward", "Attention.forward", "Mlp.forward"]


def test_the_section_renders_one_python_fence_per_snippet(vit):
    from markdown_it import MarkdownIt

    from vitnotes.render.markdown import render_sections

    report = _report(vit[2], "vit_base_patch16_224")
    text = render_sections(report, ["code"])["code"]
    fences = [t for t in MarkdownIt("commonmark").parse(text) if t.type == "fence"]
    assert [t.info for t in fences] == ["python"] * 4
    assert [t.content.rstrip("\n") for t in fences] == [annotate(s) for s in vit[2].snippets]
    attn = _snippet(vit[2], "Attention.forward")
    assert f"[timm/layers/attention.py#L{attn.start}-L{attn.end} @ v{timm.__version__}]({permalink(attn)})" in text
    assert "> [!info]- `__init__`" in text  # the layer definitions, folded


def test_the_region_lands_under_the_templates_code_question(tmp_path):
    from test_fill import SEED, make_vault, only_insertions

    from vitnotes.pipeline import fill_note

    vault = make_vault(tmp_path, sections=("code",))
    note = vault / "Papers" / "ViT.md"
    before = SEED.read_text(encoding="utf-8")
    note.write_text(before, encoding="utf-8")
    assert fill_note(note).status == "filled"
    after = note.read_text(encoding="utf-8")
    only_insertions(before, after)
    lines = after.split("\n")
    at = next(i for i, line in enumerate(lines) if "vitnotes:begin code" in line)
    assert lines[at - 1] == "- **代码核心逻辑 (GitHub Snippets)：**"
    end = next(i for i, line in enumerate(lines) if "vitnotes:end code" in line)
    assert lines[end + 1].startswith("- Colab code PyTorch version")  # the student's own line stays next
    assert all(line.startswith("  ") or not line for line in lines[at:end + 1])  # inside the list item
    assert fill_note(note).status == "unchanged"


def test_profile_prints_the_listings_the_code_note_has(vit):
    from vitnotes.render.terminal import format_report

    report = _report(vit[2], "vit_base_patch16_224")
    text = format_report(report, ["code"])
    assert text.startswith("Code\n====\n")
    for s in vit[2].snippets:  # every listing, annotated as in the note, with its permalink
        assert annotate(s) in text and permalink(s) in text
    assert "Attention kernel that ran: the fused F.scaled_dot_product_attention kernel" in text
