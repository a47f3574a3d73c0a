"""What the analyzer is asked: plain data, no notes, no torch (docs/DESIGN.md).

Which analysis passes a request runs follows from its sections through the section registry
(``vitnotes.sections``): each section declares the facts it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from vitnotes import sections as registry
from vitnotes.analysis.report import MacsBackend
from vitnotes.sections import Fact



# The image files an `images:` folder contributes (read by analysis/images.py, keyed by cache.py).
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")


def is_image_file(path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".") and path.is_file()


@dataclass(frozen=True)
class AnalysisRequest:
    model: str
    img_size: Optional[int] = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    sections: tuple[str, ...] = field(default_factory=registry.default_names)
    weights: Optional[str] = None  # absolute path to a local checkpoint
    pretrained: bool = False  # timm's checkpoint for `model` (arch.tag, or the default tag): HF cache, else downloaded once
    images: Optional[str] = None  # absolute path to a folder of images
    num_images: int = 16
    device: str = "cpu"
    flops_backend: MacsBackend = "dispatch"  # or "fvcore" (cross-check, real CPU tensors)
    seed: int = 0
    scaling_sizes: tuple[int, ...] = (224, 384, 512)
    batch_size: int = 32  # B of the memory section (and of the training step the memory needs)
    speed_batch: int = 16  # the throughput batch of the speed section
    speed_device: str = "cpu"  # "cpu" or "cuda"

    @property
    def facts(self) -> frozenset[Fact]:
        """The analysis passes this request's sections need."""
        return registry.facts(self.sections)

    @property
    def needs_weights(self) -> bool:
        return "weights" in self.facts

    @property
    def needs_forward(self) -> bool:
        return "forward" in self.facts
