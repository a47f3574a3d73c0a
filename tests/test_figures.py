"""Figure data from a tiny real model, and PNGs that are small, labelled and byte-for-byte reproducible."""

import json
import struct
import subprocess
import sys
import warnings

import numpy as np
import torch
import pytest
from PIL import Image

from vitnotes.analysis.figures_data import add_figure_data, embed_filters
from vitnotes.analysis.report import (
    Card, EncodedImage, Macs, Params, Report, Rollout, Shapes,
)
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.render import figures
from vitnotes.render.figures import render_figures
from vitnotes.sections import figure_sections

FIGURE_SECTIONS = figure_sections()

TINY = {"patch_size": 8, "embed_dim": 64, "depth": 2, "num_heads": 2, "num_classes": 10}


def empty_report(model="vit_tiny_patch16_224"):
    return Report(model=model, card=Card(model=model, family="VisionTransformer"),
                  params=Params(total=0, trainable=0), macs=Macs(total=0), shapes=Shapes())


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, kinds = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kinds.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return kinds


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (40 + 10 * i, 50, 3), dtype=np.uint8)).save(d / f"img{i}.png")
    return d


@pytest.fixture(scope="module")
def report(image_dir):
    rep = empty_report()
    req = AnalysisRequest(model="vit_tiny_patch16_224", img_size=32, model_kwargs=TINY,
                          sections=FIGURE_SECTIONS, images=str(image_dir), num_images=5, seed=0)
    add_figure_data(rep, req)
    return rep


def test_figure_data_fills_every_section(report):
    assert report.weights.label == "random init (seed 0) — not a trained model"
    assert report.images.count == 5 and report.images.names[0] == "img0.png"
    ad = report.attention_distance
    assert ad.grid == [4, 4] and ad.patch_size == 8 and ad.num_images == 5
    assert len(ad.mad_px) == 2 and all(len(r) == 2 for r in ad.mad_px)
    assert ad.uniform_px == pytest.approx(float(np.mean([
        8 * np.hypot(i // 4 - j // 4, i % 4 - j % 4) for i in range(16) for j in range(16)])), abs=1e-3)
    assert ad.summary.startswith("layer 1: ")
    sim = np.array(report.pos_embed.similarity)
    assert sim.shape == (16, 16) and np.allclose(np.diag(sim), 1, atol=1e-3) and np.allclose(sim, sim.T, atol=1e-4)
    assert len(report.filters.components) == 28 and len(report.filters.components[0]) == 3 * 8 * 8
    ev = report.filters.explained_variance
    assert all(a >= b for a, b in zip(ev, ev[1:])) and 0 < sum(ev) <= 1 + 1e-6
    ro = report.rollout
    assert len(ro.images) == 4 and len(ro.masks) == 4 and len(ro.masks[0]) == 16
    assert (ro.images[0].height, ro.images[0].width) == (32, 32)
    # the [CLS] rollout row is a distribution over all tokens: its patch part is below 1, above 0
    assert all(0 < sum(m) < 1 for m in ro.masks)
    assert Report.from_json(report.to_json()) == report


def test_filter_pca_against_numpy_reference():
    from vitnotes.analysis.weights import create_model

    model = create_model("vit_tiny_patch16_224", 32, TINY, 5)
    got = embed_filters(model)
    w = model.patch_embed.proj.weight.detach().double().numpy().reshape(64, -1)
    x = w - w.mean(axis=0)
    evals, evecs = np.linalg.eigh(x.T @ x)  # a second method: eigen-decomposition of the scatter matrix
    order = np.argsort(evals)[::-1][:28]
    comps = np.array(got.components)
    for k, idx in enumerate(order):
        assert abs(abs(float(comps[k] @ evecs[:, idx])) - 1) < 1e-4
    assert np.allclose(got.explained_variance, evals[order] / evals.sum(), atol=1e-6)


def test_pngs_are_small_reproducible_and_carry_no_timestamps(report):
    a = render_figures(report, FIGURE_SECTIONS)
    assert set(a) == set(FIGURE_SECTIONS)
    again = render_figures(Report.from_json(report.to_json()), FIGURE_SECTIONS)  # as from the cache
    for name, data in a.items():
        assert data == again[name], name
        assert len(data) < 300_000, name
        kinds = png_chunks(data)
        assert b"tIME" not in kinds and b"tEXt" not in kinds and b"iTXt" not in kinds, (name, kinds)


def test_every_title_states_the_weights(report):
    """Random weights say so in every title, each phrase whole on one line."""
    import matplotlib

    with matplotlib.rc_context(figures._rc()):
        for draw in (figures._distance, figures._pos_embed, figures._filters, figures._rollout):
            lines = draw(report)._suptitle.get_text().split("\n")
            assert "random init (seed 0) · not a trained model" in lines, lines


def trained(report):
    """The same numbers as if from a hub checkpoint (what analysis.weights.load_checkpoint records)."""
    from vitnotes.analysis.report import WeightsInfo

    rep = Report.from_json(report.to_json())
    rep.weights = WeightsInfo(
        kind="hf-cache", source="timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k", sha256="ab" * 32,
        label="timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k @ 0123456 (HF cache, sha256 abababababab)",
        checkpoint="vit_tiny_patch16_224.augreg_in21k_ft_in1k", hub_id="timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k",
        revision="0123456789" * 4, filename="model.safetensors", size=1000,
        pretrained_on=["ImageNet-21k"], fine_tuned_on=["ImageNet-1k"])
    return rep


def all_figures(rep):
    import matplotlib

    with matplotlib.rc_context(figures._rc()):
        return [draw(rep) for draw in (figures._distance, figures._pos_embed, figures._filters, figures._rollout)]


def test_trained_titles_name_the_checkpoint_and_never_say_random(report):
    for fig in all_figures(trained(report)):
        lines = fig._suptitle.get_text().split("\n")
        assert "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k @ 0123456 · sha256 abababababab" in lines[-2:] \
            or "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k @ 0123456" in lines, lines
        assert any("pre-trained on ImageNet-21k → fine-tuned on ImageNet-1k" in ln for ln in lines), lines
        assert "random" not in fig._suptitle.get_text().lower()


def test_every_text_is_legible_in_a_700_px_column(report):
    """≥ 9 pt at the size Obsidian shows it: figures ≤ 700 px wide are shown unscaled."""
    from matplotlib.text import Text

    for fig in all_figures(trained(report)):
        width_px = fig.get_figwidth() * fig.dpi
        assert width_px <= figures.COLUMN_PX
        fig.canvas.draw()
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
                 and (t.axes is None or t.axes.axison)]
        assert texts
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < figures.MIN_PT]
        assert not small, small
        # nothing drawn runs off the figure (the tight box covers only what is drawn), in inches
        tight = fig.get_tightbbox(fig.canvas.get_renderer())
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01, tight
        assert tight.x1 <= fig.get_figwidth() + 0.01 and tight.y1 <= fig.get_figheight() + 0.01, tight


def test_titles_break_only_between_phrases():
    rep = empty_report("vit_base_patch14_reg4_dinov2_with_a_long_name")
    lines = figures._wrap(["Mean attention distance (ViT Fig. 7 right)", "14×14 patches of 16 px",
                           "mean over 16 images"], 10, 300)
    assert lines == ["Mean attention distance (ViT Fig. 7 right)", "14×14 patches of 16 px · mean over 16 images"]
    assert rep.model  # the model gets a line of its own in _title


def test_rollout_is_a_heat_map_with_a_colour_bar(report):
    import matplotlib

    with matplotlib.rc_context(figures._rc()):
        fig = figures._rollout(report)
    k = len(report.rollout.masks)
    heat = [im for ax in fig.axes for im in ax.images if im.get_cmap().name == "inferno"]
    assert len(heat) == k  # one heat layer per shown image, over the (faded) photo
    assert all(im.get_alpha() < 1 for im in heat)
    vmax = max(max(m) for m in report.rollout.masks)
    assert all(im.get_clim() == (0, pytest.approx(vmax)) for im in heat)  # one scale for all images
    bars = [ax for ax in fig.axes if "rollout weight" in ax.get_ylabel()]
    assert len(bars) == 1
    foot = " ".join(t.get_text() for t in fig.texts)
    assert "heads fused by mean" in foot and "½(A + I)" in foot and "over all 2 layers" in foot
    assert f"{k} of {report.images.count} images shown" in fig._suptitle.get_text()


def test_distance_plot_has_the_uniform_reference_line(report):
    fig = figures._distance(report)
    ax = fig.axes[0]
    flat = [ln for ln in ax.lines if len(set(ln.get_ydata())) == 1]
    assert [float(ln.get_ydata()[0]) for ln in flat] == [report.attention_distance.uniform_px]
    points = sorted(float(y) for c in ax.collections for _, y in c.get_offsets())
    assert points == sorted(v for row in report.attention_distance.mad_px for v in row)
    # its label is a legend entry outside the axes, where no point can cover it
    legend = ax.get_legend()
    assert legend.get_texts()[0].get_text().startswith("uniform attention")
    fig.canvas.draw()
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1


def test_big_photos_stay_under_300_kb_and_cjk_names_never_fail(report):
    rng = np.random.default_rng(1)
    imgs = [EncodedImage(name=f"照片{i}.jpg", height=224, width=224,
                         rgb_hex=rng.integers(0, 256, (224, 224, 3), dtype=np.uint8).tobytes().hex())
            for i in range(4)]
    big = Report.from_json(report.to_json())
    big.rollout = Rollout(grid=[14, 14], images=imgs, masks=[rng.random(196).tolist() for _ in range(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing CJK glyph must not surface as a warning or error
        out = render_figures(big, ["rollout"])
    assert len(out["rollout"]) < 300_000
    assert Image.open(__import__("io").BytesIO(out["rollout"])).size[0] > 400


def test_nothing_to_draw_gives_no_figures():
    assert render_figures(empty_report(), FIGURE_SECTIONS) == {}


def test_importing_the_renderer_is_cheap():
    from fresh_interpreter import imported

    assert imported("import vitnotes.render.figures", ("torch", "matplotlib")) == []


def test_non_vit_models_mark_figures_unavailable():
    rep = empty_report("resnet18")
    add_figure_data(rep, AnalysisRequest(model="resnet18", model_kwargs={"num_classes": 10},
                                         sections=("attention_distance", "filters")))
    assert rep.attention_distance is None and rep.filters is None
    assert set(rep.unavailable) == {"attention_distance", "filters"}
    assert "patch grid" in rep.unavailable["attention_distance"]


@pytest.mark.slow
def test_profile_prints_attention_distance_json(tmp_path, image_dir):
    pytest.importorskip("vitnotes.analysis.structure")
    out = subprocess.run(
        [sys.executable, "-m", "vitnotes", "profile", "vit_tiny_patch16_224", "--sections", "attention_distance",
         "--images", str(image_dir), "--num-images", "3", "--json", "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    ad = data["attention_distance"]
    assert len(ad["mad_px"]) == 12 and len(ad["mad_px"][0]) == 3 and ad["num_images"] == 3
    assert all(abs(v - ad["uniform_px"]) < 4 for row in ad["mad_px"] for v in row)  # random init: flat
    assert data["weights"]["kind"] == "random" and data["images"]["count"] == 3


def test_non_square_grid_with_registers_end_to_end(image_dir):
    rep = empty_report()
    req = AnalysisRequest(model="vit_tiny_patch16_224", model_kwargs={**TINY, "img_size": [32, 48], "reg_tokens": 2},
                          sections=FIGURE_SECTIONS, images=str(image_dir), num_images=2)
    add_figure_data(rep, req)
    assert rep.attention_distance.grid == [4, 6] and rep.pos_embed.grid == [4, 6]
    assert np.array(rep.pos_embed.similarity).shape == (24, 24)
    assert len(rep.rollout.masks[0]) == 24 and (rep.rollout.images[0].height, rep.rollout.images[0].width) == (32, 48)
    assert set(render_figures(rep, FIGURE_SECTIONS)) == set(FIGURE_SECTIONS)


def test_big_grids_keep_a_strided_subset_of_similarity_rows():
    from vitnotes.analysis.attention import Geometry
    from vitnotes.analysis.figures_data import pos_embed_similarity

    class Fake(torch.nn.Module):
        pass

    fake = Fake()
    fake.pos_embed = torch.nn.Parameter(torch.randn(1, 1 + 40 * 40, 8, generator=torch.Generator().manual_seed(0)))
    sim = pos_embed_similarity(fake, Geometry(grid=(40, 40), patch_size=(14, 14), num_prefix_tokens=1))
    assert len(sim.rows) == 32 * 32 and sim.rows[0] == 0 and sim.rows[-1] == 40 * 40 - 1
    assert len(sim.similarity) == 32 * 32 and len(sim.similarity[0]) == 1600
    assert all(abs(sim.similarity[k][r] - 1) < 1e-3 for k, r in enumerate(sim.rows))  # self-similarity
    rep = empty_report()
    rep.pos_embed = sim
    assert len(render_figures(rep, ["pos_embed"])["pos_embed"]) < 300_000
