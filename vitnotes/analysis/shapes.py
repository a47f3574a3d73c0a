"""Shapes: the stage sequence (image → … → logits), one block op by op, the stage hierarchy, the op trace."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import torch

from vitnotes.analysis.recorder import Recording
from vitnotes.analysis.report import Card, ShapeRow, Shapes, StageRow
from vitnotes.analysis.symbolic import Symbolic, first, sym
from vitnotes.analysis.topology import first_block, pair, stage_names, vit_blocks
from vitnotes.analysis.windows import window_block_rows


def make_shapes(model, rec: Recording, symb: Symbolic, card: Card, chw) -> Shapes:
    image = ShapeRow("image", sym((1, *chw)), "", f"{chw[0]} channels, {chw[1]}×{chw[2]} px")
    if vit_blocks(model) is not None and card.num_patches:
        stages, block = _vit_shapes(model, rec, symb, card, image)
    else:
        stages, block = _generic_shapes(model, rec, symb, image)
        block = window_block_rows(model, rec, symb) or block  # Swin: partition, (shifted) windows, reverse
    return Shapes(stages=stages, block=block, hierarchy=_hierarchy(model, rec, chw), trace=symb.trace())


def out_shape(rec: Recording, name: str) -> Optional[tuple]:
    return first(rec.module_outputs.get(name))


def _vit_shapes(model, rec: Recording, S: Symbolic, card: Card, image: ShapeRow) -> tuple[list, list]:
    p, n, d, h, dk = card.patch_size, card.num_patches, card.embed_dim, card.num_heads, card.head_dim
    rows = [image]
    if out_shape(rec, "patch_embed.proj") is not None:
        rows.append(ShapeRow("patch projection", S.out("patch_embed.proj"), "patch_embed.proj",
                             f"conv {p}×{p}, stride {p}: {n} patches of {p}×{p} px"))
    rows.append(ShapeRow("patch tokens", S.out("patch_embed"), "patch_embed",
                         f"{n} tokens of {d}"))
    cat = next((r for r in S.trace() if r.module == "" and r.op.startswith("aten.cat")), None)
    prefix_row = None
    if card.num_prefix_tokens and cat is not None:
        prefix_row = ShapeRow("with prefix tokens", cat.output, "",
                              f"{' + '.join(card.prefix_tokens)} prepended: {card.num_tokens} tokens")
    pos_row = None
    if card.pos_embed_shape:
        pos_row = ShapeRow("+ position embedding", S.out("pos_drop" if out_shape(rec, "pos_drop") else "norm_pre"),
                           "pos_embed", f"learned {'×'.join(map(str, card.pos_embed_shape))}, added")
    if pos_row is not None and prefix_row is not None and card.pos_embed_shape[-2] == card.num_patches:
        # timm's no_embed_class (DINOv2, registers): E_pos is added to the patch tokens first,
        # the prefix tokens are concatenated after, without position.
        pos_row.shape = S.out("patch_embed")
        pos_row.note += " to the patch tokens only"
        rows.extend([pos_row, prefix_row])
    else:
        rows.extend(r for r in (prefix_row, pos_row) if r is not None)
    tokens = out_shape(rec, "blocks.0.norm1") or (1, card.num_tokens, d)
    nt = tokens[1] if len(tokens) == 3 else card.num_tokens
    block = _vit_block_rows(rec, S, h, dk, nt, card.mlp_hidden)
    # EVA and BEiT loop over their blocks instead of calling the container: use the last block.
    stack = "blocks" if out_shape(rec, "blocks") is not None else f"blocks.{card.depth - 1}"
    rows.append(ShapeRow(f"{card.depth} × transformer block", S.out(stack), "blocks",
                         f"each: norm → MHSA ({h} heads) → + → norm → MLP ({card.mlp_hidden}) → +"))
    rows.extend(replace(r, in_block=True) for r in block[1:-1])
    for name, stage in (("norm", "final norm"), ("fc_norm", "pooled feature"), ("head", "logits")):
        module = getattr(model, name, None)
        if out_shape(rec, name) is None or (isinstance(module, torch.nn.Identity) and name != "fc_norm"):
            continue  # an Identity norm (avg-pool ViTs norm after pooling) or head (num_classes=0)
        if name == "fc_norm":
            pool = card.pooling
            note = {"token": "[CLS] token's output", "avg": "mean over patch tokens",
                    "map": "attention pooling"}.get(pool or "", pool or "")
            if not isinstance(module, torch.nn.Identity):
                note += ", then LayerNorm" if pool == "avg" else ""
        elif name == "head":
            note = card.classifier or ""
            if getattr(model, "head_dist", None) is not None:
                note += "; logits = mean of head([CLS]) and head_dist([DIST])"
        else:
            note = ""
        rows.append(ShapeRow(stage, S.out(name), name, note))
    return rows, block


def _vit_block_rows(rec: Recording, S: Symbolic, h: int, dk: int, n: int,
                    hidden: Optional[int]) -> list[ShapeRow]:
    b = "blocks.0"
    rows = []

    def add(stage, module, note="", shape=None, residual=False):
        full = f"{b}.{module}" if module else b
        shape = shape if shape is not None else (S.out(full) if out_shape(rec, full) is not None else None)
        if shape is not None:
            rows.append(ShapeRow(stage, shape, full, note, residual=residual))

    add("block input", "", "", S.inp(b))
    add("norm1", "norm1", "LayerNorm")
    add("qkv", "attn.qkv", f"Q, K, V in one Linear: 3 × {h} × {dk}")
    per_head = f"B×{h}×{n}×{dk}"
    for letter in ("Q", "K", "V"):
        rows.append(ShapeRow(f"{letter} per head", per_head, f"{b}.attn", f"{h} heads of d_k = {dk}"))
    rows.append(ShapeRow("attention matrix softmax(QKᵀ/√d_k)", f"B×{h}×{n}×{n}", f"{b}.attn",
                         f"{n}×{n} per head: the N² term"))
    rows.append(ShapeRow("A·V", per_head, f"{b}.attn", "weighted sum of values"))
    rows.append(ShapeRow("heads merged", f"B×{n}×{h * dk}", f"{b}.attn", "concatenate heads"))
    add("attention output (proj)", "attn.proj", "W^O, then residual add", residual=True)
    add("norm2", "norm2", "LayerNorm")
    fc1 = first(rec.module_outputs.get(f"{b}.mlp.fc1"))
    if hidden and fc1 is not None and fc1[-1] == 2 * hidden:  # gated (GluMlp): two halves
        add("MLP hidden", "mlp.fc1", f"Linear → 2 × {hidden}, gate: {_act_name(rec, b)}(one half) ⊙ other half → {hidden}")
    elif hidden:
        add("MLP hidden", "mlp.fc1", f"Linear → {hidden}, then {_act_name(rec, b)}")
    add("MLP output", "mlp.fc2", "Linear back to D, then residual add", residual=True)
    add("block output", "", "", S.out(b))
    return rows


def _act_name(rec: Recording, block: str) -> str:
    for o in rec.ops:
        if o.module == f"{block}.mlp.act":
            return o.op.split(".")[1].upper()
    return "activation"


_SKIP_CLASSES = ("Identity", "Dropout", "DropPath", "Flatten")


_OPENED = ("stages", "layers", "head")  # containers shown child by child


def _generic_shapes(model, rec: Recording, S: Symbolic, image: ShapeRow) -> tuple[list, list]:
    """Image → each top-level module (stage lists and the head opened one level) → logits."""
    rows = [image]
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}
    for name in rec.module_inputs:
        parts = name.split(".") if name else []
        if not parts or (len(parts) == 1 and parts[0] in _OPENED):
            continue
        if len(parts) > 2 or (len(parts) == 2 and parts[0] not in _OPENED):
            continue
        if any(k in kinds.get(name, "") for k in _SKIP_CLASSES):
            continue
        rows.append(ShapeRow(name, S.out(name), name, kinds.get(name, "")))
    first = first_block(model)
    block = []
    if first is not None:
        block.append(ShapeRow("block input", S.inp(first), first))
        for name in rec.module_inputs:
            if name.startswith(first + ".") and not any(k in kinds.get(name, "") for k in _SKIP_CLASSES):
                sub = model.get_submodule(name)
                if len(list(sub.children())) == 0:
                    block.append(ShapeRow(name[len(first) + 1:], S.out(name), name, kinds[name]))
        block.append(ShapeRow("block output", S.out(first), first))
    return rows, block


def _hw_c(shape, nhwc: bool) -> Optional[tuple[int, int, int]]:
    if shape is None or len(shape) != 4:
        return None
    return (shape[1], shape[2], shape[3]) if nhwc else (shape[2], shape[3], shape[1])


def _downsample(module) -> str:
    for sub in module.modules():
        cls = type(sub).__name__
        if "Merging" in cls:
            return "patch merging 2×2"
        if isinstance(sub, torch.nn.Conv2d) and pair(sub.stride)[0] > 1:
            k = pair(sub.kernel_size)
            return f"stride-{pair(sub.stride)[0]} conv {k[0]}×{k[1]}"
        if isinstance(sub, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            s = sub.stride if sub.stride is not None else sub.kernel_size
            if pair(s)[0] > 1:
                return f"stride-{pair(s)[0]} {'max' if isinstance(sub, torch.nn.MaxPool2d) else 'avg'} pool"
    return "—"


def _hierarchy(model, rec: Recording, chw) -> list[StageRow]:
    stages = stage_names(model)
    if not stages:
        return []
    nhwc = getattr(model, "output_fmt", "NCHW") == "NHWC"
    rows = []
    first_in = _hw_c(first(rec.module_inputs.get(stages[0])), nhwc)
    if first_in is not None and first_in[0] != chw[1]:
        stem_mods = [model.get_submodule(n) for n, _ in model.named_children()
                     if n in rec.module_inputs and n not in stages and not stages[0].startswith(n + ".")
                     and list(rec.module_inputs).index(n) < list(rec.module_inputs).index(stages[0])]
        how = [d for d in (_downsample(m) for m in stem_mods) if d != "—"]
        rows.append(StageRow(name="stem", resolution=f"{first_in[0]}×{first_in[1]}", channels=int(first_in[2]),
                             depth=0, downsample=f"{chw[1] // first_in[0]}× ({', '.join(how) or 'stem'})"))
    for name in stages:
        out = _hw_c(out_shape(rec, name), nhwc)
        inp = _hw_c(first(rec.module_inputs.get(name)), nhwc)
        if out is None:
            continue
        stage = model.get_submodule(name)
        blocks = getattr(stage, "blocks", stage)
        depth = len(blocks) if isinstance(blocks, (torch.nn.Sequential, torch.nn.ModuleList)) else 1
        down = "—"
        if inp is not None and out[0] < inp[0]:
            down = f"{inp[0] // out[0]}× ({_downsample(stage)})"
        rows.append(StageRow(name=name, resolution=f"{out[0]}×{out[1]}", channels=int(out[2]),
                             depth=depth, downsample=down))
    return rows
