"""The 性能指标 sections: deployed form in params/flops, memory, training cost, speed."""

from __future__ import annotations

import pytest

from vitnotes.analysis import analyze
from vitnotes.analysis.report import Report, Speed, SpeedRun
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.render.markdown import render_sections
from vitnotes.render.numbers import fmt_bytes, fmt_macs

SECTIONS = ("params", "flops", "memory", "training")


@pytest.fixture(scope="module")
def mobileone():
    return analyze(AnalysisRequest("mobileone_s0", sections=SECTIONS, scaling_sizes=(), batch_size=8))


def test_deployed_form_is_stated_once_per_number(mobileone):
    text = render_sections(mobileone, SECTIONS)
    assert "**Deployed form: 2,078,504 (2.1 M)**" in text["params"]
    assert "**Deployed form: 275.16 M MACs (550.32 M FLOPs)**" in text["flops"]
    assert "timm's tables quote" in text["params"] and "timm's tables quote" in text["flops"]
    compute = next(line for line in text["flops"].split("\n") if line.startswith("**Compute:"))
    assert "training form" in compute
    assert "275.16 M" not in text["params"] and "2,078,504" not in text["flops"]


def test_memory_and_training_tables_carry_their_conventions(mobileone):
    text = render_sections(mobileone, SECTIONS)
    m, t = mobileone.memory, mobileone.training
    assert m.batch == 8 and t.batch == 8
    assert fmt_bytes(m.training) in text["memory"] and fmt_bytes(m.saved_activations) in text["memory"]
    assert "batch 8" in text["memory"] and "AdamW" in text["memory"] and "fp32" in text["memory"]
    assert fmt_macs(t.forward_macs + t.backward_macs) in text["training"]
    assert "1,281,167 images" in text["training"]
    assert t.forward_macs > mobileone.macs.total  # training-mode batch norm: 5 per element, not 2


def test_report_round_trips_the_new_fields(mobileone):
    mobileone.speed = Speed(device="cpu", dtype="float32", threads=2, warmup=3,
                            latency=SpeedRun(1, 10.0, 5, 9.0, 12.0), throughput=SpeedRun(16, 80.0, 5, 70.0, 90.0),
                            img_size=[224, 224], torch="2.x", deployed=True)
    back = Report.from_json(mobileone.to_json())
    assert back.deploy == mobileone.deploy and back.memory == mobileone.memory
    assert back.training == mobileone.training and back.speed == mobileone.speed
    text = render_sections(back, ("speed",))["speed"]
    assert "deployed (re-parameterised) form" in text and "2 threads" in text and "float32" in text
    assert "| Throughput | 16 | 80.0 ms | 200.0 |" in text
    mobileone.speed = None


def test_sections_say_why_when_a_pass_did_not_run():
    report = analyze(AnalysisRequest("vit_tiny_patch16_224", model_kwargs={"depth": 1}, sections=("params",),
                                     scaling_sizes=()))
    assert report.memory is None and report.training is None and report.deploy is None
    report.unavailable["memory"] = "the training step failed on the meta device: boom"
    text = render_sections(report, ("memory", "training", "speed"))
    assert "boom" in text["memory"] and "not computed" in text["training"] and "not measured" in text["speed"]


def test_memory_and_training_survive_scaling_and_the_weights_worker():
    """A cold `profile` with a weights section runs the figure pass in a worker process, and the
    scaling pass resizes the model: the meta passes must still see the note's own 224 px model."""
    import json
    import subprocess
    import sys

    args = [sys.executable, "-m", "vitnotes", "profile", "vit_tiny_patch16_224", "--kwargs", '{"depth": 1}',
            "--sections", "flops,memory,training,pos_embed", "--json", "-q"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data["memory"] and data["training"], data["unavailable"]
    assert [p["img_size"] for p in data["scaling"]] == [224, 384, 512]
    direct = analyze(AnalysisRequest("vit_tiny_patch16_224", model_kwargs={"depth": 1},
                                     sections=("flops", "memory", "training"), scaling_sizes=()))
    assert data["memory"]["saved_activations"] == direct.memory.saved_activations
    assert data["training"]["forward_macs"] == direct.training.forward_macs == direct.macs.total
