"""How a model turns an image into tokens: its stem (does it patchify?) and its position information.

A stem *patchifies* when its first convolution has kernel = stride (ViT's patch embedding, MLP-Mixer's
``stem.proj``, ConvNeXt's 4×4 stride-4 "patchify" stem): the patch size is that stride and the token
grid is the convolution's output. PoolFormer-style stems overlap (kernel 7, stride 4): the stride is
still the pixels per token side. A ResNet's 7×7 stride-2 conv plus max pool does not patchify. Hybrids
(a CNN backbone, then timm's ``HybridEmbed``) patchify the backbone's feature map: the patch size is
``patch_embed.patch_size`` and every token covers ``img / grid`` pixels of the image.

Position information is described by what the model has, not by its family name: a learned absolute
table, a relative bias (windowed or global), RoPE, or nothing, and then why nothing works (token-mixing
MLPs are position-specific; convolutions see position only through zero padding at the borders).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from vitnotes.analysis.recorder import Recording
from vitnotes.analysis.topology import pair


@dataclass
class Stem:
    module: str  # e.g. "patch_embed.proj", "stem.0", "stem.proj"
    kernel: int
    stride: int  # pixels per patch side on the stem's input
    grid: list[int]  # [rows, cols] of the stem's output
    overlapping: bool  # kernel > stride (PoolFormer's 7×7 stride-4 patch embedding)
    token_stride: int  # image pixels per token side (hybrids: the backbone's reduction × stride)
    hybrid: bool = False

    def describe(self) -> str:
        k, s = self.kernel, self.stride
        if self.hybrid:
            return (f"hybrid: CNN backbone, then {k}×{k} patches of its feature map (stride {s}); "
                    f"each token covers {self.token_stride}×{self.token_stride} px")
        if self.overlapping:
            return f"overlapping patch embedding: conv {k}×{k}, stride {s}"
        return f"patchify: conv {k}×{k}, stride {s}"



def _first_conv(model, rec: Recording) -> Optional[tuple[str, torch.nn.Conv2d]]:
    """The first Conv2d the forward ran (module order as a fallback)."""
    convs = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}
    for name in rec.module_inputs:
        if name in convs:
            return name, convs[name]
    return next(iter(convs.items()), None)


def find_stem(model, rec: Recording, img_hw: list[int]) -> Optional[Stem]:
    """The patchifying stem of ``model``, or None when its stem does not cut the image into patches."""
    pe = getattr(model, "patch_embed", None)
    proj = getattr(pe, "proj", None)
    if pe is not None and getattr(pe, "backbone", None) is not None and getattr(pe, "grid_size", None):
        grid = list(pair(pe.grid_size))
        k = pair(getattr(proj, "kernel_size", pe.patch_size))[0]
        s = pair(getattr(proj, "stride", pe.patch_size))[0]
        return Stem(module="patch_embed", kernel=k, stride=s, grid=grid, overlapping=k > s,
                    token_stride=img_hw[0] // grid[0], hybrid=True)
    found = _first_conv(model, rec)
    if found is None:
        return None
    name, conv = found
    k, s = pair(conv.kernel_size)[0], pair(conv.stride)[0]
    patchify = k == s >= 2 or (s >= 4 and k > s)
    out = rec.module_outputs.get(name)
    if not patchify or not out or out[0] is None or len(out[0]) != 4:
        return None
    # The stem conv must read the image itself (not a later layer of a model with a conv-free start).
    inp = rec.module_inputs.get(name)
    if not inp or inp[0] is None or list(inp[0][-2:]) != list(img_hw):
        return None
    grid = [int(out[0][2]), int(out[0][3])]
    return Stem(module=name, kernel=k, stride=s, grid=grid, overlapping=k > s, token_stride=s)


_TOKEN_MIXING_MLP = ("mlp_tokens", "linear_tokens")  # MLP-Mixer, ResMLP
_SPATIAL_GATING = ("SpatialGatingUnit",)  # gMLP


def position_info(model) -> tuple[str, Optional[list[int]]]:
    """(what carries position, the learned table's shape or None), from the modules the model has."""
    pos = getattr(model, "pos_embed", None)
    kinds = []
    if any(hasattr(m, "relative_position_bias_table") for m in model.modules()):
        # Swin's bias lives inside windows; BEiT's spans the whole patch grid.
        windowed = any("Window" in type(m).__name__ for m in model.modules())
        kinds.append("relative position bias" + (" (windowed)" if windowed else ""))
    if any("rope" in n.lower().split(".")[-1] for n, _ in model.named_modules() if n):
        kinds.append("rotary (RoPE)")
    if isinstance(pos, torch.Tensor):
        return " + ".join(["learned absolute", *kinds]), [int(d) for d in pos.shape]
    if kinds:
        return " + ".join(kinds), None
    names = {n.split(".")[-1] for n, _ in model.named_modules()}
    classes = {type(m).__name__ for m in model.modules()}
    if names & set(_TOKEN_MIXING_MLP) or classes & set(_SPATIAL_GATING):
        return ("none needed: the token-mixing MLPs give each patch position its own weights, "
                "so the order of the patches is built into the model"), None
    if any(isinstance(m, torch.nn.Conv2d) and pair(m.kernel_size)[0] > 1 for m in model.modules()):
        return ("none: convolutions are translation-equivariant; position is only implicit "
                "(zero padding at the borders)"), None
    return "none", None
