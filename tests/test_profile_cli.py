"""`vitnotes profile` as a user runs it: a real subprocess, JSON output, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # each case starts python + torch


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vitnotes", "profile", *args],
                          capture_output=True, text=True, timeout=300)


def test_profile_json_has_the_contract_fields():
    out = run("vit_tiny_patch16_224", "--json", "-q")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model"] == "vit_tiny_patch16_224"
    assert data["params"]["total"] == data["params"]["trainable"] == 5_717_416
    assert abs(data["macs"]["total"] / 1e9 - 1.26) / 1.26 < 0.0025  # timm's published GMACs
    card = data["card"]
    assert (card["patch_size"], card["num_tokens"], card["embed_dim"], card["depth"], card["num_heads"]) \
        == (16, 197, 192, 12, 3)


def test_profile_json_non_vit_fields_are_null_and_img_size_feeds_convnets():
    out = run("resnet18", "--img-size", "160", "--json", "-q")
    assert out.returncode == 0, out.stderr
    card = json.loads(out.stdout)["card"]
    assert card["num_heads"] is None and card["num_tokens"] is None and card["embed_dim"] is None
    assert card["img_size"] == [160, 160]


def test_profile_tables_state_the_convention():
    out = run("vit_base_patch16_224", "--kwargs", '{"depth": 2}')
    assert out.returncode == 0, out.stderr
    assert "one multiply-add = 1 MAC" in out.stdout and "FLOPs" in out.stdout
    assert "B×12×197×197" in out.stdout  # the attention matrix row
    assert "building vit_base_patch16_224" in out.stderr  # the progress line


def test_unknown_model_exits_2_with_close_names():
    out = run("vit_bse_patch16_224")
    assert out.returncode == 2
    assert "vit_base_patch16_224" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


@pytest.mark.parametrize("kwargs, key", [('{"not_a_param": 3}', "not_a_param"), ('{"num_heads": "x"}', "num_heads")])
def test_bad_kwarg_names_the_key(kwargs, key):
    out = run("vit_tiny_patch16_224", "--kwargs", kwargs)
    assert out.returncode == 2
    assert key in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
