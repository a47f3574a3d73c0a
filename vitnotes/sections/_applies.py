"""Which sections belong in a default note for a model (each section's ``applies``).

Decided from the Report's facts, never from the family's name: a model that cuts patches gets the
patch section (MLP-Mixer and ConvNeXt too), a model with global multi-head attention over one patch
grid gets the equations, heads and attention figures, one with a learned absolute position table
gets its similarity plot. A section listed explicitly in ``sections:`` is rendered anyway and says
in one line why it does not apply.
"""

from __future__ import annotations

from vitnotes.analysis.report import Report
from vitnotes.render.dims import is_vit_like


def has_patches(report: Report) -> bool:
    return bool(report.card.patch_size and report.card.grid)


def has_tokens(report: Report) -> bool:
    """A token sequence (ViT, DeiT, Mixer): the [CLS] question has an answer, even "none: average pooling"."""
    return report.card.num_tokens is not None


def has_block(report: Report) -> bool:
    return bool(report.shapes.block)


def has_stages(report: Report) -> bool:
    return bool(report.shapes.stages)


def knows_downsampling(report: Report) -> bool:
    return bool(report.shapes.hierarchy) or has_patches(report)


def global_attention(report: Report) -> bool:
    """One multi-head self-attention over the whole patch grid (what the ViT paper's figures need)."""
    return is_vit_like(report)


def has_heads(report: Report) -> bool:
    return report.params.attention is not None


def learned_pos_table(report: Report) -> bool:
    c = report.card
    return bool(c.pos_embed_shape) and (c.pos_embed or "").startswith("learned absolute")


def patch_filters(report: Report) -> bool:
    """A linear patch projection E whose rows are image patches (not a hybrid's feature-map patches)."""
    return is_vit_like(report) and not (report.card.stem or "").startswith("hybrid")
