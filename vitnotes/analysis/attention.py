"""Attention maps from a real forward, reduced inside hooks to the numbers the ViT paper plots.

Mean attention distance (docs/DESIGN.md §5, ViT appendix D.7) and attention rollout (Abnar & Zuidema,
2020) are hand-written: timm exposes the softmax map (``attn.attn_drop``'s input) but no reducer,
and a full map per image is tens of MB for ViT-L, so nothing larger than [layer][head] numbers (and
an N×N running product for the ≤4 rollout images) outlives a hook call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from vitnotes.errors import ModelError


@dataclass(frozen=True)
class Geometry:
    """Where the patch tokens sit: grid [rows, cols], patch size (h, w) in px, prefix tokens first."""

    grid: tuple[int, int]
    patch_size: tuple[int, int]
    num_prefix_tokens: int

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]


def vit_geometry(model: torch.nn.Module, name: str = "") -> Geometry:
    """The patch grid of a plain ViT-style timm model, or a ModelError saying why it has none."""
    pe = getattr(model, "patch_embed", None)
    grid = getattr(pe, "grid_size", None)
    patch = getattr(pe, "patch_size", None)
    if grid is None or patch is None or not hasattr(model, "blocks"):
        raise ModelError(
            f"{name or type(model).__name__} ({type(model).__name__}) has no flat patch grid with global "
            "attention blocks, so the ViT paper's attention figures do not apply to it",
            hint="use a ViT-style model (vit_*, deit_*, eva_*, …) or drop attention_distance/pos_embed/"
            "filters/rollout from `sections:`",
        )
    grid = tuple(int(g) for g in (grid if isinstance(grid, (tuple, list)) else (grid, grid)))
    patch = tuple(int(p) for p in (patch if isinstance(patch, (tuple, list)) else (patch, patch)))
    return Geometry(grid=grid, patch_size=patch, num_prefix_tokens=int(getattr(model, "num_prefix_tokens", 0)))


def patch_distances(grid: tuple[int, int], patch_size, dtype=torch.float64, device=None) -> torch.Tensor:
    """[Np, Np] pixel distance between patch centres, row-major over the grid (non-square patches ok)."""
    ph, pw = (patch_size, patch_size) if isinstance(patch_size, (int, float)) else patch_size
    rows, cols = grid
    r = torch.arange(rows, dtype=dtype, device=device).repeat_interleave(cols) * ph
    c = torch.arange(cols, dtype=dtype, device=device).repeat(rows) * pw
    pos = torch.stack([r, c], dim=1)
    return torch.cdist(pos, pos)


def uniform_distance(grid: tuple[int, int], patch_size) -> float:
    """MAD of uniform attention over all patches: the flat line random weights sit on."""
    return float(patch_distances(grid, patch_size).mean())


def mean_attention_distance(
    attn: torch.Tensor, grid: tuple[int, int], patch_size, num_prefix_tokens: int = 0,
    distances: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """(1/Np) Σ_i Σ_j A_ij·d_ij over patch rows/cols of ``attn`` [..., N, N] -> [...] in px.

    Prefix rows and columns are dropped WITHOUT renormalising (docs/DESIGN.md §5): attention a patch pays
    to [CLS] simply contributes no distance.
    """
    p = num_prefix_tokens
    n = grid[0] * grid[1]
    if attn.shape[-1] != p + n or attn.shape[-2] != p + n:
        raise ValueError(f"attention map {tuple(attn.shape)} does not fit {p} prefix + {grid[0]}×{grid[1]} patches")
    d = distances if distances is not None else patch_distances(grid, patch_size, attn.dtype, attn.device)
    a = attn[..., p:, p:]
    return torch.einsum("...ij,ij->...", a, d.to(a.dtype)) / n


def rollout_step(joint: torch.Tensor, attn_mean: torch.Tensor) -> torch.Tensor:
    """One layer of rollout: add identity (the residual), renormalise rows, multiply onto the product."""
    eye = torch.eye(attn_mean.shape[-1], dtype=attn_mean.dtype, device=attn_mean.device)
    a = attn_mean + eye
    a = a / a.sum(dim=-1, keepdim=True)
    return a @ joint


def attention_rollout(head_means: list[torch.Tensor]) -> torch.Tensor:
    """Abnar & Zuidema rollout over layers (first to last) of head-averaged maps [..., N, N]."""
    joint = torch.eye(head_means[0].shape[-1], dtype=head_means[0].dtype).expand_as(head_means[0])
    for a in head_means:
        joint = rollout_step(joint, a)
    return joint


def rollout_mask(joint: torch.Tensor, geo: Geometry) -> torch.Tensor:
    """[CLS] row over patch columns as a [rows, cols] map; mean over patch rows if no [CLS]."""
    p = geo.num_prefix_tokens
    row = joint[..., 0, p:] if p > 0 else joint[..., p:, p:].mean(dim=-2)
    return row.reshape(*row.shape[:-1], *geo.grid)


def attention_modules(model: Any) -> list[Any]:
    """Per block, the module whose ``attn_drop`` sees the softmax map (``blk.attn`` or the block)."""
    mods = []
    for i, blk in enumerate(model.blocks):
        attn = getattr(blk, "attn", None)
        mod = attn if hasattr(attn, "attn_drop") else blk if hasattr(blk, "attn_drop") else None
        if mod is None:
            raise ModelError(
                f"block {i} of {type(model).__name__} has no `attn.attn_drop`, where timm exposes the attention map",
                hint="the attention figures need a timm ViT-style model",
            )
        mods.append(mod)
    return mods


class AttentionCapture:
    """Context manager: unfused attention + hooks that reduce each map as it is produced.

    Use ``begin_batch(offset, size)`` before each forward and ``end_batch()`` after; read
    ``mad_px()`` and ``rollout_masks()`` at the end. Fused attention is restored on exit.
    """

    def __init__(self, model: torch.nn.Module, geo: Geometry, rollout_images: int = 0):
        self.model = model
        self.geo = geo
        self.rollout_images = rollout_images
        self.mods = attention_modules(model)
        self.depth = len(self.mods)
        self._dist: Optional[torch.Tensor] = None
        self.mad_sum: list[Optional[torch.Tensor]] = [None] * self.depth
        self.images = 0
        self._joint: Optional[torch.Tensor] = None  # [k, N, N] running rollout products
        self._seen = [0] * self.depth
        self._offset = 0
        self._handles: list = []
        self._fused: list = []

    def __enter__(self) -> "AttentionCapture":
        for mod in self.mods:
            self._fused.append(getattr(mod, "fused_attn", None))
            if hasattr(mod, "fused_attn"):
                mod.fused_attn = False  # the fused kernel never materialises the softmax map
        for layer, mod in enumerate(self.mods):
            self._handles.append(mod.attn_drop.register_forward_hook(self._hook(layer)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        for mod, fused in zip(self.mods, self._fused):
            if fused is not None:
                mod.fused_attn = fused
        self._handles, self._fused = [], []

    def begin_batch(self, offset: int, size: int) -> None:
        self._offset = offset
        self._batch = size
        self._seen = [0] * self.depth

    def end_batch(self) -> None:
        if self._seen != [1] * self.depth:
            raise RuntimeError(
                f"attention capture saw {self._seen} maps for {self.depth} blocks (expected one each): "
                "this model's attention does not run through attn_drop"
            )
        self.images += self._batch

    def _hook(self, layer: int) -> Callable:
        def hook(_mod, inputs, _output):
            attn = inputs[0].detach()  # [B, H, N, N], softmax rows
            self._seen[layer] += 1
            if self._dist is None:
                self._dist = patch_distances(self.geo.grid, self.geo.patch_size, torch.float32, attn.device)
            mad = mean_attention_distance(
                attn.float(), self.geo.grid, self.geo.patch_size, self.geo.num_prefix_tokens, self._dist
            ).sum(dim=0).double().cpu()
            self.mad_sum[layer] = mad if self.mad_sum[layer] is None else self.mad_sum[layer] + mad
            k = min(self.rollout_images - self._offset, attn.shape[0])
            if k > 0:
                self._rollout(layer, attn[:k].float().mean(dim=1))

        return hook

    def _rollout(self, layer: int, head_mean: torch.Tensor) -> None:
        start = self._offset
        k = head_mean.shape[0]
        if self._joint is None:
            n = head_mean.shape[-1]
            self._joint = torch.eye(n, dtype=torch.float64).repeat(self.rollout_images, 1, 1)
        cur = self._joint[start:start + k]  # identity before layer 0; layers arrive in order
        self._joint[start:start + k] = rollout_step(cur.to(head_mean.device), head_mean.double()).cpu()

    def mad_px(self) -> list[list[float]]:
        """[layer][head] mean over all images seen."""
        return [(m / self.images).tolist() for m in self.mad_sum]

    def rollout_masks(self) -> list[torch.Tensor]:
        if self._joint is None:
            return []
        n = min(self.rollout_images, self.images)
        return [rollout_mask(self._joint[i], self.geo) for i in range(n)]


def summarize(mad_px: list[list[float]], uniform_px: float) -> str:
    """One line reading the distance plot from the numbers: spread of the first and last layer."""
    if not mad_px:
        return ""

    def layer_text(i: int) -> str:
        vals = mad_px[i]
        lo, hi = min(vals), max(vals)
        if lo > 0.8 * uniform_px:  # every head attends (nearly) as widely as uniform attention: global
            return f"layer {i + 1}: all heads > {math.floor(lo)} px"
        return f"layer {i + 1}: heads span {lo:.0f}–{hi:.0f} px"

    parts = [layer_text(0)]
    if len(mad_px) > 1:
        parts.append(layer_text(len(mad_px) - 1))
    flat = max(max(r) for r in mad_px) - min(min(r) for r in mad_px)
    text = "; ".join(parts) + f"; uniform attention: {uniform_px:.0f} px"
    if flat < 0.1 * uniform_px:
        text += "; every head near uniform at every layer — what untrained weights look like"
    return text
