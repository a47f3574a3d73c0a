"""The numbers behind the ViT paper's Figures 6 and 7, from the real model with its real weights.

One model build, one weight load, one batched forward (only when distance or rollout is asked):
position-embedding similarity and the patch-filter PCA read the weights directly.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from vitnotes.analysis.report import AttentionDistance, EmbedFilters, PosEmbedSimilarity, Report, Rollout
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.errors import ModelError, SpecError, WeightsError

Progress = Optional[Callable[[str], None]]

NUM_COMPONENTS = 28  # ViT paper, Fig. 7 left
ROLLOUT_IMAGES = 4
MAX_SIM_ROWS = 1024  # above this many patches, keep a strided subset of similarity rows
MAP_BUDGET_BYTES = 256 << 20  # one batch of [B, H, N, N] float32 maps


def add_figure_data(report: Report, req: AnalysisRequest, progress: Progress = None) -> None:
    """Fill report.weights/images/attention_distance/pos_embed/filters/rollout as ``req.sections`` asks."""
    from vitnotes.analysis.attention import vit_geometry
    from vitnotes.analysis.weights import create_model, load_weights
    from vitnotes.sections import needing

    wanted = list(needing("weights", req.sections))
    if not wanted:
        return
    if progress:
        progress(f"building {req.model} on cpu")
    model = create_model(req.model, req.img_size, req.model_kwargs, req.seed)
    try:
        report.weights = load_weights(
            model, req.model, weights=req.weights, pretrained=req.pretrained, seed=req.seed, progress=progress
        )
    except WeightsError as exc:
        # Only what needs the weights is lost: the structural sections are filled all the same.
        report.weights_error = str(exc)
        for s in wanted:
            report.unavailable[s] = str(exc)
        if progress:
            progress(f"warning: {exc}")
        return
    try:
        geo = vit_geometry(model, req.model)
    except ModelError as exc:
        for s in wanted:
            report.unavailable[s] = exc.message
        return

    if "pos_embed" in wanted:
        report.pos_embed = pos_embed_similarity(model, geo)
        if report.pos_embed is None:
            report.unavailable["pos_embed"] = f"{req.model} has no learned absolute position embedding"
    if "filters" in wanted:
        report.filters = embed_filters(model)
        if report.filters is None:
            report.unavailable["filters"] = f"{req.model}'s patch embedding is not a single convolution"
    if needing("forward", wanted):
        _attention_pass(report, req, model, geo, wanted, progress)


def _attention_pass(report, req, model, geo, wanted, progress: Progress) -> None:
    from vitnotes.analysis.attention import AttentionCapture, summarize, uniform_distance
    from vitnotes.analysis.images import encode_image, load_images

    device = _device(req.device)
    images = load_images(model, req.images, req.num_images, progress=progress)
    report.images = images.info
    model.to(device)
    n = images.batch.shape[0]
    k = min(ROLLOUT_IMAGES, n) if "rollout" in wanted else 0
    bs = batch_size(_heads(model), geo.num_patches + geo.num_prefix_tokens)
    with AttentionCapture(model, geo, rollout_images=k) as cap, torch.inference_mode():
        steps = range(0, n, bs)
        for i, start in enumerate(steps):
            if progress:
                progress(f"attention forward: batch {i + 1}/{len(steps)} ({min(start + bs, n)}/{n} images)")
            x = images.batch[start:start + bs].to(device)
            cap.begin_batch(start, x.shape[0])
            model(x)
            cap.end_batch()
    model.to("cpu")
    if "attention_distance" in wanted:
        mad = [[round(v, 4) for v in row] for row in cap.mad_px()]
        uniform = uniform_distance(geo.grid, geo.patch_size)
        report.attention_distance = AttentionDistance(
            mad_px=mad, uniform_px=round(uniform, 4), patch_size=geo.patch_size[0], grid=list(geo.grid),
            num_images=cap.images, summary=summarize(mad, uniform),
        )
    if k:
        masks = cap.rollout_masks()
        report.rollout = Rollout(
            grid=list(geo.grid),
            images=[encode_image(images.info.names[i], images.display[i]) for i in range(k)],
            masks=[[round(float(v), 6) for v in m.flatten()] for m in masks],
            query="[CLS]" if geo.num_prefix_tokens else "mean over patches",
            layers=cap.depth, head_fusion="mean", residual_weight=0.5,  # attention.rollout_step: (A + I) / 2
        )


def _heads(model: torch.nn.Module) -> int:
    from vitnotes.analysis.attention import attention_modules

    return max(int(getattr(m, "num_heads", 1)) for m in attention_modules(model))


def batch_size(heads: int, tokens: int, cap: int = 8) -> int:
    """Up to 8 images, fewer when one batch of attention maps would pass the memory budget."""
    per_image = max(1, heads) * tokens * tokens * 4
    return max(1, min(cap, MAP_BUDGET_BYTES // per_image))


def _device(name: str) -> torch.device:
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SpecError(f"device {name!r} asked but torch sees no CUDA GPU", hint="use --device cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise SpecError(f"device {name!r} asked but MPS is not available", hint="use --device cpu")
    return dev


def pos_embed_similarity(model: torch.nn.Module, geo) -> Optional[PosEmbedSimilarity]:
    """Cosine similarity between the learned position embeddings of the patches (Fig. 7 center)."""
    pe = getattr(model, "pos_embed", None)
    if not isinstance(pe, torch.Tensor) or pe.dim() != 3:
        return None
    n = geo.num_patches
    if pe.shape[1] - n not in (0, geo.num_prefix_tokens):
        return None
    with torch.no_grad():
        e = torch.nn.functional.normalize(pe[0, -n:].double(), dim=-1)  # patch positions come last
        rows = list(range(n)) if n <= MAX_SIM_ROWS else _strided_rows(geo.grid)
        sim = e[rows] @ e.T
    return PosEmbedSimilarity(
        grid=list(geo.grid),
        similarity=[[round(v, 4) for v in r] for r in sim.tolist()],
        rows=[] if n <= MAX_SIM_ROWS else rows,
    )


def _strided_rows(grid) -> list[int]:
    """At most 32×32 query positions spread evenly over a large grid."""
    rows, cols = grid
    rs = sorted({round(i * (rows - 1) / 31) for i in range(32)}) if rows > 32 else range(rows)
    cs = sorted({round(j * (cols - 1) / 31) for j in range(32)}) if cols > 32 else range(cols)
    return [r * cols + c for r in rs for c in cs]


def embed_filters(model: torch.nn.Module, k: int = NUM_COMPONENTS) -> Optional[EmbedFilters]:
    """Top-k principal components of the patch-embedding filters (Fig. 7 left), signs fixed."""
    proj = getattr(getattr(model, "patch_embed", None), "proj", None)
    if not isinstance(proj, torch.nn.Conv2d):
        return None
    w = proj.weight.detach().double().cpu()  # [D, C, P, P]
    d, c, ph, pw = w.shape
    x = w.reshape(d, -1)
    x = x - x.mean(dim=0, keepdim=True)
    _, s, vt = torch.linalg.svd(x, full_matrices=False)
    k = min(k, vt.shape[0])
    comps = vt[:k]
    # SVD signs are arbitrary: make each component's largest-magnitude entry positive
    idx = comps.abs().argmax(dim=1)
    comps = comps * torch.sign(comps[torch.arange(k), idx]).unsqueeze(1)
    var = s ** 2
    ratio = (var / var.sum()).tolist() if float(var.sum()) > 0 else [0.0] * len(var)
    return EmbedFilters(
        patch_size=int(ph), in_chans=int(c),
        components=[[round(v, 6) for v in r] for r in comps.tolist()],
        explained_variance=[round(v, 6) for v in ratio[:k]],
    )
