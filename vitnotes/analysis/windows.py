"""Swin-style window attention, step by step: the rows of one W-MSA block and the SW-MSA block after it.

timm's ``SwinTransformerBlock`` (and SwinV2's) keeps its settings as attributes: ``window_size``,
``shift_size``, ``attn.num_heads``. The shapes come from the recorded forward (``attn``'s input is the
partitioned windows, ``B·nW × ws² × C``); the steps between (cyclic shift, window partition, window
reverse, reverse shift) are the block's own code (``_attn``), named as in the Swin paper (§3.2).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from vitnotes.analysis.recorder import Recording
from vitnotes.analysis.report import ShapeRow
from vitnotes.analysis.topology import pair

_BLOCK = re.compile(r"^(?:layers|stages)\.0\.blocks\.(\d+)$")



def window_blocks(model) -> list[tuple[str, Any]]:
    """The first stage's blocks that attend within windows, in order (Swin: W-MSA, SW-MSA, …)."""
    out = []
    for name, m in model.named_modules():
        if _BLOCK.match(name) and hasattr(m, "window_size") and hasattr(m, "shift_size") \
                and hasattr(getattr(m, "attn", None), "num_heads"):
            out.append((name, m))
    return out


def _hw_c(shape) -> Optional[tuple[int, int, int]]:
    return (shape[1], shape[2], shape[3]) if shape is not None and len(shape) == 4 else None


def _block_rows(name: str, block, rec: Recording, S, shifted: bool) -> list[ShapeRow]:
    ws, ss = pair(block.window_size), pair(block.shift_size)
    h = int(block.attn.num_heads)
    first = lambda table, key: (getattr(rec, table).get(key) or [None])[0]  # noqa: E731
    hwc = _hw_c(first("module_inputs", name))
    win = first("module_inputs", f"{name}.attn")
    if hwc is None or win is None or len(win) != 3:
        return []
    H, W, C = hwc
    n_win = -(-H // ws[0]) * -(-W // ws[1])  # ceil: timm pads a map that windows do not tile
    area = ws[0] * ws[1]
    kind = "SW-MSA" if shifted else "W-MSA"
    tag = f"{kind}: "
    rows = [ShapeRow(f"{tag}block input", S.inp(name), name, f"{H}×{W} map, {C} channels (B×H×W×C)")]
    rows.append(ShapeRow(f"{tag}norm1", S.out(f"{name}.norm1"), f"{name}.norm1", "LayerNorm"))
    if shifted:
        rows.append(ShapeRow(f"{tag}cyclic shift", S.out(f"{name}.norm1"), name,
                             f"torch.roll by (−{ss[0]}, −{ss[1]}): windows straddle the previous block's borders"))
    rows.append(ShapeRow(f"{tag}window partition", S.inp(f"{name}.attn"), name,
                         f"{n_win} windows of {ws[0]}×{ws[1]} = {area} tokens"))
    qkv = first("module_outputs", f"{name}.attn.qkv")
    if qkv is not None:
        rows.append(ShapeRow(f"{tag}qkv", S.out(f"{name}.attn.qkv"), f"{name}.attn.qkv",
                             f"Q, K, V in one Linear, per window: 3 × {h} × {qkv[-1] // (3 * h)}"))
    mask = "; a mask keeps tokens from different image regions apart" if shifted else ""
    rows.append(ShapeRow(f"{tag}window attention", f"B·{n_win}×{h}×{area}×{area}", f"{name}.attn",
                         f"{h} heads, {area}×{area} per window + relative position bias{mask}"))
    rows.append(ShapeRow(f"{tag}window reverse", S.inp(name), name, f"windows back to the {H}×{W} map"))
    if shifted:
        rows.append(ShapeRow(f"{tag}reverse shift", S.inp(name), name, f"torch.roll by (+{ss[0]}, +{ss[1]}), then residual add",
                             residual=True))
    fc1 = first("module_outputs", f"{name}.mlp.fc1")
    if fc1 is not None:
        rows.append(ShapeRow(f"{tag}MLP hidden", S.out(f"{name}.mlp.fc1"), f"{name}.mlp.fc1",
                             f"norm2, Linear {C} → {fc1[-1]}, GELU"))
    rows.append(ShapeRow(f"{tag}block output", S.out(name), name, "MLP back to C, residual add", residual=True))
    return rows


def window_block_rows(model, rec: Recording, S) -> Optional[list[ShapeRow]]:
    """One W-MSA block and, when the stage has one, the SW-MSA block after it; None for other models."""
    blocks = window_blocks(model)
    if not blocks:
        return None
    rows = _block_rows(*blocks[0], rec, S, shifted=any(pair(blocks[0][1].shift_size)))
    shifted = next(((n, b) for n, b in blocks[1:] if any(pair(b.shift_size))), None)
    if shifted is not None and not any(pair(blocks[0][1].shift_size)):
        rows += _block_rows(*shifted, rec, S, shifted=True)
    return rows or None
