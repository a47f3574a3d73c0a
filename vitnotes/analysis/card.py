"""The card: family, input, patch grid, prefix tokens, ViT hyper-parameters, pos-embed, pooling, classifier."""

from __future__ import annotations

from typing import Optional

import torch

from vitnotes.analysis.recorder import Recording
from vitnotes.analysis.report import Card
from vitnotes.analysis.tokens import find_stem, position_info
from vitnotes.analysis.topology import count_blocks, pair, vit_blocks

# The ViT paper (Dosovitskiy et al. 2021), Table 1: (layers, hidden D, MLP size, heads) -> row.
VIT_TABLE1 = {
    (12, 768, 3072, 12): {"name": "ViT-Base", "layers": 12, "hidden": 768, "mlp": 3072, "heads": 12, "params": "86M"},
    (24, 1024, 4096, 16): {"name": "ViT-Large", "layers": 24, "hidden": 1024, "mlp": 4096, "heads": 16, "params": "307M"},
    (32, 1280, 5120, 16): {"name": "ViT-Huge", "layers": 32, "hidden": 1280, "mlp": 5120, "heads": 16, "params": "632M"},
}


def make_card(name: str, model, rec: Recording, chw) -> Card:
    card = Card(model=name, family=type(model).__name__, img_size=[chw[1], chw[2]], in_chans=chw[0])
    pe = getattr(model, "patch_embed", None)
    if pe is not None and getattr(pe, "patch_size", None) is not None:
        card.patch_size = pair(pe.patch_size)[0]
        grid = rec.module_outputs.get("patch_embed.proj")
        if grid and grid[0] is not None and len(grid[0]) == 4:  # conv output B×D×rows×cols
            card.grid = [int(grid[0][2]), int(grid[0][3])]
        elif getattr(pe, "grid_size", None) is not None:
            card.grid = pair(pe.grid_size)
        if card.grid:
            card.num_patches = card.grid[0] * card.grid[1]
    _apply_stem(card, model, rec)
    card.depth = count_blocks(model)
    blocks = vit_blocks(model)
    if blocks is not None:
        attn, mlp = blocks[0].attn, getattr(blocks[0], "mlp", None)
        prefix = []
        if getattr(model, "cls_token", None) is not None:
            prefix.append("cls")
        if getattr(model, "dist_token", None) is not None:
            prefix.append("dist")
        n_reg = getattr(model, "num_reg_tokens", 0) or 0
        if n_reg:
            prefix.append(f"reg×{n_reg}")
        card.prefix_tokens = prefix
        card.num_prefix_tokens = int(getattr(model, "num_prefix_tokens", 0) or 0)
        if card.num_patches is not None:
            card.num_tokens = card.num_patches + card.num_prefix_tokens
        card.embed_dim = int(model.embed_dim) if isinstance(getattr(model, "embed_dim", None), int) else None
        card.num_heads = int(attn.num_heads)
        card.head_dim = int(getattr(attn, "head_dim", 0) or (card.embed_dim // card.num_heads))
        card.mlp_hidden = _mlp_hidden(mlp)
        key = (card.depth, card.embed_dim, card.mlp_hidden, card.num_heads)
        if key in VIT_TABLE1:
            card.paper_row = dict(VIT_TABLE1[key])
    card.pos_embed, card.pos_embed_shape = position_info(model)
    card.pooling = _pooling(model)
    card.num_classes = int(getattr(model, "num_classes", 0) or 0)
    head = model.get_classifier() if hasattr(model, "get_classifier") else None
    if isinstance(head, (tuple, list)):  # distilled models: (head, head_dist)
        head = head[0] if head else None
    if isinstance(head, torch.nn.Linear):
        card.classifier = f"Linear {head.in_features} → {head.out_features}"
    elif isinstance(head, torch.nn.Conv2d):
        card.classifier = f"Conv 1×1 {head.in_channels} → {head.out_channels}"
    elif head is not None and not isinstance(head, torch.nn.Identity):
        card.classifier = type(head).__name__
    return card


def _apply_stem(card: Card, model, rec: Recording) -> None:
    """Patch size, token grid and stem from a stem that patchifies (analysis/tokens.py): MLP-Mixer's
    ``stem.proj`` and ConvNeXt's 4×4 stem have no ``patch_embed`` but cut the image into patches all the same."""
    stem = find_stem(model, rec, card.img_size)
    if stem is None:
        return
    card.stem, card.stem_module, card.token_stride = stem.describe(), stem.module, stem.token_stride
    if card.patch_size is None:
        card.patch_size = stem.stride
    if card.grid is None:
        card.grid = list(stem.grid)
        card.num_patches = stem.grid[0] * stem.grid[1]
    parent = stem.module.rsplit(".", 1)[0] if "." in stem.module else stem.module
    out = rec.module_outputs.get(parent)
    tokens = out[0] if out else None
    if vit_blocks(model) is None and tokens is not None and len(tokens) == 3 and tokens[1] == card.num_patches:
        # A token model without attention (MLP-Mixer, ResMLP): B×N×C from the stem on.
        card.num_prefix_tokens, card.num_tokens = 0, card.num_patches
        card.embed_dim = int(tokens[2])


def _mlp_hidden(mlp) -> Optional[int]:
    """The MLP's hidden width: what fc2 reads. A gated MLP (timm's GluMlp/SwiGLU in EVA-02) makes
    fc1 twice as wide and multiplies the halves, so fc1's width would overstate it 2×."""
    fc2 = getattr(mlp, "fc2", None) if mlp is not None else None
    if isinstance(fc2, torch.nn.Linear):
        return int(fc2.in_features)
    fc1 = getattr(mlp, "fc1", None) if mlp is not None else None
    return int(fc1.out_features) if isinstance(fc1, torch.nn.Linear) else None


def _pooling(model) -> Optional[str]:
    gp = getattr(model, "global_pool", None)
    if gp is None:
        gp = getattr(getattr(model, "head", None), "global_pool", None)
    if isinstance(gp, str):
        return gp or "none"
    pool_type = getattr(gp, "pool_type", None)
    return pool_type if isinstance(pool_type, str) else None
