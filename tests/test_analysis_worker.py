"""The cold path: the weight/image pass in a child process gives the same Report as in-process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vitnotes.analysis import analyze
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.analysis.worker import error_from_json, request_from_json, request_to_json
from vitnotes.errors import VitnotesError, WeightsError

KWARGS = {"depth": 2, "embed_dim": 64, "num_heads": 2}


def test_request_round_trip():
    req = AnalysisRequest("vit_tiny_patch16_224", img_size=64, model_kwargs=KWARGS,
                          sections=("pos_embed", "rollout"), num_images=3, seed=7)
    assert request_from_json(request_to_json(req)) == req


def test_errors_keep_their_kind():
    err = error_from_json({"error": "WeightsError", "message": "bad file", "hint": "fix it"})
    assert isinstance(err, WeightsError) and str(err) == "bad file — fix it"
    assert type(error_from_json({"error": "os.system", "message": "x"})) is VitnotesError


def profile_cli(*args: str) -> subprocess.CompletedProcess:
    # a fresh interpreter has not imported torch: analyze() takes the two-process path
    return subprocess.run([sys.executable, "-m", "vitnotes", "profile", *args, "-q"],
                          capture_output=True, text=True)


@pytest.mark.slow
def test_child_process_report_equals_in_process():
    sections = "attention_distance,pos_embed,filters,rollout"
    proc = profile_cli("vit_tiny_patch16_224", "--img-size", "64", "--kwargs", json.dumps(KWARGS),
                       "--sections", sections, "--num-images", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    cold = json.loads(proc.stdout)
    warm = analyze(AnalysisRequest("vit_tiny_patch16_224", img_size=64, model_kwargs=KWARGS,
                                   sections=tuple(sections.split(",")), num_images=2)).to_dict()
    for key in ("weights", "images", "pos_embed", "filters", "rollout", "params", "macs", "card"):
        assert cold[key] == warm[key], key
    for cold_row, warm_row in zip(cold["attention_distance"]["mad_px"], warm["attention_distance"]["mad_px"]):
        assert cold_row == pytest.approx(warm_row, abs=1e-3)  # thread counts may reorder float sums


@pytest.mark.slow
def test_child_errors_reach_the_user(tmp_path):
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(b"not a checkpoint")
    proc = profile_cli("vit_tiny_patch16_224", "--weights", str(bad), "--sections", "pos_embed")
    assert proc.returncode == 2
    assert "w.safetensors" in proc.stderr and "Traceback" not in proc.stderr
    proc = profile_cli("vit_bse_patch16_224", "--sections", "pos_embed")
    assert proc.returncode == 2 and "vit_base_patch16_224" in proc.stderr
