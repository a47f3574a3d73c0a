"""`pretrained: true` end to end: a fill downloads timm's checkpoint from a hub stand-in on 127.0.0.1
once, a second fill works offline from the HF cache, and a failed download keeps the structural
sections and the student's words (one clear line, bounded time). Never the network."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hub_standin import HubStandIn, SilentServer, refused_endpoint
from PIL import Image
from safetensors.torch import save

from vitnotes.analysis import hub
from vitnotes.analysis.weights import create_model
from vitnotes.pipeline import FillOptions, fill_note

NAME = "vit_tiny_patch16_224"
TINY = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}
SECTIONS = ["params", "shapes", "attention_distance", "pos_embed"]
USER = "My own words: the lowest layers should attend locally.\n"


def make_vault(tmp_path: Path) -> Path:
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / ".obsidian" / "app.json").write_text(json.dumps({"attachmentFolderPath": "Attachments"}))
    imgs = vault / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(imgs / f"img{i}.png")
    return vault


def write_note(vault: Path, **extra) -> Path:
    block = {"model": NAME, "img_size": 32, "model_kwargs": TINY, "images": "imgs", "num_images": 2,
             "sections": SECTIONS, "pretrained": True, **extra}
    note = vault / "ViT.md"
    note.write_text("---\nvitnotes: " + json.dumps(block) + "\n---\n# ViT\n\n" + USER, encoding="utf-8")
    return note


def served_checkpoint() -> bytes:
    return save({k: v.contiguous() for k, v in create_model(NAME, 32, TINY, 1).state_dict().items()})


def env_for(endpoint: str, hf_home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[1]), HF_ENDPOINT=endpoint, HF_HOME=str(hf_home),
               HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2", **extra)
    return env


def fill_cli(note: Path, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vitnotes", "fill", str(note)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def region(text: str, name: str) -> str:
    m = re.search(rf"<!-- vitnotes:begin {name} [^>]*-->(.*?)<!-- vitnotes:end {name} -->", text, re.S)
    assert m, f"no {name} region"
    return m.group(1)


@pytest.mark.slow
def test_first_fill_downloads_once_then_fills_offline(tmp_path):
    vault = make_vault(tmp_path)
    note = write_note(vault)
    data = served_checkpoint()
    with HubStandIn() as server:
        server.add(hub.resolve(NAME).repo, "model.safetensors", data)
        first = fill_cli(note, env_for(server.endpoint, tmp_path / "hf"))
        assert first.returncode == 0, first.stderr
        assert len(server.gets()) == 1
    assert "downloading timm/vit_tiny_patch16_224" in first.stderr and "100%" in first.stderr
    blobs = list((tmp_path / "hf" / "hub").glob("models--timm--*/blobs/*"))
    assert [b.stat().st_size for b in blobs] == [len(data)]  # in HF_HOME's hub cache, once
    text = note.read_text(encoding="utf-8")
    assert USER in text and "Parameters:" in region(text, "params")
    mad = region(text, "attention_distance")
    assert "timm/vit_tiny_patch16_224" in mad and "random" not in mad.lower()

    note.write_text(text.replace("Parameters:", "Parameters (edited by hand):"), encoding="utf-8")
    second = fill_cli(note, env_for(refused_endpoint(), tmp_path / "hf", HF_HUB_OFFLINE="1"))
    assert second.returncode == 0, second.stderr  # server gone, offline: the HF cache is enough
    assert "downloading" not in second.stderr


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["404", "refused", "silent"])
def test_a_failed_download_keeps_the_structural_sections(tmp_path, failure):
    vault = make_vault(tmp_path)
    note = write_note(vault)
    with HubStandIn() as hub404, SilentServer() as silent:
        hub404.add("someone/else", "model.safetensors", b"x")
        endpoint = {"404": hub404.endpoint, "refused": refused_endpoint(), "silent": silent.endpoint}[failure]
        start = time.monotonic()
        out = fill_cli(note, env_for(endpoint, tmp_path / "hf"))
        took = time.monotonic() - start
    assert out.returncode == 1, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("failed ViT.md: ") and "`weights:`" in lines[0], out.stdout
    assert {"404": "HTTP 404", "refused": "cannot reach", "silent": "did not answer within 2 s"}[failure] in lines[0]
    assert took < 60
    text = note.read_text(encoding="utf-8")
    assert USER in text
    assert "Parameters:" in region(text, "params") and "B×3×32×32" in region(text, "shapes")
    for name in ("attention_distance", "pos_embed"):
        body = region(text, name)
        assert "[!warning]" in body and "`weights:`" in body and "![[" not in body


def test_failed_weight_load_in_process_is_not_cached(tmp_path, monkeypatch):
    from huggingface_hub import constants

    vault = make_vault(tmp_path)
    note = write_note(vault)
    endpoint = refused_endpoint()
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    res = fill_note(note, FillOptions())
    assert res.status == "failed" and res.message.startswith(f"cannot reach {endpoint}")
    assert "Parameters:" in region(note.read_text(encoding="utf-8"), "params")
    assert not list((vault / ".vitnotes" / "cache").glob("*.json"))  # retried next time, e.g. once online

    data = served_checkpoint()
    with HubStandIn() as server:  # back online: the next fill downloads and fills the figures
        server.add(hub.resolve(NAME).repo, "model.safetensors", data)
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            server.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        res = fill_note(note, FillOptions())
    assert res.status == "filled", res.line()
    assert "![[" in region(note.read_text(encoding="utf-8"), "attention_distance")
