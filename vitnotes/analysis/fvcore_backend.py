"""fvcore as an independent cross-check of the dispatch recorder (``--flops-backend fvcore``).

fvcore traces with torch.jit, which needs real tensors (it fails on meta), and it has no rule for
``scaled_dot_product_attention``: timm's fused attention is switched off per module for the trace
so fvcore sees the QKᵀ and AV matmuls, then switched back.
"""

from __future__ import annotations

import logging
import warnings

import torch

from vitnotes.analysis.build import build_model, input_size
from vitnotes.analysis.request import AnalysisRequest


def fvcore_macs(req: AnalysisRequest) -> tuple[int, dict[str, int]]:
    """(total MACs, MACs by fvcore operator) of ``req.model`` on a zero CPU input at batch 1."""
    with warnings.catch_warnings():  # fvcore's import trips torch.jit.script deprecation warnings
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

    torch.manual_seed(req.seed)
    model = build_model(req.model, req.img_size, req.model_kwargs, device="cpu")
    x = torch.zeros(1, *input_size(model))
    fused = [(m, m.fused_attn) for m in model.modules() if isinstance(getattr(m, "fused_attn", None), bool)]
    for m, _ in fused:
        m.fused_attn = False
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            fca = FlopCountAnalysis(model, x)
            fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total = int(fca.total())
            by_op = {k: int(v) for k, v in fca.by_operator().items()}
    finally:
        for m, flag in fused:
            m.fused_attn = flag
    return total, by_op
