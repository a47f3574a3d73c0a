"""The section registry: every section is complete, and every list the rest of vitnotes uses comes from it."""

from __future__ import annotations


import pytest

from vitnotes import sections
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.obsidian.anchors import load_anchors
from vitnotes.paths import templates_dir
from vitnotes.sections import Section


def test_every_section_has_its_template_and_a_unique_order():
    reg = sections.registry()
    assert list(reg) == list(sections.names())
    orders = [s.order for s in reg.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    for name, section in reg.items():
        assert section.name == name
        assert (templates_dir() / "sections" / f"{name}.md.j2").is_file(), name
        assert set(section.needs) <= set(sections.FACTS), name
        if section.draw is not None:
            assert section.report_field, f"{name} draws a figure but names no Report field to draw from"


def test_the_existing_sections_in_their_default_order():
    assert sections.names() == (
        "card", "shapes", "params", "accuracy", "flops", "memory", "training", "speed", "patch", "downsampling",
        "block", "cls", "equations", "code", "diagram", "heads", "attention_distance", "pos_embed", "filters",
        "rollout",
    )
    assert sections.default_names() == tuple(n for n in sections.names() if n != "speed")  # speed is opt-in
    assert sections.figure_sections() == ("attention_distance", "pos_embed", "filters", "rollout")
    assert sections.structural_names() == sections.default_names()[:15]


def test_facts_follow_the_sections():
    assert sections.facts(["card", "shapes"]) == {"structure"}
    assert sections.facts(["flops"]) == {"structure", "scaling", "deploy"}
    assert sections.facts(["memory"]) == {"structure", "memory", "training"}  # memory needs the saved activations
    assert sections.facts(["rollout"]) == {"forward", "weights"}  # a forward runs the loaded model
    assert AnalysisRequest("m", sections=("pos_embed",)).needs_weights
    assert not AnalysisRequest("m", sections=("pos_embed",)).needs_forward
    assert AnalysisRequest("m", sections=("attention_distance",)).needs_forward
    assert not AnalysisRequest("m", sections=("card", "flops")).needs_weights
    assert sections.needing("weights", ["rollout", "card", "pos_embed"]) == ("pos_embed", "rollout")
    assert sections.needing("forward", ["rollout", "card", "pos_embed"]) == ("rollout",)


def test_default_anchors_come_from_the_section_modules():
    anchors = load_anchors(None)
    assert anchors == sections.default_anchors()
    assert anchors["heads"] == ["MHA和MHSA中的可学习参数", "可学习参数"]
    assert anchors["rollout"] == anchors["pos_embed"] == ["**Inductive Bias (", "Inductive Bias (", "Inductive Bias"]
    assert all(anchors.values())  # every section has a question in the seed template


def test_a_section_must_name_known_facts():
    with pytest.raises(ValueError, match="unknown facts"):
        Section(name="x", order=1, needs=("gpu",))  # type: ignore[arg-type]


def test_loading_the_registry_imports_no_heavy_library():
    from fresh_interpreter import imported

    assert imported("from vitnotes import sections\nsections.registry()", ("torch", "numpy", "matplotlib", "timm")) == []
