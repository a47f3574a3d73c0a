"""Where a timm model keeps its blocks and stages (ViT block lists, nested CNN stages, ResNet layers)."""

from __future__ import annotations

import re
from typing import Optional

import torch


def vit_blocks(model) -> Optional[list]:
    """The plain-ViT block list (blocks with .attn.num_heads and .mlp.fc1), else None."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, (torch.nn.Sequential, torch.nn.ModuleList)) or len(blocks) == 0:
        return None
    attn = getattr(blocks[0], "attn", None)
    if attn is None or not hasattr(attn, "num_heads"):
        return None
    return list(blocks)


def pair(v) -> list[int]:
    return [int(x) for x in v] if isinstance(v, (tuple, list)) else [int(v), int(v)]


SEQ = (torch.nn.Sequential, torch.nn.ModuleList)


def nested_blocks(model) -> bool:
    """True when ``model.blocks`` is a list of stages, each a list of blocks (EfficientNet, MobileNet)."""
    blocks = getattr(model, "blocks", None)
    return isinstance(blocks, SEQ) and len(blocks) > 0 and all(isinstance(b, SEQ) for b in blocks)


def count_blocks(model) -> Optional[int]:
    blocks = getattr(model, "blocks", None)
    if nested_blocks(model):
        return sum(len(stage) for stage in blocks)
    if isinstance(blocks, SEQ):
        return len(blocks)
    pat = re.compile(r"^(?:(?:stages|layers)\.\d+\.blocks\.\d+|layer\d+\.\d+)$")
    n = sum(1 for name, _ in model.named_modules() if pat.match(name))
    return n or None


def first_block(model) -> Optional[str]:
    if nested_blocks(model):
        return "blocks.0.0"
    for name, _ in model.named_modules():
        if re.fullmatch(r"(?:blocks\.0|(?:stages|layers)\.0\.blocks\.0|layer1\.0)", name):
            return name
    return None


def stage_names(model) -> list[str]:
    for container in ("stages", "layers"):
        c = getattr(model, container, None)
        if isinstance(c, (torch.nn.Sequential, torch.nn.ModuleList)) and len(c) > 1:
            return [f"{container}.{i}" for i in range(len(c))]
    if nested_blocks(model):
        return [f"blocks.{i}" for i in range(len(model.blocks))]
    names = [n for n, _ in model.named_children() if re.fullmatch(r"layer\d+", n)]
    return names if len(names) > 1 else []
