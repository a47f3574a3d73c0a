"""Parameter counts: total, per top-level group, one block by module, and the attention matrices per head."""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import torch

from vitnotes.analysis.report import Card, HeadMatrices, ParamRow, Params
from vitnotes.analysis.topology import count_blocks, first_block, nested_blocks, vit_blocks

_GROUP_LABELS = {
    "patch_embed": "patch embedding", "cls_token": "[CLS] token", "dist_token": "distillation token",
    "reg_token": "register tokens", "pos_embed": "position embedding", "blocks": "transformer blocks",
    "norm": "final norm", "fc_norm": "pooled-feature norm", "head": "classifier head",
    "norm_pre": "pre-norm", "attn_pool": "attention pooling", "head_dist": "distillation head",
    "stem": "stem", "layers": "stages", "stages": "stages", "conv1": "stem conv", "bn1": "stem norm",
    "fc": "classifier head", "head_drop": "head dropout",
}
_BLOCK_LABELS = {
    "norm1": "norm before attention", "attn.qkv": "attention qkv (W^Q, W^K, W^V)",
    "attn.proj": "attention output (W^O)", "norm2": "norm before MLP", "mlp.fc1": "MLP fc1 (D → hidden)",
    "mlp.fc2": "MLP fc2 (hidden → D)", "ls1": "layer scale (attention)", "ls2": "layer scale (MLP)",
    "attn.q_norm": "query norm", "attn.k_norm": "key norm",
    "attn.relative_position_bias_table": "relative position bias table",
    "conv_dw": "depth-wise conv", "norm": "norm", "gamma": "layer scale",
    "gamma_1": "layer scale (attention)", "gamma_2": "layer scale (MLP)",
}


def make_params(model, card: Card) -> Params:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    groups: "OrderedDict[str, list]" = OrderedDict()
    for pname, p in model.named_parameters():
        groups.setdefault(pname.split(".")[0], []).append(p)
    rows = []
    for g, ps in groups.items():
        label = _GROUP_LABELS.get(g, g)
        container = getattr(model, g, None)
        if g == "blocks" and vit_blocks(model) is None:
            label = "blocks"  # EfficientNet, MobileNet: not transformer blocks
        if g == "blocks" and nested_blocks(model):
            label = f"{len(container)} stages, {count_blocks(model)} blocks"
        elif isinstance(container, (torch.nn.Sequential, torch.nn.ModuleList)) and g in ("blocks", "layers", "stages"):
            label = f"{len(container)} × {label[:-1] if label.endswith('s') else label}"
        rows.append(ParamRow(name=g, label=label, count=sum(p.numel() for p in ps),
                             shapes=[list(p.shape) for p in ps] if len(ps) <= 4 else []))
    block_rows = []
    block_prefix = first_block(model)
    if block_prefix is not None:
        block = model.get_submodule(block_prefix)
        owners: "OrderedDict[str, list]" = OrderedDict()
        for pname, p in block.named_parameters():
            owner = pname.rsplit(".", 1)[0] if "." in pname else pname
            owners.setdefault(owner, []).append(p)
        for owner, ps in owners.items():
            block_rows.append(ParamRow(name=f"{block_prefix}.{owner}", label=_BLOCK_LABELS.get(owner, owner),
                                       count=sum(p.numel() for p in ps), shapes=[list(p.shape) for p in ps]))
    return Params(total=total, trainable=trainable, groups=rows, block=block_rows,
                  attention=_head_matrices(model, card))


def _head_matrices(model, card: Card) -> Optional[HeadMatrices]:
    blocks = vit_blocks(model)
    if blocks is None:
        return None
    attn = blocks[0].attn
    qkv, proj = getattr(attn, "qkv", None), getattr(attn, "proj", None)
    if not isinstance(qkv, torch.nn.Linear) or not isinstance(proj, torch.nn.Linear):
        return None
    d, h = qkv.in_features, card.num_heads
    dk = card.head_dim
    # EVA and BEiT keep qkv bias-free and hold learned q_bias / v_bias (k's bias is fixed at 0)
    # on the attention module itself: they are W^Q/W^V biases all the same.
    own = [p for n, p in attn.named_parameters(recurse=False) if n in ("q_bias", "k_bias", "v_bias")]
    bias = (qkv.bias.numel() if qkv.bias is not None else 0) + sum(p.numel() for p in own)
    per_block = qkv.weight.numel() + bias + sum(p.numel() for p in proj.parameters())
    return HeadMatrices(embed_dim=d, num_heads=h, head_dim=dk, wq=[d, dk], wk=[d, dk], wv=[d, dk],
                        wo=[h * dk, proj.out_features], qkv_bias=bias > 0,
                        params_per_block=per_block, qkv_bias_params=bias)
