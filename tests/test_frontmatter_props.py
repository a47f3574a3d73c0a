"""vitnotes' own frontmatter keys: values compared (not bytes), only owned lines edited, the rest byte for byte."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitnotes.obsidian.frontmatter import same_value, set_properties, yaml_value
from vitnotes.obsidian.regions import frontmatter_end, split_lines

OWNED = ("vn_model", "vn_params_m", "vn_gmacs", "vn_patch_size", "vn_family")
VALUES = {"vn_model": "vit_tiny_patch16_224", "vn_params_m": 5.717, "vn_gmacs": 1.258, "vn_patch_size": 16}


def fm(text: str) -> dict:
    lines = split_lines(text)
    end = frontmatter_end(lines)
    return yaml.safe_load("\n".join(ln.content for ln in lines[1:end])) or {}


def other_lines(text: str) -> list[str]:
    """Every line (with its ending) that is not a vn_ key line."""
    return [ln.content + ln.eol for ln in split_lines(text) if not ln.content.startswith("vn_")]


def test_missing_keys_are_appended_at_the_end_of_the_block_and_typed():
    text = "---\ntags: [paper]   # mine\n'quoted': \"x\"\nvitnotes:\n  model: vit_tiny_patch16_224\n---\n# Body\n"
    edit = set_properties(text, VALUES, OWNED)
    assert edit.changed and edit.added == list(VALUES)
    assert edit.text == ("---\ntags: [paper]   # mine\n'quoted': \"x\"\nvitnotes:\n  model: vit_tiny_patch16_224\n"
                         "vn_model: vit_tiny_patch16_224\nvn_params_m: 5.717\nvn_gmacs: 1.258\nvn_patch_size: 16\n"
                         "---\n# Body\n")
    data = fm(edit.text)
    assert data["vn_params_m"] == 5.717 and type(data["vn_patch_size"]) is int and data["vitnotes"] == {
        "model": "vit_tiny_patch16_224"}
    again = set_properties(edit.text, VALUES, OWNED)
    assert not again.changed and again.text == edit.text


def test_restyled_frontmatter_with_the_same_values_is_unchanged():
    """What Obsidian's property editor / Linter would write: other order, quotes, block lists, no comments."""
    restyled = ("---\nvn_gmacs: 1.258\ntags:\n  - paper\nvn_model: \"vit_tiny_patch16_224\"\n"
                "vitnotes: {model: vit_tiny_patch16_224}\nvn_patch_size: 16.0\n'vn_params_m': 5.717\n---\nbody\n")
    edit = set_properties(restyled, VALUES, OWNED)
    assert not edit.changed and edit.text == restyled and not edit.skipped


def test_a_changed_value_is_replaced_in_place_keeping_its_comment_and_line_ending():
    text = "---\r\nvn_gmacs: 17.58  # from timm\r\ntitle: ViT\r\nvn_model: vit_base_patch16_224\r\n---\r\n"
    edit = set_properties(text, {**VALUES}, OWNED, "\r\n")
    assert edit.updated == ["vn_gmacs", "vn_model"] and edit.added == ["vn_params_m", "vn_patch_size"]
    assert edit.text == ("---\r\nvn_gmacs: 1.258  # from timm\r\ntitle: ViT\r\nvn_model: vit_tiny_patch16_224\r\n"
                         "vn_params_m: 5.717\r\nvn_patch_size: 16\r\n---\r\n")


def test_stale_owned_keys_are_removed_and_user_keys_with_the_prefix_kept():
    text = "---\nvn_patch_size: 16\nvn_mine: keep me\nvn_family:\n  - a list somebody made\n---\n"
    edit = set_properties(text, {"vn_model": "resnet18"}, OWNED)
    assert sorted(edit.removed) == ["vn_family", "vn_patch_size"]
    assert edit.text == "---\nvn_mine: keep me\nvn_model: resnet18\n---\n"


def test_a_note_without_frontmatter_gets_a_block_on_top():
    edit = set_properties("# Paper\r\n\r\ntext", VALUES, OWNED, "\r\n")
    assert edit.text.startswith("---\r\nvn_model: vit_tiny_patch16_224\r\n")
    assert edit.text.endswith("---\r\n# Paper\r\n\r\ntext")
    assert fm(edit.text) == VALUES


def test_frontmatter_it_cannot_edit_line_by_line_is_left_alone_and_said():
    flow = "---\n{tags: [a], vn_gmacs: 3}\n---\nbody\n"
    edit = set_properties(flow, VALUES, OWNED)
    assert edit.text == flow and not edit.changed and "line by line" in edit.skipped
    unclosed = "---\ntitle: x\n<!-- vitnotes:begin card sha=00000000 -->\n---\n"
    edit = set_properties(unclosed, VALUES, OWNED)
    assert edit.text == unclosed and "never closed" in edit.skipped


def test_values_are_yaml_scalars_a_parser_reads_back():
    for value in (0.00001234, 1e-7, 86.57, 224, "a: b #c", "yes", "1.5", "[x]"):
        text = yaml_value(value)
        assert same_value(yaml.safe_load(f"k: {text}")["k"], value), (value, text)
    assert not same_value(True, 1) and not same_value("1", 1) and same_value(224, 224.0)


_keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: not k.startswith("vn_"))
_scalars = st.one_of(st.integers(-10**6, 10**6), st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
                     st.booleans(), st.lists(st.integers(0, 9), max_size=3))
_styles = st.sampled_from(["block", "flow"])


@st.composite
def frontmatters(draw):
    data = draw(st.dictionaries(_keys, _scalars, max_size=6))
    if draw(_styles) == "flow":  # one `key: value` line each, lists as [a, b]
        body = "".join(f"{k}: " + yaml.safe_dump(v, default_flow_style=True, allow_unicode=True,
                                                  width=1 << 16).split("\n")[0] + "\n" for k, v in data.items())
    else:
        body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1 << 16)
    comment = draw(st.sampled_from(["", "# a comment\n", "key_with_comment: 1  # note\n"]))
    owned = draw(st.dictionaries(st.sampled_from(OWNED), st.one_of(st.integers(0, 999), st.just("old")), max_size=3))
    owned_yaml = "".join(f"{k}: {yaml_value(v)}\n" for k, v in owned.items())
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    text = ("---\n" + comment + (body if data else "") + owned_yaml + "---\n# Body\n").replace("\n", nl)
    return text, nl


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frontmatters(), st.dictionaries(st.sampled_from(OWNED), st.one_of(st.integers(0, 999), st.floats(0.001, 1e4),
                                                                         st.text("abc_", min_size=1)), max_size=4))
def test_every_other_line_survives_and_a_second_pass_changes_nothing(case, values):
    text, nl = case
    edit = set_properties(text, values, OWNED, nl)
    assert not edit.skipped
    assert other_lines(edit.text) == other_lines(text)
    data = fm(edit.text)
    assert {k: data[k] for k in OWNED if k in data} == values
    assert set_properties(edit.text, values, OWNED, nl).text == edit.text
