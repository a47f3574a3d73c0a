"""The shipped ImageNet results subset matches timm's published table, read without torch."""


from vitnotes.data import results
from vitnotes.data.tags import read_tag

# Rows copied by hand from huggingface/pytorch-image-models results/results-imagenet.csv
# (commit 4e5207c7bb6592474ca56e28b2cf85be8f1a550f): model, img_size, top1, top5.
SOURCE_ROWS = [
    ("vit_base_patch16_224.augreg2_in21k_ft_in1k", 224, 85.108, 97.530),
    ("vit_tiny_patch16_224.augreg_in21k_ft_in1k", 224, 75.452, 92.858),
    ("deit_base_patch16_224.fb_in1k", 224, 81.980, 95.740),
    ("swin_tiny_patch4_window7_224.ms_in1k", 224, 81.388, 95.540),
    ("resnet50.a1_in1k", 288, 81.240, 95.112),
    ("resnet50.a1_in1k", 224, 80.382, 94.598),
]


def test_rows_equal_the_source_values():
    for model, size, top1, top5 in SOURCE_ROWS:
        got = results.lookup(model, size)
        assert got is not None, model
        assert (got.model, got.img_size, got.top1, got.top5) == (model, size, top1, top5)


def test_bare_architecture_finds_timms_default_tag():
    import timm.models

    for arch in ("vit_base_patch16_224", "vit_tiny_patch16_224", "resnet50", "swin_tiny_patch4_window7_224"):
        tag = timm.models.get_pretrained_cfg(arch).tag
        assert results.lookup(arch).model == f"{arch}.{tag}"


def test_several_sizes_and_absent_models():
    sizes = [a.img_size for a in results.lookup_all("resnet50.a1_in1k")]
    assert sorted(sizes) == [224, 288]
    assert results.lookup("resnet50.a1_in1k").img_size == 224  # no size asked: the lowest
    assert results.lookup("vit_base_patch16_224.no_such_tag") is None
    assert results.lookup("not_a_model") is None
    assert results.lookup_all("vit_base_patch16_224.dino") == []  # self-supervised: no ImageNet head


def test_file_is_small_and_names_its_source():
    text = results.DATA.read_text(encoding="utf-8")
    assert "huggingface/pytorch-image-models" in text and "results/results-imagenet.csv" in text
    assert 100 < sum(1 for line in text.splitlines() if not line.startswith("#")) < 500


def test_lookup_imports_no_torch():
    from fresh_interpreter import imported

    assert imported("from vitnotes.data import results; results.lookup('vit_base_patch16_224')") == []


def test_tags_name_their_training_data():
    t = read_tag("augreg2_in21k_ft_in1k")
    assert t.pretrained_on == ["ImageNet-21k"] and t.fine_tuned_on == ["ImageNet-1k"]
    assert t.recipe == ["AugReg, fine-tuned again by timm"]
    t = read_tag("laion2b_ft_in12k_in1k")
    assert t.pretrained_on == ["LAION-2B"] and t.fine_tuned_on[-1] == "ImageNet-1k" and len(t.fine_tuned_on) == 2
    assert read_tag("lvd142m").pretrained_on == ["LVD-142M"]
    assert read_tag("fb_in1k").pretrained_on == ["ImageNet-1k"] and read_tag("fb_in1k").recipe == ["Meta's release"]
    assert read_tag("r160_in1k").pretrained_on == ["ImageNet-1k"]  # unknown tokens left out


def _accuracy_text(model: str, weights=None) -> str:
    from vitnotes.analysis import add_published_accuracy
    from vitnotes.analysis.report import Card, Macs, Params, Report, Shapes
    from vitnotes.analysis.request import AnalysisRequest
    from vitnotes.render.markdown import RenderContext, render_sections

    rep = Report(model=model, card=Card(model=model, family="VisionTransformer", img_size=[224, 224]),
                 params=Params(total=1, trainable=1), macs=Macs(total=1), shapes=Shapes(), weights=weights)
    add_published_accuracy(rep, AnalysisRequest(model=model))
    return render_sections(rep, ["accuracy"], RenderContext())["accuracy"]


def test_accuracy_section_shows_the_published_row_or_says_it_is_absent():
    from vitnotes.analysis.report import WeightsInfo

    text = _accuracy_text("vit_base_patch16_224")
    assert "top-1 85.1 %, top-5 97.5 %" in text and "224×224 eval" in text
    assert "`vit_base_patch16_224.augreg2_in21k_ft_in1k`" in text and "random" not in text
    random = _accuracy_text("vit_base_patch16_224", WeightsInfo(kind="random", source="", seed=0))
    assert "this note's weights are random" in random
    trained = _accuracy_text("vit_base_patch16_224.augreg2_in21k_ft_in1k", WeightsInfo(
        kind="hf-cache", source="x", checkpoint="vit_base_patch16_224.augreg2_in21k_ft_in1k"))
    assert "top-1 85.1 %" in trained and "random" not in trained and "not for the weights" not in trained
    absent = _accuracy_text("vit_base_patch16_224.dino")
    assert "`vit_base_patch16_224.dino` is not in timm's published tables" in absent
