"""The structural pass: one meta-device forward under the recorder -> card, params, MACs, shapes.

Everything comes from that single recording plus the module tree, so no weights are allocated
(a ViT-22B-sized config profiles on a laptop) and every number is computed, never looked up.
Shapes are recorded at batch 1 and rendered with a symbolic batch ``B``.
"""

from __future__ import annotations

import difflib
import re
from collections import OrderedDict
from typing import Callable, Optional

import torch

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.recorder import COUNTED, NOT_COUNTED, Recording, record
from vitnotes.analysis.report import (
    Card, HeadMatrices, MacRow, Macs, ParamRow, Params, Report, ScalePoint, ShapeRow, Shapes,
    StageRow, TraceRow,
)
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.errors import ModelError, first_line

Progress = Optional[Callable[[str], None]]

# The ViT paper (Dosovitskiy et al. 2021), Table 1: (layers, hidden D, MLP size, heads) -> row.
VIT_TABLE1 = {
    (12, 768, 3072, 12): {"name": "ViT-Base", "layers": 12, "hidden": 768, "mlp": 3072, "heads": 12, "params": "86M"},
    (24, 1024, 4096, 16): {"name": "ViT-Large", "layers": 24, "hidden": 1024, "mlp": 4096, "heads": 16, "params": "307M"},
    (32, 1280, 5120, 16): {"name": "ViT-Huge", "layers": 32, "hidden": 1280, "mlp": 5120, "heads": 16, "params": "632M"},
}

_SHAPE_OPS = {"view", "_unsafe_view", "t", "transpose", "permute", "expand", "unbind", "select",
              "slice", "clone", "cat", "split", "split_with_sizes", "as_strided", "as_strided_",
              "reshape", "contiguous", "squeeze", "unsqueeze", "detach", "alias", "empty", "copy_",
              "_to_copy", "lift_fresh", "stack", "chunk", "flatten", "new_empty", "zeros", "arange",
              "constant_pad_nd", "roll", "index", "lift_fresh_copy", "full", "fill_", "zero_",
              "unflatten", "pad", "_reshape_alias"}

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


def sym(shape, shape2=None) -> str:
    """Batch-1 shape -> symbolic: ``(1, 197, 768)`` -> ``B×197×768``.

    ``shape2`` is the same tensor at batch 2: a dim that doubled carries the batch, so windowed
    or head-folded batches read ``B·64×49×288`` instead of a misleading ``64×49×288``.
    """
    if shape is None:
        return "—"
    if shape2 is not None and len(shape2) == len(shape):
        dims = [("B" if a == 1 else f"B·{a}") if b == 2 * a and a else str(a) for a, b in zip(shape, shape2)]
    else:
        dims = [str(d) for d in shape]
        if dims and dims[0] == "1" and len(dims) > 1:
            dims[0] = "B"
    return "×".join(dims) if dims else "scalar"


class Symbolic:
    """Symbolic-batch strings for module inputs/outputs and trace ops, from the batch-1 recording
    and a second, shape-only batch-2 meta forward (free on meta; used only to find batch dims)."""

    def __init__(self, rec: Recording, rec2: Optional[Recording]):
        self.rec, self.rec2 = rec, rec2
        self.pairs: dict[int, int] = {}  # op index at batch 1 -> same op at batch 2
        if rec2 is not None:
            # Batch 2 can add or drop copies (contiguity differs), so align the two op sequences.
            keys1 = [(o.module, o.op) for o in rec.ops]
            keys2 = [(o.module, o.op) for o in rec2.ops]
            for blk in difflib.SequenceMatcher(None, keys1, keys2, autojunk=False).get_matching_blocks():
                self.pairs.update({blk.a + k: blk.b + k for k in range(blk.size)})

    def _pair(self, table: str, name: str) -> str:
        one = _first(getattr(self.rec, table).get(name))
        two = _first(getattr(self.rec2, table).get(name)) if self.rec2 is not None else None
        return sym(one, two) if one is not None else "—"

    def out(self, name: str) -> str:
        return self._pair("module_outputs", name)

    def inp(self, name: str) -> str:
        return self._pair("module_inputs", name)

    def trace(self) -> list[TraceRow]:
        rows = []
        for i, o in enumerate(self.rec.ops):
            o2 = self.rec2.ops[self.pairs[i]] if i in self.pairs else None
            ins = [sym(a, o2.inputs[j] if o2 and j < len(o2.inputs) else None) for j, a in enumerate(o.inputs)]
            rows.append(TraceRow(module=o.module, op=o.op.replace(".default", ""), inputs=ins,
                                 output=sym(o.output, o2.output if o2 else None), macs=o.macs))
        return rows


def _first(shapes) -> Optional[tuple]:
    return shapes[0] if shapes else None


def profile_structure(req: AnalysisRequest, progress: Progress = None) -> Report:
    """The structural sections of a Report for ``req`` (no weights, no images)."""
    say = progress or (lambda msg: None)
    say(f"building {req.model} on the meta device")
    model = build_model(req.model, req.img_size, req.model_kwargs, device="meta")
    chw = input_size(model)
    say(f"tracing one forward of {req.model} at {chw[1]}×{chw[2]}")
    try:
        rec = record(model, torch.empty(1, *chw, device="meta"))
        rec2 = record(model, torch.empty(2, *chw, device="meta"))  # shapes only: which dims are batch
    except Exception:  # an op without a meta kernel, or a data-dependent shape: use real tensors
        say(f"{req.model} cannot run on the meta device; tracing on CPU with real tensors")
        model = build_model(req.model, req.img_size, req.model_kwargs, device="cpu")
        try:
            rec = record(model, torch.zeros(1, *chw))
        except Exception as exc:
            first = first_line(exc)
            raise ModelError(f"{req.model} fails in a forward at {chw[1]}×{chw[2]}: {first}",
                             "check img_size and model_kwargs") from None
        rec2 = None
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}

    card = make_card(req.model, model, rec, chw)
    params = make_params(model, card)
    macs = make_macs(rec, kinds)
    shapes = make_shapes(model, rec, Symbolic(rec, rec2), card, chw)
    scaling: list = []
    if "flops" in req.sections and req.scaling_sizes:
        scaling = make_scaling(req, model, card, say, rec)
    if req.flops_backend == "fvcore":
        from vitnotes.analysis.fvcore_backend import fvcore_macs

        say("cross-checking MACs with fvcore on a real CPU tensor")
        total, by_op = fvcore_macs(req)
        macs.dispatch_total = macs.total
        macs.total = total
        macs.backend = "fvcore"
        macs.by_op = [MacRow(k, v) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])]
    return Report(
        model=req.model, card=card, params=params, macs=macs, shapes=shapes,
        img_size=req.img_size, model_kwargs=dict(req.model_kwargs), versions=versions(req),
        scaling=scaling,
    )


def versions(req: AnalysisRequest) -> dict[str, str]:
    import timm

    import vitnotes

    out = {"torch": torch.__version__, "timm": timm.__version__, "vitnotes": vitnotes.__version__}
    if req.flops_backend == "fvcore":
        import importlib.metadata as md

        out["fvcore"] = md.version("fvcore")
    return out


# ---------------------------------------------------------------- card


def _vit_blocks(model) -> Optional[list]:
    """The plain-ViT block list (blocks with .attn.num_heads and .mlp.fc1), else None."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, (torch.nn.Sequential, torch.nn.ModuleList)) or len(blocks) == 0:
        return None
    attn = getattr(blocks[0], "attn", None)
    if attn is None or not hasattr(attn, "num_heads"):
        return None
    return list(blocks)


def _pair(v) -> list[int]:
    return [int(x) for x in v] if isinstance(v, (tuple, list)) else [int(v), int(v)]


_SEQ = (torch.nn.Sequential, torch.nn.ModuleList)


def _nested_blocks(model) -> bool:
    """True when ``model.blocks`` is a list of stages, each a list of blocks (EfficientNet, MobileNet)."""
    blocks = getattr(model, "blocks", None)
    return isinstance(blocks, _SEQ) and len(blocks) > 0 and all(isinstance(b, _SEQ) for b in blocks)


def _count_blocks(model) -> Optional[int]:
    blocks = getattr(model, "blocks", None)
    if _nested_blocks(model):
        return sum(len(stage) for stage in blocks)
    if isinstance(blocks, _SEQ):
        return len(blocks)
    pat = re.compile(r"^(?:(?:stages|layers)\.\d+\.blocks\.\d+|layer\d+\.\d+)$")
    n = sum(1 for name, _ in model.named_modules() if pat.match(name))
    return n or None


def make_card(name: str, model, rec: Recording, chw) -> Card:
    card = Card(model=name, family=type(model).__name__, img_size=[chw[1], chw[2]], in_chans=chw[0])
    pe = getattr(model, "patch_embed", None)
    if pe is not None and getattr(pe, "patch_size", None) is not None:
        card.patch_size = _pair(pe.patch_size)[0]
        grid = rec.module_outputs.get("patch_embed.proj")
        if grid and grid[0] is not None and len(grid[0]) == 4:  # conv output B×D×rows×cols
            card.grid = [int(grid[0][2]), int(grid[0][3])]
        elif getattr(pe, "grid_size", None) is not None:
            card.grid = _pair(pe.grid_size)
        if card.grid:
            card.num_patches = card.grid[0] * card.grid[1]
    card.depth = _count_blocks(model)
    blocks = _vit_blocks(model)
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
    card.pos_embed, card.pos_embed_shape = _pos_embed(model)
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


def _mlp_hidden(mlp) -> Optional[int]:
    """The MLP's hidden width: what fc2 reads. A gated MLP (timm's GluMlp/SwiGLU in EVA-02) makes
    fc1 twice as wide and multiplies the halves, so fc1's width would overstate it 2×."""
    fc2 = getattr(mlp, "fc2", None) if mlp is not None else None
    if isinstance(fc2, torch.nn.Linear):
        return int(fc2.in_features)
    fc1 = getattr(mlp, "fc1", None) if mlp is not None else None
    return int(fc1.out_features) if isinstance(fc1, torch.nn.Linear) else None


def _pos_embed(model) -> tuple[str, Optional[list[int]]]:
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
    return "none (convolutions carry position)" if pos is None else "none", None


def _pooling(model) -> Optional[str]:
    gp = getattr(model, "global_pool", None)
    if gp is None:
        gp = getattr(getattr(model, "head", None), "global_pool", None)
    if isinstance(gp, str):
        return gp or "none"
    pool_type = getattr(gp, "pool_type", None)
    return pool_type if isinstance(pool_type, str) else None


# ---------------------------------------------------------------- params


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
        if g == "blocks" and _vit_blocks(model) is None:
            label = "blocks"  # EfficientNet, MobileNet: not transformer blocks
        if g == "blocks" and _nested_blocks(model):
            label = f"{len(container)} stages, {_count_blocks(model)} blocks"
        elif isinstance(container, (torch.nn.Sequential, torch.nn.ModuleList)) and g in ("blocks", "layers", "stages"):
            label = f"{len(container)} × {label[:-1] if label.endswith('s') else label}"
        rows.append(ParamRow(name=g, label=label, count=sum(p.numel() for p in ps),
                             shapes=[list(p.shape) for p in ps] if len(ps) <= 4 else []))
    block_rows = []
    block_prefix = _first_block(model)
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


def _first_block(model) -> Optional[str]:
    if _nested_blocks(model):
        return "blocks.0.0"
    for name, _ in model.named_modules():
        if re.fullmatch(r"(?:blocks\.0|(?:stages|layers)\.0\.blocks\.0|layer1\.0)", name):
            return name
    return None


def _head_matrices(model, card: Card) -> Optional[HeadMatrices]:
    blocks = _vit_blocks(model)
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


# ---------------------------------------------------------------- MACs


def _group_of(module: str) -> str:
    if not module:
        return "(model)"
    parts = module.split(".")
    if parts[0] != "blocks" and len(parts) > 1 and parts[1].isdigit():
        return ".".join(parts[:2])
    return parts[0]


def _role(module: str, kinds: dict[str, str]) -> Optional[str]:
    """'attention' or 'mlp' when the op ran inside such a module (by class name), else None."""
    parts = module.split(".") if module else []
    for i in range(len(parts), 0, -1):
        cls = kinds.get(".".join(parts[:i]), "")
        if "Attention" in cls:
            return "attention"
        if "Mlp" in cls or cls in ("FeedForward", "SwiGLU", "GluMlp"):
            return "mlp"
    return None


def make_macs(rec: Recording, kinds: dict[str, str]) -> Macs:
    total = rec.total_macs
    by_group: "OrderedDict[str, int]" = OrderedDict()
    by_op: dict[str, int] = {}
    roles = {"attention": 0, "mlp": 0}
    seen_uncounted = set()
    for op in rec.ops:
        if op.macs:
            by_group[_group_of(op.module)] = by_group.get(_group_of(op.module), 0) + op.macs
            by_op[op.kind] = by_op.get(op.kind, 0) + op.macs
            role = _role(op.module, kinds)
            if role:
                roles[role] += op.macs
        else:
            name = op.op.split(".")[1] if op.op.count(".") >= 1 else op.op
            if name not in _SHAPE_OPS:
                seen_uncounted.add(name)
    return Macs(
        total=total,
        counted=list(COUNTED),
        not_counted=list(NOT_COUNTED) + ([f"seen in this model, 0 MACs: {', '.join(sorted(seen_uncounted))}"]
                                         if seen_uncounted else []),
        by_group=[MacRow(k, v) for k, v in by_group.items()],
        by_op=[MacRow(k, v) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])],
        attention_share=(roles["attention"] / total) if total and roles["attention"] else None,
        mlp_share=(roles["mlp"] / total) if total and roles["mlp"] else None,
        activations=rec.activations,
    )


# ---------------------------------------------------------------- shapes


def make_shapes(model, rec: Recording, symb: Symbolic, card: Card, chw) -> Shapes:
    image = ShapeRow("image", sym((1, *chw)), "", f"{chw[0]} channels, {chw[1]}×{chw[2]} px")
    if _vit_blocks(model) is not None and card.num_patches:
        stages, block = _vit_shapes(model, rec, symb, card, image)
    else:
        stages, block = _generic_shapes(model, rec, symb, image)
    return Shapes(stages=stages, block=block, hierarchy=_hierarchy(model, rec, chw), trace=symb.trace())


def _out(rec: Recording, name: str) -> Optional[tuple]:
    return _first(rec.module_outputs.get(name))


def _vit_shapes(model, rec: Recording, S: Symbolic, card: Card, image: ShapeRow) -> tuple[list, list]:
    p, n, d, h, dk = card.patch_size, card.num_patches, card.embed_dim, card.num_heads, card.head_dim
    rows = [image]
    if _out(rec, "patch_embed.proj") is not None:
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
        pos_row = ShapeRow("+ position embedding", S.out("pos_drop" if _out(rec, "pos_drop") else "norm_pre"),
                           "pos_embed", f"learned {'×'.join(map(str, card.pos_embed_shape))}, added")
    if pos_row is not None and prefix_row is not None and card.pos_embed_shape[-2] == card.num_patches:
        # timm's no_embed_class (DINOv2, registers): E_pos is added to the patch tokens first,
        # the prefix tokens are concatenated after, without position.
        pos_row.shape = S.out("patch_embed")
        pos_row.note += " to the patch tokens only"
        rows.extend([pos_row, prefix_row])
    else:
        rows.extend(r for r in (prefix_row, pos_row) if r is not None)
    tokens = _out(rec, "blocks.0.norm1") or (1, card.num_tokens, d)
    nt = tokens[1] if len(tokens) == 3 else card.num_tokens
    block = _vit_block_rows(rec, S, h, dk, nt, card.mlp_hidden)
    # EVA and BEiT loop over their blocks instead of calling the container: use the last block.
    stack = "blocks" if _out(rec, "blocks") is not None else f"blocks.{card.depth - 1}"
    rows.append(ShapeRow(f"{card.depth} × transformer block", S.out(stack), "blocks",
                         f"each: norm → MHSA ({h} heads) → + → norm → MLP ({card.mlp_hidden}) → +"))
    rows.extend(ShapeRow(f"block: {r.stage}", r.shape, r.module, r.note) for r in block[1:-1])
    for name, stage in (("norm", "final norm"), ("fc_norm", "pooled feature"), ("head", "logits")):
        module = getattr(model, name, None)
        if _out(rec, name) is None or (isinstance(module, torch.nn.Identity) and name != "fc_norm"):
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

    def add(stage, module, note="", shape=None):
        full = f"{b}.{module}" if module else b
        shape = shape if shape is not None else (S.out(full) if _out(rec, full) is not None else None)
        if shape is not None:
            rows.append(ShapeRow(stage, shape, full, note))

    add("block input", "", "", S.inp(b))
    add("norm1", "norm1", "LayerNorm")
    add("qkv", "attn.qkv", f"one Linear for Q, K, V: 3 × {h} × {dk}")
    per_head = f"B×{h}×{n}×{dk}"
    for letter in ("Q", "K", "V"):
        rows.append(ShapeRow(f"{letter} per head", per_head, f"{b}.attn", f"{h} heads of d_k = {dk}"))
    rows.append(ShapeRow("attention matrix softmax(QKᵀ/√d_k)", f"B×{h}×{n}×{n}", f"{b}.attn",
                         f"{n}×{n} per head: the N² term"))
    rows.append(ShapeRow("A·V", per_head, f"{b}.attn", "weighted sum of values"))
    rows.append(ShapeRow("heads merged", f"B×{n}×{h * dk}", f"{b}.attn", "concatenate heads"))
    add("attention output (proj)", "attn.proj", "W^O, then residual add")
    add("norm2", "norm2", "LayerNorm")
    fc1 = _first(rec.module_outputs.get(f"{b}.mlp.fc1"))
    if hidden and fc1 is not None and fc1[-1] == 2 * hidden:  # gated (GluMlp): two halves
        add("MLP hidden", "mlp.fc1", f"Linear → 2 × {hidden}, gate: {_act_name(rec, b)}(one half) ⊙ other half → {hidden}")
    elif hidden:
        add("MLP hidden", "mlp.fc1", f"Linear → {hidden}, then {_act_name(rec, b)}")
    add("MLP output", "mlp.fc2", "Linear back to D, then residual add")
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
    first = _first_block(model)
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


def _stage_names(model) -> list[str]:
    for container in ("stages", "layers"):
        c = getattr(model, container, None)
        if isinstance(c, (torch.nn.Sequential, torch.nn.ModuleList)) and len(c) > 1:
            return [f"{container}.{i}" for i in range(len(c))]
    if _nested_blocks(model):
        return [f"blocks.{i}" for i in range(len(model.blocks))]
    names = [n for n, _ in model.named_children() if re.fullmatch(r"layer\d+", n)]
    return names if len(names) > 1 else []


def _hw_c(shape, nhwc: bool) -> Optional[tuple[int, int, int]]:
    if shape is None or len(shape) != 4:
        return None
    return (shape[1], shape[2], shape[3]) if nhwc else (shape[2], shape[3], shape[1])


def _downsample(module) -> str:
    for sub in module.modules():
        cls = type(sub).__name__
        if "Merging" in cls:
            return "patch merging 2×2"
        if isinstance(sub, torch.nn.Conv2d) and _pair(sub.stride)[0] > 1:
            k = _pair(sub.kernel_size)
            return f"stride-{_pair(sub.stride)[0]} conv {k[0]}×{k[1]}"
        if isinstance(sub, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            s = sub.stride if sub.stride is not None else sub.kernel_size
            if _pair(s)[0] > 1:
                return f"stride-{_pair(s)[0]} {'max' if isinstance(sub, torch.nn.MaxPool2d) else 'avg'} pool"
    return "—"


def _hierarchy(model, rec: Recording, chw) -> list[StageRow]:
    stages = _stage_names(model)
    if not stages:
        return []
    nhwc = getattr(model, "output_fmt", "NCHW") == "NHWC"
    rows = []
    first_in = _hw_c(_first(rec.module_inputs.get(stages[0])), nhwc)
    if first_in is not None and first_in[0] != chw[1]:
        stem_mods = [model.get_submodule(n) for n, _ in model.named_children()
                     if n in rec.module_inputs and n not in stages and not stages[0].startswith(n + ".")
                     and list(rec.module_inputs).index(n) < list(rec.module_inputs).index(stages[0])]
        how = [d for d in (_downsample(m) for m in stem_mods) if d != "—"]
        rows.append(StageRow(name="stem", resolution=f"{first_in[0]}×{first_in[1]}", channels=int(first_in[2]),
                             depth=0, downsample=f"{chw[1] // first_in[0]}× ({', '.join(how) or 'stem'})"))
    for name in stages:
        out = _hw_c(_out(rec, name), nhwc)
        inp = _hw_c(_first(rec.module_inputs.get(name)), nhwc)
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


# ---------------------------------------------------------------- scaling


def _resized(model, req: AnalysisRequest, size: int):
    """The model at another input size. For timm's VisionTransformer family, its own ``set_input_size``
    (new patch grid, pos-embed resampled) resizes the meta model in place — a fraction of a rebuild,
    same MACs. Others are rebuilt: Swin's set_input_size also changes its windows, a rebuild does not."""
    from timm.models.vision_transformer import VisionTransformer

    if isinstance(model, VisionTransformer):
        model.set_input_size(img_size=size)
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
