"""The images the attention figures are computed on, preprocessed exactly as the model expects.

A folder the user named, else photographs a dependency ships offline (matplotlib's sample data,
scikit-image's bundled images when installed). Never padded by repeating or augmenting images: if
fewer exist than asked, fewer are used and the count says so. Preprocessing is timm's own eval
transform (``resolve_data_config`` + ``create_transform``) at the model's *actual* input size.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from vitnotes.analysis.report import EncodedImage, ImagesInfo
from vitnotes.analysis.request import is_image_file
from vitnotes.errors import SpecError, first_line

# Photographs only: matplotlib's other sample images are a logo and clip art.
MATPLOTLIB_PHOTOS = ("grace_hopper.jpg",)
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                  "camera.png")


@dataclass
class LoadedImages:
    batch: torch.Tensor  # [n, C, H, W], normalised model input
    display: list[np.ndarray] = field(default_factory=list)  # uint8 [H, W, 3] of what the model saw
    info: Optional[ImagesInfo] = None


def data_config(model: torch.nn.Module) -> dict:
    """timm's data config (mean, std, interpolation, crop) with the input size the model actually has."""
    from timm.data import resolve_data_config

    from vitnotes.analysis.build import input_size

    return resolve_data_config({"input_size": input_size(model)}, model=model)


def sample_photos() -> tuple[str, list[Path]]:
    """Photographs shipped offline by installed dependencies, in a fixed order."""
    import matplotlib.cbook as cbook

    found: list[Path] = []
    sources = []
    for name in MATPLOTLIB_PHOTOS:
        try:
            p = Path(cbook.get_sample_data(name, asfileobj=False))
        except (OSError, ValueError):
            continue
        if p.is_file():
            found.append(p)
    if found:
        sources.append("matplotlib sample data")
    spec = importlib.util.find_spec("skimage")  # located, not imported: importing skimage costs seconds
    if spec and spec.submodule_search_locations:
        data = Path(list(spec.submodule_search_locations)[0]) / "data"
        extra = [data / n for n in SKIMAGE_PHOTOS if (data / n).is_file()]
        if extra:
            found += extra
            sources.append("scikit-image data")
    return " + ".join(sources) or "no sample images", found


def folder_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SpecError(f"images folder not found: {folder}", request_field="images")
    files = [p for p in folder.iterdir()
             if is_image_file(p)]
    return sorted(files, key=lambda p: (p.name.lower(), p.name))


def _open_rgb(path: Path, mode: str):
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, rgba)  # transparent = white paper, not black
        return im.convert(mode)


def load_images(
    model: torch.nn.Module, folder: Optional[str], num_images: int,
    progress: Optional[Callable[[str], None]] = None,
) -> LoadedImages:
    """Up to ``num_images`` readable images, transformed for ``model``; unreadable ones skipped, named."""
    from timm.data import create_transform

    if folder:
        source, candidates = str(folder), folder_images(Path(folder))
    else:
        source, candidates = sample_photos()
    cfg = data_config(model)
    transform = create_transform(**cfg, is_training=False)
    in_chans = cfg["input_size"][0]
    mode = "L" if in_chans == 1 else "RGB"
    mean = torch.tensor(cfg["mean"]).view(-1, 1, 1)
    std = torch.tensor(cfg["std"]).view(-1, 1, 1)

    tensors: list[torch.Tensor] = []
    display: list = []
    names: list[str] = []
    skipped: list[str] = []
    for path in candidates:
        if len(tensors) >= num_images:
            break
        try:
            x = transform(_open_rgb(path, mode))
        except Exception as exc:  # noqa: BLE001 — PIL raises many types for one meaning: unreadable
            why = first_line(exc)[:120]
            skipped.append(f"{path.name}: {why}")
            if progress:
                progress(f"warning: skipped unreadable image {path.name} ({why})")
            continue
        tensors.append(x)
        names.append(path.name)
        pix = ((x * std + mean).clamp(0, 1) * 255).round().to(torch.uint8)  # what the model saw
        pix = pix.expand(3, -1, -1) if pix.shape[0] == 1 else pix[:3]
        display.append(pix.permute(1, 2, 0).contiguous().numpy())
    if not tensors:
        raise SpecError(
            f"no readable images in {source}" + (f" ({len(skipped)} skipped)" if skipped else ""),
            hint="put .jpg/.png/.webp files in the `images:` folder",
        )
    info = ImagesInfo(source=source, count=len(tensors), names=names, skipped=skipped)
    return LoadedImages(batch=torch.stack(tensors), display=display, info=info)


def encode_image(name: str, pixels: np.ndarray) -> EncodedImage:
    """uint8 RGB as hex: plain JSON in the cached Report, no pickle (``render.figures.decode_image`` reads it)."""
    h, w = pixels.shape[:2]
    return EncodedImage(name=name, height=int(h), width=int(w), rgb_hex=np.ascontiguousarray(pixels).tobytes().hex())
