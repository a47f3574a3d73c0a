"""The Report cache: keyed by everything that changes a Report, never serving a stale one."""

import os

from vitnotes.analysis.report import Card, Macs, Params, Report, Shapes, WeightsInfo
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.cache import ReportCache, cache_key


def small_report() -> Report:
    return Report(
        model="m",
        card=Card(model="m", family="VisionTransformer", img_size=[32, 32], patch_size=8, grid=[4, 4]),
        params=Params(total=123, trainable=120),
        macs=Macs(total=4567),
        shapes=Shapes(),
        weights=WeightsInfo(kind="random", source="", seed=0, label="random init"),
    )


def test_key_covers_request_fields():
    base = AnalysisRequest("vit_tiny_patch16_224")
    keys = {
        cache_key(base),
        cache_key(AnalysisRequest("vit_tiny_patch16_224", img_size=384)),
        cache_key(AnalysisRequest("vit_tiny_patch16_224", model_kwargs={"depth": 2})),
        cache_key(AnalysisRequest("vit_tiny_patch16_224", sections=("shapes",))),
        cache_key(AnalysisRequest("vit_small_patch16_224")),
    }
    assert len(keys) == 5
    assert cache_key(base) == cache_key(AnalysisRequest("vit_tiny_patch16_224"))


def test_key_follows_weight_and_image_files(tmp_path):
    w = tmp_path / "w.safetensors"
    w.write_bytes(b"1234")
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "a.jpg").write_bytes(b"a")
    req = AnalysisRequest("m", weights=str(w), images=str(imgs), sections=("attention_distance",))
    k1 = cache_key(req)
    os.utime(w, ns=(1, 1))
    k2 = cache_key(req)
    (imgs / "b.png").write_bytes(b"b")
    k3 = cache_key(req)
    (imgs / "notes.txt").write_bytes(b"not an image")
    assert len({k1, k2, k3}) == 3 and cache_key(req) == k3


def test_round_trip_with_figures(tmp_path):
    cache = ReportCache(tmp_path / "cache")
    report = small_report()
    assert cache.get("k", ("pos_embed",)) is None
    cache.put("k", report, {"pos_embed": b"\x89PNG..."})
    got, figures = cache.get("k", ("pos_embed",))
    assert got == report and figures == {"pos_embed": b"\x89PNG..."}
    assert cache.get("k", ("rollout",)) is None  # a missing figure is a miss, not a partial hit
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]


def test_corrupt_entry_is_a_miss(tmp_path):
    cache = ReportCache(tmp_path)
    (tmp_path / "k.json").write_text("{not json", encoding="utf-8")
    assert cache.get("k") is None
