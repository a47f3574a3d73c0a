"""Deployed (re-parameterised) form: timm's published figures, on the meta device."""

from __future__ import annotations

import pytest
import torch

from vitnotes.analysis import analyze
from vitnotes.analysis.build import build_model
from vitnotes.analysis.deploy import deploy_form, fusable_modules
from vitnotes.analysis.recorder import record
from vitnotes.analysis.request import AnalysisRequest

# huggingface/pytorch-image-models results (infer_gmacs, infer_img_size 224), rounded to 0.01 G
# there; the MobileOne paper gives 275 M MACs for S0, the RepVGG paper 8.30 M params for A0.
PUBLISHED_DEPLOY_GMACS = {"mobileone_s0": 0.28, "repvgg_a0": 1.36}
PUBLISHED_DEPLOY_PARAMS = {"mobileone_s0": 2_078_504, "repvgg_a0": 8_309_384}
# The training form, as the structural pass counted it before the deploy pass existed, plus the
# global average pool it now counts (C·7·7).
TRAINING_FORM = {"mobileone_s0": (5_293_272, 1_088_413_184 + 1024 * 7 * 7),
                 "repvgg_a0": (9_108_968, 1_521_487_360 + 1280 * 7 * 7)}


@pytest.fixture(scope="module", params=sorted(PUBLISHED_DEPLOY_GMACS))
def profiled(request):
    name = request.param
    return name, analyze(AnalysisRequest(name, sections=("params", "flops"), scaling_sizes=()))


def test_deploy_macs_match_timm_published(profiled):
    name, report = profiled
    d = report.deploy
    assert d is not None and d.device == "meta"
    got = d.macs / 1e9
    ref = PUBLISHED_DEPLOY_GMACS[name]
    # timm's table prints two decimals: the count must round to it (0.275 → 0.28) ...
    assert round(got, 2) == ref, got
    assert d.params == PUBLISHED_DEPLOY_PARAMS[name]


def test_deploy_macs_within_a_quarter_percent_of_fvcore_on_the_fused_cpu_model(profiled):
    """... and agree to 0.25 % with fvcore (timm's counter) run on a real fused CPU model."""
    import logging
    import warnings

    from timm.models import reparameterize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

    name, report = profiled
    model = reparameterize_model(build_model(name, None, {}, device="cpu"))
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224)).unsupported_ops_warnings(False)
        ref = fca.total()
    assert abs(report.deploy.macs - ref) / ref < 0.0025
    assert abs(report.deploy.macs / 1e9 - PUBLISHED_DEPLOY_GMACS[name]) / PUBLISHED_DEPLOY_GMACS[name] < 0.02


def test_training_form_is_unchanged(profiled):
    name, report = profiled
    assert (report.params.total, report.macs.total) == TRAINING_FORM[name]
    model = build_model(name, None, {}, device="cpu")
    assert report.params.total == sum(p.numel() for p in model.parameters())


def test_models_without_branches_have_no_deployed_form():
    model = build_model("vit_tiny_patch16_224", None, {"depth": 1}, device="meta")
    assert not fusable_modules(model)
    assert deploy_form(model, (3, 224, 224)) is None


def test_fusing_on_meta_leaves_the_training_model_alone():
    model = build_model("repvgg_a0", None, {}, device="meta")
    before = record(model, torch.empty(1, 3, 224, 224, device="meta"), keep_ops=False).total_macs
    d = deploy_form(model, (3, 224, 224))
    assert d.macs < before
    assert record(model, torch.empty(1, 3, 224, 224, device="meta"), keep_ops=False).total_macs == before
