"""MACs at several input sizes (the N² term of attention against the linear rest)."""

from __future__ import annotations

from typing import Optional

import torch

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.recorder import Recording, record
from vitnotes.analysis.report import Card, ScalePoint
from vitnotes.analysis.request import AnalysisRequest


def _resized(model, req: AnalysisRequest, size: int):
    """The model at another input size. For timm's VisionTransformer family, its own ``set_input_size``
    (new patch grid, pos-embed resampled) resizes the meta model in place — a fraction of a rebuild,
    same MACs. Others are rebuilt: Swin's set_input_size also changes its windows, a rebuild does not."""
    from timm.models.vision_transformer import VisionTransformer

    if isinstance(model, VisionTransformer):
        model.set_input_size(img_size=(size, size))
        return model
    # The scaling size replaces an img_size given in model_kwargs (e.g. a non-square [224, 160]);
    # kept, it would win over `size` and every row would repeat the native size.
    kwargs = {k: v for k, v in req.model_kwargs.items() if k != "img_size"}
    return build_model(req.model, size, kwargs, device="meta")


def make_scaling(req: AnalysisRequest, model, card: Card, say, rec0: Optional[Recording] = None) -> list[ScalePoint]:
    """MACs at several input sizes: ViTs are rebuilt (pos-embed grid), conv nets just fed more."""
    from vitnotes.analysis.build import _takes_img_size

    rebuild = _takes_img_size(type(model))
    points = []
    for size in req.scaling_sizes:
        say(f"scaling: {req.model} at {size} px")
        try:
            if size == card.img_size[0] == card.img_size[1] and rec0 is not None:
                rec, chw = rec0, (card.in_chans, size, size)  # the main pass already measured it
            else:
                m = _resized(model, req, size) if rebuild else model
                chw = input_size(m) if rebuild else (input_size(model)[0], size, size)
                rec = record(m, torch.empty(1, *chw, device="meta"), keep_ops=False)
        except Exception:  # e.g. Swin windows that do not tile this size: skip the point
            continue
        tokens = None
        if card.patch_size and card.num_prefix_tokens is not None:
            tokens = (chw[1] // card.patch_size) * (chw[2] // card.patch_size) + card.num_prefix_tokens
        attn = sum(o.macs for o in rec.ops if o.kind == "attention matmul")
        points.append(ScalePoint(img_size=size, num_tokens=tokens, macs=rec.total_macs,
                                 attention_matmul_macs=attn))
    return points
