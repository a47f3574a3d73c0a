"""The paper's symbols (H, W, P, N, D, L, h, d_k, …) for a Report's model, shared by the section views."""

from __future__ import annotations

import math
from typing import Any

from vitnotes.analysis.report import Report


def dims(report: Report) -> dict[str, Any]:
    """The paper's symbols for this model; None where the model has no such thing."""
    c = report.card
    hw = c.img_size or [None, None]
    prefix = c.num_prefix_tokens or 0
    d = {
        "H": hw[0], "W": hw[-1], "C": c.in_chans, "P": c.patch_size, "grid": c.grid,
        "N": c.num_patches, "T": c.num_tokens, "k": prefix, "D": c.embed_dim, "L": c.depth,
        "h": c.num_heads, "dk": c.head_dim, "mlp": c.mlp_hidden, "K": c.num_classes,
    }
    d["PPC"] = c.patch_size * c.patch_size * c.in_chans if c.patch_size else None
    d["sqrt_dk"] = sqrt_text(c.head_dim) if c.head_dim else None
    d["N_sym"] = {0: "N", 1: "(N+1)"}.get(prefix, f"(N+{prefix})")
    pos = c.pos_embed_shape
    d["pos_rows"] = pos[-2] if pos and len(pos) >= 2 else None
    # E_pos covers the prefix tokens in the paper; some timm models (no_embed_class) add it to patches only.
    d["pos_sym"] = "N" if d["pos_rows"] is not None and d["pos_rows"] == c.num_patches else d["N_sym"]
    return d


def sqrt_text(n: int) -> str:
    root = math.isqrt(n)
    return str(root) if root * root == n else f"{math.sqrt(n):.3f}"


def is_vit_like(report: Report) -> bool:
    c = report.card
    return bool(c.patch_size and c.embed_dim and c.num_heads and c.depth and c.num_patches)


def why_not_vit(report: Report, section: str = "equations") -> str:
    if report.unavailable.get(section):
        return f"Not computed for `{report.model}`: {report.unavailable[section]}"
    return (f"`{report.model}` ({report.card.family}) is not a plain ViT "
            "(no single patch size, width, head count and depth), so this section does not apply.")
