"""Placement on the real ViT paper-study template (tests/data) and anchor configuration."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from vitnotes.errors import NoteError, SpecError
from vitnotes.obsidian.anchors import load_anchors
from vitnotes.obsidian.regions import HEADING, find_regions, merge
from vitnotes.sections import names

ALL_SECTIONS = names()

SEED = Path(__file__).resolve().parent / "data" / "paper-study-ViT.md"  # a real student's note template


def table(name: str) -> str:
    return f"| {name} | value |\n| --- | --- |\n| rows | 1 |"


@pytest.fixture
def seed(tmp_path) -> str:
    p = tmp_path / "ViT.md"
    shutil.copyfile(SEED, p)
    return p.read_bytes().decode("utf-8")


@pytest.fixture
def filled(seed):
    sections = {name: table(name) for name in ALL_SECTIONS}
    return seed, merge(seed, sections, load_anchors(None)), sections


# section -> (the line right above its begin marker, the marker's indentation, the line right after its end marker)
EXPECTED = {
    "card": ("# 📄 [Paper Study] ViT---Vision Transformer 2026-01-19", "", ""),
    "diagram": ("  ![[插入架构截图]]", "  ", "- **张量变化 (Tensor Shapes - 重点)：**"),
    "shapes": ("    ![[f796881e1fc38b3c38033a109b088d40.jpg]]", "    ", "    "),
    "block": ("- [ ] **Basic Block:** 最小重复单元长什么样？(残差结构/Transformer Block/Ghost Block?)", "  ",
              "- [ ] **特征提取:** 它是如何权衡局部特征（Conv）和全局特征（Attention）的？"),
    "attention_distance": ("\tOnly focus on global characteristics", "\t",
                           "- [ ] **降采样:** 图像分辨率是如何一步步缩小的？(Stride Conv / Pooling / Patch Merging?)"),
    "downsampling": ("- [ ] **降采样:** 图像分辨率是如何一步步缩小的？(Stride Conv / Pooling / Patch Merging?)", "  ",
                     "- [ ] **性能指标:** 参数量 (Params) 和计算量 (FLOPs) 处于什么量级？"),
    "params": ("- [ ] **性能指标:** 参数量 (Params) 和计算量 (FLOPs) 处于什么量级？", "  ", "  <!-- vitnotes:begin accuracy"),
    "accuracy": ("  <!-- vitnotes:end params -->", "  ", "  <!-- vitnotes:begin flops"),
    "flops": ("  <!-- vitnotes:end accuracy -->", "  ", "  <!-- vitnotes:begin memory"),
    "memory": ("  <!-- vitnotes:end flops -->", "  ", "  <!-- vitnotes:begin training"),
    "training": ("  <!-- vitnotes:end memory -->", "  ", "  <!-- vitnotes:begin speed"),
    "speed": ("  <!-- vitnotes:end training -->", "  ", "- [ ] **Patch Size 是多少？** (论文默认是 16x16，这就是标题的由来)"),
    "patch": ("\tDepends on the model, for ViT-L it's 16 * 16", "\t", "- [ ] **为什么需要 [CLS] Token？**"),
    "cls": ("- [ ] **为什么需要 [CLS] Token？** (提示：它是为了最后做分类用的“总结性向量”)", "  ",
            "- [ ] **模型在什么数据集上表现好？**"),
    "equations": ("- **核心公式：**", "  ", "- ![[插入架构截图]]"),
    # The ViT paper's own evidence on inductive bias (Fig. 6, Fig. 7) under the template's question about it.
    "pos_embed": ("![[Pasted image 20260120135733.png]]", "  ", "  <!-- vitnotes:begin filters"),
    "filters": ("  <!-- vitnotes:end pos_embed -->", "  ", "  <!-- vitnotes:begin rollout"),
    "rollout": ("  <!-- vitnotes:end filters -->", "  ", "- “We find that some heads"),
    "code": ("- **代码核心逻辑 (GitHub Snippets)：**", "  ", "- Colab code PyTorch version"),
    "heads": ("\t\t    - 输出矩阵$$W^O\\in (d_{model}, d_{model})$$$$Output=Concat(\\sum_i head_i)W^O$$", "\t\t    ",
              "- [ ] **遇到的坑：**"),
}


def test_each_section_lands_under_its_question(filled):
    _, result, _ = filled
    lines = result.text.split("\n")
    regions = {r.name: r for r in find_regions(result.text)}
    assert set(regions) == set(ALL_SECTIONS)
    for name, (above, indent, below) in EXPECTED.items():
        r = regions[name]
        assert lines[r.begin - 1] == above, name
        assert r.indent == indent, name
        assert lines[r.end].startswith(indent + "<!-- vitnotes:end"), name
        assert lines[r.end + 1].startswith(below), name
        first, last = lines[r.begin + 1], lines[r.end - 1]
        # No blank line inside the markers, except one setting a table apart from a marker.
        assert (first == "") == lines[r.begin + 2].lstrip().startswith("|"), (name, first)
        assert (last == "") == lines[r.end - 2].lstrip().startswith("|"), (name, last)
    # Every section has its question in the template: no "## vitnotes" heading at the end.
    assert not any(line.startswith(HEADING) for line in lines)
    assert set(EXPECTED) == set(ALL_SECTIONS)
    assert result.inserted == list(ALL_SECTIONS)


def test_the_diff_against_the_seed_only_inserts_lines(filled):
    seed, result, _ = filled
    ops = difflib.SequenceMatcher(None, seed.split("\n"), result.text.split("\n"), autojunk=False).get_opcodes()
    assert {op[0] for op in ops} == {"equal", "insert"}
    inserted = sum(j2 - j1 for tag, _, _, j1, j2 in ops if tag == "insert")
    region_lines = sum(r.end - r.begin + 1 for r in find_regions(result.text))
    assert inserted == region_lines  # every region sits under its question: nothing else is added


def test_second_merge_is_idempotent(filled):
    _, result, sections = filled
    again = merge(result.text, sections, load_anchors(None))
    assert not again.changed and again.text == result.text
    assert again.unchanged == list(ALL_SECTIONS) and not again.updated and not again.inserted


def test_new_section_text_replaces_regions_where_the_user_moved_them(filled):
    _, result, sections = filled
    lines = result.text.split("\n")
    r = next(x for x in find_regions(result.text) if x.name == "patch")
    block = lines[r.begin : r.end + 1]
    del lines[r.begin : r.end + 1]
    # Moved, still indented, into a list item (indented after a heading it would be a code block,
    # which Markdown shows as text: not a region any more — issue 13).
    moved = "\n".join(lines) + "\n\n## Moved here\n- moved:\n" + "\n".join(block) + "\n"
    new = dict(sections, patch="| patch | 32 px |\n| --- | --- |")
    out = merge(moved, new, load_anchors(None))
    assert out.updated == ["patch"] and not out.inserted
    assert out.text.startswith(moved[: moved.index("## Moved here")])
    tail = out.text[out.text.index("## Moved here") :]
    assert "\t| patch | 32 px |" in tail  # keeps the marker's indentation
    assert merge(out.text, new, load_anchors(None)).text == out.text


def test_generated_tables_parse_as_tables_inside_their_list_items(filled):
    _, result, _ = filled
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(result.text)
    found = {}
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            header = next(t for t in tokens[i:] if t.type == "inline").content
            found[header] = tok.level
    for name in ALL_SECTIONS:
        assert name in found, f"{name}: not parsed as a table"
    # Top level for the title card, inside a list item for the rest.
    assert found["card"] == 0
    for name in ("shapes", "patch", "params", "attention_distance", "equations", "rollout"):
        assert found[name] == 2, name  # bullet_list > list_item > table
    assert found["heads"] == 6  # the third-level item "MHA和MHSA中的可学习参数", not its sub-list


def test_anchors_inside_code_or_regions_are_not_used():
    text = "```\n- Patch Size in code\n```\n- Patch Size here\n"
    out = merge(text, {"patch": "generated words"}, {"patch": ["Patch Size"]}).text
    assert out.split("\n")[4].startswith("  <!-- vitnotes:begin patch")
    # A generated body that mentions another section's anchor does not capture it.
    out2 = merge(out, {"shapes": "S"}, {"shapes": ["generated words"]}).text
    assert HEADING in out2


def test_lazy_lines_and_nested_lists_stay_above_the_region():
    text = (
        "- [ ] **Inductive Bias?** question\n"
        "![[pasted.png]]\n"  # a lazy continuation line: part of the item's paragraph
        "- next item\n"
        "\n"
        "1. **Numbered** item\n"
        "   - nested a\n"
        "     more of a\n"
        "   - nested b\n"
        "\n"
        "   closing paragraph of item 1\n"
        "\n"
        "after the list\n"
    )
    out = merge(text, {"ad": "A", "n": "N"}, {"ad": ["Inductive Bias"], "n": ["Numbered"]}).text
    rows = out.split("\n")
    assert rows[2] == "  <!-- vitnotes:begin ad sha=" + rows[2].split("sha=")[1]
    assert rows[1] == "![[pasted.png]]"
    i = next(k for k, r in enumerate(rows) if "begin n " in r)
    assert rows[i - 1] == "   closing paragraph of item 1" and rows[i].startswith("   <!--")


def test_an_anchor_in_a_callout_puts_the_region_after_the_whole_callout():
    """Regression: the region went right after the callout's title line, so the rest of the callout
    became a plain quote below the region and the callout rendered empty."""
    text = (
        "# T\n\n"
        "> [!question] 张量变化 (Tensor Shapes)\n"
        "> what are the shapes?\n"
        "lazy line of the callout\n"
        ">\n"
        "> - my answer so far\n"
        "\nafter\n"
    )
    out = merge(text, {"shapes": "| a | b |\n| --- | --- |\n| 1 | 2 |"}, {"shapes": ["张量变化"]}).text
    rows = out.split("\n")
    begin = next(k for k, r in enumerate(rows) if "vitnotes:begin shapes" in r)
    assert rows[begin - 1] == "> - my answer so far" and rows[begin].startswith("<!--")
    tokens = MarkdownIt("commonmark").enable("table").parse(out)
    quotes = [tok for tok in tokens if tok.type == "blockquote_open"]
    assert len(quotes) == 1 and quotes[0].map == [2, 7]  # one quote: every callout line stays in it
    assert [tok.map[0] for tok in tokens if tok.type == "table_open"] == [begin + 2]


def test_same_anchor_keeps_section_order_and_later_sections_go_after():
    text = "## Numbers\n\ntext\n"
    out = merge(text, {"b": "B", "a": "A"}, {"a": ["Numbers"], "b": ["Numbers"]}).text
    names = [r.name for r in find_regions(out)]
    assert names == ["b", "a"]
    out2 = merge(out, {"b": "B", "a": "A", "c": "C"}, {"a": ["Numbers"], "b": ["Numbers"], "c": ["Numbers"]}).text
    assert [r.name for r in find_regions(out2)] == ["b", "a", "c"]
    assert out2.endswith("\n\ntext\n")


def test_vitnotes_heading_is_reused():
    text = "# T\n\n## vitnotes\n\nmy note about it\n\n## Later\nx"
    out = merge(text, {"f": "F"}, {}).text
    assert out.count(HEADING) == 1
    assert out.index("my note about it") < out.index("begin f") < out.index("## Later")
    assert out.endswith("\n## Later\nx")


def test_unclosed_fence_where_a_region_would_go_is_refused():
    with pytest.raises(NoteError, match="line 2"):
        merge("text\n```python\ncode\n", {"f": "F"}, {})
    with pytest.raises(NoteError, match="never closed"):
        merge("- item\n  ```\n  code\n", {"f": "F"}, {"f": ["item"]})


def test_load_anchors_shipped_and_vault_overrides(tmp_path):
    shipped = load_anchors(None)
    assert set(shipped) == set(ALL_SECTIONS)
    assert shipped["pos_embed"] == ["**Inductive Bias (", "Inductive Bias (", "Inductive Bias"]
    assert shipped["shapes"][:2] == ["**张量变化 (Tensor Shapes", "张量变化 (Tensor Shapes"]
    (tmp_path / ".vitnotes").mkdir()
    (tmp_path / ".vitnotes" / "anchors.yaml").write_text(
        "shapes: ['My shapes']\ncard: {replace: []}\nextra: ['Extra']\n", encoding="utf-8"
    )
    mine = load_anchors(tmp_path)
    assert mine["shapes"] == ["My shapes"] + shipped["shapes"]
    assert mine["card"] == [] and mine["extra"] == ["Extra"] and mine["patch"] == shipped["patch"]
    (tmp_path / ".vitnotes" / "anchors.yaml").write_text("shapes: 3\n", encoding="utf-8")
    with pytest.raises(SpecError, match="shapes"):
        load_anchors(tmp_path)
    (tmp_path / ".vitnotes" / "anchors.yaml").write_text("patch: ['re:(unclosed']\n", encoding="utf-8")
    with pytest.raises(SpecError, match="regular expression"):
        load_anchors(tmp_path)


def test_regex_anchor():
    out = merge("intro\n# Title\nbody\n", {"card": "C"}, {"card": ["re:^# "]}).text
    assert out.startswith("intro\n# Title\n<!-- vitnotes:begin card")
