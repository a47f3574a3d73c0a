"""A dispatch-level recorder: every aten op of one forward, with its module path, shapes and MACs.

Why hand-written when torch has FlopCounterMode: FlopCounterMode only aggregates, misses the CPU
fused-attention kernel, and counts no norms, so it lands ~4 % under timm's published figures.
This mode reuses torch.utils.flop_counter's formulas and torch.utils.module_tracker, and adds:

* ``_scaled_dot_product_flash_attention_for_cpu`` (and any SDPA variant): QKᵀ + AV;
* fvcore's norm/upsample/pool rules, so totals match timm's tables (which fvcore produced).

Convention (fvcore/timm): one multiply-add = 1 MAC; torch's formulas return FLOPs = 2 × MACs.
Counting happens at the outermost op only: the mode is popped while an op runs, and a depth guard
covers anything that re-enters, so a decomposed addmm → mm is never counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any, Callable, Optional

import torch
from torch.utils import flop_counter as _fc
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.module_tracker import ModuleTracker

aten = torch.ops.aten

def _shape(x: Any) -> Optional[tuple[int, ...]]:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else None


def _sdpa_macs(args: tuple, kwargs: dict) -> int:
    """QKᵀ + AV for any SDPA-style op with (query, key, value, ...) as its first inputs."""
    q, k, v = args[0], args[1], args[2]
    return _fc.sdpa_flop_count(q.shape, k.shape, v.shape) // 2


def _sdpa_acts(args: tuple, kwargs: dict) -> int:
    q, k, v = (tuple(a.shape) for a in args[:3])
    *b, lq, _ = q
    return prod(b) * lq * (k[-2] + v[-1])


def _norm(weight_index: int) -> Callable[[tuple, dict], int]:
    def count(args: tuple, kwargs: dict) -> int:
        w = args[weight_index] if len(args) > weight_index else None
        return args[0].numel() * (5 if w is not None else 4)
    return count


def _bn_eval(args: tuple, kwargs: dict) -> int:
    return args[0].numel() * (2 if args[1] is not None else 1)


def _bn_train_flag(training_index: int) -> Callable[[tuple, dict], int]:
    def count(args: tuple, kwargs: dict) -> int:
        training = args[training_index] if len(args) > training_index else kwargs.get("training", False)
        return _norm(1)(args, kwargs) if training else _bn_eval(args, kwargs)
    return count


def _out_elems(scale: int) -> Callable[[tuple, dict, Any], int]:
    def count(args: tuple, kwargs: dict, out: Any) -> int:
        return scale * out.numel()
    return count


def _on_args(fn: Callable[[tuple, dict], int]) -> Callable[[tuple, dict, Any], int]:
    return lambda args, kwargs, out: fn(args, kwargs)


def _input_elems(args: tuple, kwargs: dict, out: Any) -> int:
    return args[0].numel()


def _conv_backward_macs(args: tuple, kwargs: dict, out: Any) -> int:
    """convolution_backward(grad_out, input, weight, …, groups, output_mask): the input gradient
    and the weight gradient each cost what the forward conv cost (the bias gradient is a sum).
    Hand-written because torch's conv_backward_flop ignores ``groups`` for the weight gradient
    (9× too much for a 3×3 depth-wise conv)."""
    grad_out, x, w = args[0], args[1], args[2]
    transposed, mask = args[7], args[10]
    forward = _fc.conv_flop_count(list(x.shape), list(w.shape), list(grad_out.shape), transposed) // 2
    return forward * (int(bool(mask[0])) + int(bool(mask[1])))


def _sdpa_backward_macs(args: tuple, kwargs: dict, out: Any) -> int:
    """The CPU flash kernel's backward (grad_out, query, key, value, …), by torch's formula for the
    CUDA attention backwards (which has no entry for this kernel)."""
    grad_out, q, k, v = args[:4]
    return _fc.sdpa_backward_flop_count(grad_out.shape, q.shape, k.shape, v.shape) // 2


def _rnn_macs(args: tuple, kwargs: dict, out: Any) -> int:
    """Fused recurrent kernels (``mkldnn_rnn_layer``: input, W_ih, W_hh, b_ih, b_hh, …;
    ``_cudnn_rnn``: input, [weights], …): each 2-D weight (W_ih 4H×I, W_hh 4H×H, a projection)
    is one matrix-vector product per time step and sequence, so MACs = T·B · Σ numel(2-D weights),
    exactly what the decomposed LSTM (one addmm per gate matrix and step) counts on meta."""
    x = args[0]
    weights = args[1] if isinstance(args[1], (list, tuple)) else args[1:5]
    steps = x.numel() // x.shape[-1]  # T·B, batch-first or not, packed or padded
    return steps * sum(w.numel() for w in weights if isinstance(w, torch.Tensor) and w.dim() == 2)


@dataclass(frozen=True)
class Rule:
    """One row of the counting convention: which aten ops, how they count, how the note says it."""

    kind: str  # the op kind in by-op tables ("convolution", "norm", ...)
    text: str  # what the note lists under "Counted" / "Not counted"
    ops: frozenset = frozenset()
    macs: Optional[Callable[[tuple, dict, Any], int]] = None  # (args, kwargs, out) -> MACs; None = torch's
    counted: bool = True
    backward: bool = False  # a backward-pass op (the training section's count, not the forward's)


_SDPA_OPS = frozenset({
    aten._scaled_dot_product_flash_attention_for_cpu,
    aten._scaled_dot_product_flash_attention,
    aten._scaled_dot_product_efficient_attention,
    aten._scaled_dot_product_cudnn_attention,
    aten.scaled_dot_product_attention,
})
_MATMUL_OPS = frozenset({aten.mm, aten.addmm, aten.bmm, aten.baddbmm, aten._scaled_mm})
_CONV_OPS = frozenset({aten.convolution, aten._convolution, aten.convolution_overrideable,
                       aten.cudnn_convolution, aten._slow_conv2d_forward})
_POOL_OPS = frozenset({aten._adaptive_avg_pool2d, aten.mean, aten.amax, aten.amin})
_RNN_OPS = frozenset({aten.mkldnn_rnn_layer, aten._cudnn_rnn})

# The counting convention, fvcore's (fvcore.nn.flop_count._DEFAULT_SUPPORTED_OPS) so totals match
# timm's tables, plus the ops fvcore's tracer never sees (fused attention, fused RNN kernels,
# the reductions a 1×1 adaptive pool lowers to). The note's "counted / not counted" lists
# (COUNTED / NOT_COUNTED below) are generated from this table, so they cannot drift from it.
RULES: tuple[Rule, ...] = (
    Rule("convolution", "convolution (batch·K·out spatial, bias not counted)", _CONV_OPS),
    Rule("convolution", "backward of a convolution: the forward's MACs once per gradient (input, weight)",
         frozenset({aten.convolution_backward}), _conv_backward_macs, backward=True),
    Rule("linear", "linear / matmul / bmm (m·n·k)", _MATMUL_OPS),
    Rule("attention matmul", "attention matmuls QKᵀ and AV, fused SDPA kernels included", _SDPA_OPS,
         _on_args(_sdpa_macs)),
    Rule("attention matmul", "backward of fused attention: 2.5× the forward's QKᵀ + AV (QKᵀ recomputed, "
         "then dV, dP, dQ, dK)",
         frozenset({aten._scaled_dot_product_flash_attention_for_cpu_backward}), _sdpa_backward_macs,
         backward=True),
    Rule("norm", "layer/group norm (5 per element with affine, 4 without)",
         frozenset({aten.native_layer_norm}), _on_args(_norm(2))),  # (input, normalized_shape, weight, bias, eps)
    Rule("norm", "layer/group norm (5 per element with affine, 4 without)",
         frozenset({aten.native_group_norm}), _on_args(_norm(1))),  # (input, weight, bias, N, C, HxW, group)
    Rule("norm", "batch norm (2 per element in eval, 1 without affine; 5/4 in training mode)",
         frozenset({aten._native_batch_norm_legit_no_training}), _on_args(_bn_eval)),
    Rule("norm", "batch norm (2 per element in eval, 1 without affine; 5/4 in training mode)",
         frozenset({aten._native_batch_norm_legit}), _on_args(_norm(1))),  # training-mode batch norm, instance norm
    Rule("norm", "batch norm (2 per element in eval, 1 without affine; 5/4 in training mode)",
         frozenset({aten.native_batch_norm}), _on_args(_bn_train_flag(5))),
    Rule("pooling", "average pooling to a fixed size and the reductions a global pool lowers to "
         "(mean, amax, amin): 1 per input element, e.g. C·H·W for global average pooling",
         _POOL_OPS, _input_elems),
    Rule("recurrent", "LSTM/GRU: T·B·Σ(gate matrix sizes) — the same on meta (decomposed) and in "
         "the fused CPU/cuDNN kernels", _RNN_OPS, _rnn_macs),
    Rule("upsample", "upsample (nearest 1, bilinear 4 per output element), grid sample 4 per output element",
         frozenset({aten.upsample_nearest2d}), _out_elems(1)),
    Rule("upsample", "upsample (nearest 1, bilinear 4 per output element), grid sample 4 per output element",
         frozenset({aten.upsample_bilinear2d, aten.grid_sampler_2d}), _out_elems(4)),
    Rule("other", "activations (GELU, ReLU, SiLU, sigmoid), softmax, residual adds, scaling",
         frozenset({aten.gelu, aten.relu, aten.relu_, aten.silu, aten.silu_, aten.sigmoid, aten.tanh,
                    aten.hardswish, aten._softmax, aten.add, aten.add_, aten.mul, aten.div}), counted=False),
    Rule("other", "max pooling with a window, average pooling with a kernel (avg_pool2d)",
         frozenset({aten.max_pool2d_with_indices, aten.avg_pool2d, aten.adaptive_max_pool2d}), counted=False),
    Rule("other", "bias adds of convolutions, sums (e.g. the bias gradients of a backward pass)",
         frozenset({aten.sum}), counted=False),
    Rule("other", "reshapes, copies, concatenation", counted=False),
)
_RULE_OF = {op: rule for rule in RULES for op in rule.ops}
_NORM_OPS = frozenset(op for rule in RULES if rule.kind == "norm" for op in rule.ops)


def _unique(texts) -> list[str]:
    return list(dict.fromkeys(texts))


COUNTED = _unique(r.text for r in RULES if r.counted and not r.backward)
BACKWARD_COUNTED = _unique(r.text for r in RULES if r.counted and r.backward)
NOT_COUNTED = _unique(r.text for r in RULES if not r.counted)


@dataclass
class OpRecord:
    module: str  # innermost module path ("" = the model itself)
    op: str  # aten overload, e.g. "aten.addmm.default"
    kind: str  # "convolution", "linear", "attention matmul", "matmul", "norm", "other", ...
    inputs: list[Optional[tuple[int, ...]]]
    output: Optional[tuple[int, ...]]
    macs: int = 0
    activations: int = 0  # output elements of counted matmul/conv ops (fvcore's activation count)


@dataclass
class Recording:
    ops: list[OpRecord] = field(default_factory=list)
    module_outputs: dict[str, list[Optional[tuple[int, ...]]]] = field(default_factory=dict)
    module_inputs: dict[str, list[Optional[tuple[int, ...]]]] = field(default_factory=dict)

    @property
    def total_macs(self) -> int:
        return sum(o.macs for o in self.ops)

    @property
    def activations(self) -> int:
        return sum(o.activations for o in self.ops)


def op_macs(func: Any, args: tuple, kwargs: dict, out: Any) -> tuple[int, int]:
    """(MACs, activations) of one aten op under the convention of ``RULES``.

    Ops with no rule but a formula in torch.utils.flop_counter (CUDA attention kernels, the
    backward of convolution and SDPA) use torch's formula; everything else counts 0.
    """
    packet = func.overloadpacket
    rule = _RULE_OF.get(packet)
    if rule is not None and not rule.counted:
        return 0, 0
    first = out[0] if isinstance(out, (tuple, list)) else out
    if rule is not None and rule.macs is not None:
        acts = _sdpa_acts(args, kwargs) if packet in _SDPA_OPS else 0
        return int(rule.macs(args, kwargs, first)), acts
    if packet in _fc.flop_registry:
        flops = _fc.flop_registry[packet](*args, **kwargs, out_val=out)  # shape_wrapper'd formulas
        return int(flops) // 2, first.numel() if isinstance(first, torch.Tensor) else 0
    return 0, 0


class MacCounter(TorchDispatchMode):
    """Total MACs of whatever runs under it (a forward, a backward), without module attribution.

    Counting happens at the outermost op only: the mode is popped while an op runs, and a depth
    guard covers anything that re-enters, so a decomposed addmm → mm is never counted twice.
    """

    def __init__(self):
        super().__init__()
        self.macs = 0
        self._depth = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self._depth += 1
        try:
            out = func(*args, **kwargs)
        finally:
            self._depth -= 1
        if not self._depth:  # nested inside an op we already count: the outer op owns its MACs
            self._count(func, args, kwargs, out)
        return out

    def _count(self, func, args: tuple, kwargs: dict, out: Any) -> None:
        self.macs += op_macs(func, args, kwargs, out)[0]


class Recorder(MacCounter):
    """Record every aten op with the innermost module it ran in (use inside ``record``)."""

    def __init__(self, tracker: ModuleTracker, root: str, kinds: dict[str, str],
                 keep_ops: bool = True):
        super().__init__()
        self.tracker = tracker
        self.root = root
        self.kinds = kinds  # module path -> class name, to tell linear from attention matmul
        self.keep_ops = keep_ops
        self.recording = Recording()

    def _module(self) -> str:
        inner = max(self.tracker.parents, key=lambda p: (p.count("."), len(p)))
        if inner in ("Global", self.root):
            return ""
        return inner[len(self.root) + 1:] if inner.startswith(self.root + ".") else inner

    def _count(self, func, args: tuple, kwargs: dict, out: Any) -> None:
        macs, acts = op_macs(func, args, kwargs, out)
        if macs or self.keep_ops:
            module = self._module()
            flat_in, _ = tree_flatten((args, kwargs))
            flat_out, _ = tree_flatten(out)
            outs = [o for o in flat_out if isinstance(o, torch.Tensor)]
            self.recording.ops.append(OpRecord(
                module=module,
                op=str(func),
                kind=self._kind(func.overloadpacket, module),
                inputs=[_shape(a) for a in flat_in if isinstance(a, torch.Tensor)],
                output=_shape(outs[0]) if outs else None,
                macs=macs,
                activations=acts,
            ))

    def _kind(self, packet: Any, module: str) -> str:
        cls = self.kinds.get(module, "")
        if cls in ("LSTM", "GRU", "RNN") or packet in _RNN_OPS:
            return "recurrent"
        if packet in _SDPA_OPS:
            return "attention matmul"
        if packet in _CONV_OPS or packet is aten.convolution_backward:
            return "convolution"
        if packet in _MATMUL_OPS:
            if cls.endswith("Linear") or packet is aten.addmm:
                return "linear"
            if "attn" in module.rsplit(".", 1)[-1].lower() or "Attention" in cls:
                return "attention matmul"
            return "matmul"
        if packet in _NORM_OPS:
            return "norm"
        rule = _RULE_OF.get(packet)
        return rule.kind if rule is not None else "other"


def record(model: torch.nn.Module, x: torch.Tensor, keep_ops: bool = True) -> Recording:
    """One no-grad forward of ``model`` on ``x`` under the recorder; module in/out shapes too."""
    root = type(model).__name__
    names = {m: n for n, m in model.named_modules()}
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}
    tracker = ModuleTracker()
    rec = Recorder(tracker, root, kinds, keep_ops=keep_ops)
    hooks = []
    if keep_ops:
        def pre(mod, inputs):
            name = names.get(mod)
            if name is not None and name not in rec.recording.module_inputs:
                rec.recording.module_inputs[name] = [_shape(t) for t in tree_flatten(inputs)[0]
                                                     if isinstance(t, torch.Tensor)]

        def post(mod, inputs, output):
            name = names.get(mod)
            if name is not None and name not in rec.recording.module_outputs:
                rec.recording.module_outputs[name] = [_shape(t) for t in tree_flatten(output)[0]
                                                      if isinstance(t, torch.Tensor)]

        hooks = [torch.nn.modules.module.register_module_forward_pre_hook(pre),
                 torch.nn.modules.module.register_module_forward_hook(post)]
    # No tensor may require grad while the tracker runs: under no_grad a view of a parameter
    # (timm's attention-pool latent, `latent.expand(B, ...)`) still reports requires_grad but
    # has no grad_fn, and ModuleTracker's backward bookkeeping then fails. Nothing here needs grads.
    grad_flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in grad_flags:
        p.requires_grad_(False)
    try:
        with torch.no_grad(), tracker, rec:
            model(x)
    finally:
        for h in hooks:
            h.remove()
        for p, flag in grad_flags:
            p.requires_grad_(flag)
    return rec.recording
