"""timm's checkpoints through huggingface_hub, against a hub stand-in on 127.0.0.1 (never the network).

The stand-in serves a vit_tiny checkpoint the test writes, under the repo id timm's pretrained config
names for vit_tiny_patch16_224, in the hub's URL layout; the HF cache lives in tmp_path.
"""

import hashlib
import time
from pathlib import Path

import pytest
import torch
from hub_standin import HubStandIn, SilentServer, refused_endpoint
from safetensors.torch import save

from vitnotes.analysis import hub
from vitnotes.analysis.weights import create_model, load_weights
from vitnotes.errors import ModelError, WeightsError

NAME = "vit_tiny_patch16_224"
TINY = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}


def tiny(seed):
    return create_model(NAME, 32, TINY, seed)


def point_hf_at(monkeypatch, endpoint: str, cache: Path, offline: bool = False, timeout: int = 2) -> None:
    """What HF_ENDPOINT / HF_HUB_CACHE / HF_HUB_OFFLINE / HF_HUB_*_TIMEOUT set at import, set in-process."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", timeout)
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", timeout)


@pytest.fixture
def served():
    """(stand-in hub serving a tiny checkpoint as model.safetensors, the source model, its bytes)."""
    src = tiny(1)
    data = save({k: v.contiguous() for k, v in src.state_dict().items()})
    repo = hub.resolve(NAME).repo
    with HubStandIn() as server:
        server.add(repo, "model.safetensors", data)
        yield server, src, data


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_resolve_reads_timms_pretrained_cfg():
    import timm.models

    ck = hub.resolve(NAME)
    tag = timm.models.get_pretrained_cfg(NAME).tag
    assert ck.name == f"{NAME}.{tag}" and ck.repo == f"timm/{NAME}.{tag}" and ck.revision == "main"
    assert ck.filenames == ("model.safetensors", "pytorch_model.bin")  # safetensors first, as timm
    assert hub.resolve(f"{NAME}.augreg_in21k").tag == "augreg_in21k"
    with pytest.raises(ModelError, match="no pretrained tag 'nope' for vit_tiny_patch16_224"):
        hub.resolve(f"{NAME}.nope")


def test_checkpoints_timm_offers_only_by_url_are_refused_clearly():
    with pytest.raises(WeightsError, match=r"only from https?://.*not from the Hugging Face hub"):
        hub.resolve("gcvit_base.in1k")


def test_first_load_downloads_once_with_progress_then_uses_the_cache(served, tmp_path, monkeypatch):
    server, src, data = served
    point_hf_at(monkeypatch, server.endpoint, tmp_path / "hub")
    lines: list[str] = []
    dst = tiny(2)
    info = load_weights(dst, NAME, weights=None, pretrained=True, seed=0, progress=lines.append)
    assert same_state(src, dst)  # the loaded tensors are the served ones
    assert info.kind == "hf-cache" and info.downloaded and info.hub_id == hub.resolve(NAME).repo
    assert info.revision == server.commit and info.filename == "model.safetensors" and info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.pretrained_on == ["ImageNet-21k"] and info.fine_tuned_on == ["ImageNet-1k"]
    assert "random" not in info.label and info.sha256[:12] in info.label and server.commit[:7] in info.label
    # announced before the transfer, with size and revision; then huggingface_hub's bar as lines
    announce = next(i for i, ln in enumerate(lines) if ln.startswith("downloading "))
    assert f"model.safetensors ({hub.human_bytes(len(data))}, revision {server.commit[:12]})" in lines[announce]
    assert any("100%" in ln for ln in lines[announce + 1:]), lines
    assert len(server.gets()) == 1
    # the standard cache layout: blobs/<sha256>, snapshots/<commit>/model.safetensors, refs/main
    repo_dir = tmp_path / "hub" / ("models--" + info.hub_id.replace("/", "--"))
    assert (repo_dir / "refs" / "main").read_text() == server.commit
    assert (repo_dir / "blobs" / info.sha256).is_file()

    server.stop()  # second load: no server, offline mode, same tensors
    point_hf_at(monkeypatch, server.endpoint, tmp_path / "hub", offline=True)
    again = tiny(3)
    info2 = load_weights(again, NAME, weights=None, pretrained=True, seed=0)
    assert same_state(src, again) and not info2.downloaded and info2.revision == server.commit


def test_an_interrupted_transfer_resumes_where_it_stopped(served, tmp_path, monkeypatch):
    server, src, data = served
    point_hf_at(monkeypatch, server.endpoint, tmp_path / "hub")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16 << 10)  # the hub's 10 MB chunks, scaled to this file
    cut = len(data) // 3
    server.drop_after = cut
    dst = tiny(2)
    load_weights(dst, NAME, weights=None, pretrained=True, seed=0)
    assert same_state(src, dst)
    (first, _, rng0), (second, _, rng1) = server.gets()
    assert rng0 == "" and rng1.startswith("bytes=") and rng1.endswith("-")
    assert 0 < int(rng1[6:-1]) <= cut  # the second request asks only for what is missing


def test_offline_without_cache_says_what_to_do(tmp_path, monkeypatch):
    point_hf_at(monkeypatch, refused_endpoint(), tmp_path / "hub", offline=True)
    with pytest.raises(WeightsError) as err:
        load_weights(tiny(2), NAME, weights=None, pretrained=True, seed=0)
    assert "HF_HUB_OFFLINE is set" in str(err.value) and "`weights:`" in err.value.hint


def _fails_fast(monkeypatch, tmp_path, endpoint: str, limit: float) -> str:
    point_hf_at(monkeypatch, endpoint, tmp_path / "hub", timeout=1)
    dst = tiny(2)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    start = time.monotonic()
    with pytest.raises(WeightsError) as err:
        load_weights(dst, NAME, weights=None, pretrained=True, seed=0)
    assert time.monotonic() - start < limit
    assert all(torch.equal(before[k], v) for k, v in dst.state_dict().items())
    text = str(err.value)
    assert "\n" not in text and "run once with network" in text and "`weights:`" in text
    return text


def test_404_is_one_clear_line(tmp_path, monkeypatch):
    with HubStandIn() as server:  # the hub has the repo but neither file
        server.add(hub.resolve(NAME).repo, "README.md", b"x")
        text = _fails_fast(monkeypatch, tmp_path, server.endpoint, 10)
    assert f"has no {hub.resolve(NAME).repo}/pytorch_model.bin (HTTP 404)" in text
    unknown = HubStandIn()  # an unknown repo: 404 RepoNotFound
    with unknown:
        assert "(HTTP 404)" in _fails_fast(monkeypatch, tmp_path, unknown.endpoint, 10)


def test_refused_connection_is_one_clear_line(tmp_path, monkeypatch):
    endpoint = refused_endpoint()
    text = _fails_fast(monkeypatch, tmp_path, endpoint, 10)
    assert text.startswith(f"cannot reach {endpoint} to download timm/")


def test_a_server_that_never_answers_gives_up_within_the_timeout(tmp_path, monkeypatch):
    with SilentServer() as silent:
        endpoint = silent.endpoint
        text = _fails_fast(monkeypatch, tmp_path, endpoint, 8)
    assert text.startswith(f"{endpoint} did not answer within 1 s")
