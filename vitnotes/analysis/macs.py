"""MACs from the recording: total, by top-level group, by op kind, attention and MLP shares."""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional

from vitnotes.analysis.recorder import COUNTED, NOT_COUNTED, Recording
from vitnotes.analysis.report import MacRow, Macs

_SHAPE_OPS = {"view", "_unsafe_view", "t", "transpose", "permute", "expand", "unbind", "select",
              "slice", "clone", "cat", "split", "split_with_sizes", "as_strided", "as_strided_",
              "reshape", "contiguous", "squeeze", "unsqueeze", "detach", "alias", "empty", "copy_",
              "_to_copy", "lift_fresh", "stack", "chunk", "flatten", "new_empty", "zeros", "arange",
              "constant_pad_nd", "roll", "index", "lift_fresh_copy", "full", "fill_", "zero_",
              "unflatten", "pad", "_reshape_alias"}


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
