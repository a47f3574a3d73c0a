"""What the analyzer is asked: plain data, no notes, no torch (DESIGN.md §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

STRUCTURE_SECTIONS = (
    "card", "shapes", "params", "flops", "patch", "downsampling", "block", "cls",
    "equations", "diagram", "heads",
)
FIGURE_SECTIONS = ("attention_distance", "pos_embed", "filters", "rollout")
ALL_SECTIONS = STRUCTURE_SECTIONS + FIGURE_SECTIONS
# Sections whose numbers need a real forward over images (the rest need weights at most).
FORWARD_SECTIONS = ("attention_distance", "rollout")


# The image files an `images:` folder contributes (read by analysis/images.py, keyed by cache.py).
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")


def is_image_file(path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".") and path.is_file()


@dataclass(frozen=True)
class AnalysisRequest:
    model: str
    img_size: Optional[int] = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    sections: tuple[str, ...] = ALL_SECTIONS
    weights: Optional[str] = None  # absolute path to a local checkpoint
    pretrained: bool = False  # use a Hugging Face cache already on disk; never download
    images: Optional[str] = None  # absolute path to a folder of images
    num_images: int = 16
    device: str = "cpu"
    flops_backend: str = "dispatch"  # or "fvcore" (cross-check, real CPU tensors)
    seed: int = 0
    scaling_sizes: tuple[int, ...] = (224, 384, 512)

    @property
    def needs_weights(self) -> bool:
        return any(s in FIGURE_SECTIONS for s in self.sections)

    @property
    def needs_forward(self) -> bool:
        return any(s in FORWARD_SECTIONS for s in self.sections)
