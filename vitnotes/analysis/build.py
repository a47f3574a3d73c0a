"""Build a timm model by name — on the meta device by default, so structure costs no memory.

Every failure a user can cause (unknown name, bad kwargs) becomes a ModelError that names the
fix: the closest timm names, or the offending kwarg.
"""

from __future__ import annotations

import difflib
import json
import inspect
import re
from typing import Any, Optional

from vitnotes.errors import ModelError, first_line

# create_model options that load weights or touch the network: never taken from a note's kwargs
# (weights come only through the separate, checked `weights:` key).
_RESERVED = ("pretrained", "pretrained_cfg", "pretrained_cfg_overlay", "checkpoint_path",
             "cache_dir", "device", "dtype", "scriptable", "exportable", "no_jit")


# (name, kwargs JSON, img_size) -> constructor kwargs that built on meta in this process.
_VALIDATED: dict[tuple, dict] = {}


def closest_models(name: str, n: int = 3) -> list[str]:
    """The timm names nearest to ``name``, for 'did you mean' messages.

    difflib's plain ratio favours names of similar length (vit_bse_patch16 -> samvit_base_patch16),
    so a name is also scored against each candidate's prefix of the same length: a typo in a
    truncated name still finds vit_base_patch16_224 first.
    """
    import timm

    def score(cand: str) -> tuple[float, float]:
        full = difflib.SequenceMatcher(None, name, cand).ratio()
        head = difflib.SequenceMatcher(None, name, cand[: len(name)]).ratio()
        return max(full, head), full

    ranked = sorted(timm.list_models(), key=score, reverse=True)
    return [c for c in ranked[:n] if score(c)[0] >= 0.5]


def _check_name(model: str) -> None:
    import timm

    if ":" in model:  # hf-hub:/local-dir: names would read config from the hub or disk
        raise ModelError(f"model {model!r} is not a timm architecture name",
                         "use a plain timm name such as vit_base_patch16_224")
    if not timm.is_model(model.partition(".")[0]):
        close = closest_models(model)
        hint = ("did you mean " + ", ".join(close) + "?") if close else \
            "see `python -c \"import timm; print(timm.list_models('vit_*'))\"` for names"
        raise ModelError(f"unknown model {model!r}", hint)
    from vitnotes.analysis.hub import check_tag

    check_tag(model)  # `arch.tag`: a tag timm lists for that architecture


def _takes_img_size(model_cls: type) -> bool:
    """True when the class's constructor names ``img_size`` (ViT, DeiT, Swin, EVA…).

    Subclasses that forward ``*args, **kwargs`` (timm's VisionTransformerDistilled) are looked
    through to the first base class whose constructor names its parameters.
    """
    for cls in model_cls.__mro__:
        if "__init__" not in vars(cls):
            continue
        try:
            params = inspect.signature(vars(cls)["__init__"]).parameters
        except (TypeError, ValueError):
            return False
        if "img_size" in params:
            return True
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return False
    return False


def _create(model: str, kwargs: dict, device: str, timm_kwargs: dict):
    import timm
    import torch

    opts = {"pretrained": False, **timm_kwargs}
    with torch.device(device):
        return timm.create_model(model, **opts, **kwargs)


def _offending_key(model: str, kwargs: dict) -> Optional[str]:
    """Find the kwarg whose removal lets the model build (meta builds are cheap)."""
    for key in kwargs:
        rest = {k: v for k, v in kwargs.items() if k != key}
        try:
            _create(model, rest, "meta", {})
        except Exception:
            continue
        return key
    return None


def build_model(model: str, img_size: Optional[int], model_kwargs: dict[str, Any], *,
                device: str = "meta", **timm_kwargs: Any):
    """``timm.create_model`` under ``torch.device(device)``, in eval mode.

    ``img_size`` goes to the constructor only when the model takes one; for the others (ResNet,
    ConvNeXt) it is just the input resolution, which the caller feeds (see ``input_size``).
    ``timm_kwargs`` (e.g. ``pretrained_cfg_overlay``, ``checkpoint_path``) pass straight to timm.
    """
    _check_name(model)
    kwargs = dict(model_kwargs or {})
    for key in kwargs:
        if key in _RESERVED:
            raise ModelError(f"model_kwargs key {key!r} is not allowed",
                             "weights are set with the `weights:` key, never through model_kwargs")
    memo = (model, json.dumps(kwargs, sort_keys=True), img_size)
    probe = None
    if memo in _VALIDATED:  # this process already built it on meta: skip a second probe
        kwargs = dict(_VALIDATED[memo])
    else:
        try:
            # A meta build first: it tells us the class (does it take img_size?) for free, and any
            # failure here is the name's or the kwargs' fault, not the device's or the checkpoint's.
            probe = _create(model, kwargs, "meta", {})
            if img_size is not None and _takes_img_size(type(probe)) and "img_size" not in kwargs:
                kwargs["img_size"] = int(img_size)
                probe = _create(model, kwargs, "meta", {})
        except Exception as exc:  # timm raises TypeError/ValueError/AssertionError/RuntimeError
            raise _kwarg_error(model, kwargs, exc) from None
        _VALIDATED[memo] = dict(kwargs)
    if probe is not None and device == "meta" and not timm_kwargs:
        net = probe
    else:
        del probe
        try:
            net = _create(model, kwargs, device, timm_kwargs)
        except Exception as exc:
            first = first_line(exc)
            raise ModelError(f"timm could not build {model} on {device}: {first}",
                             "check the weights file and device") from exc
    net.eval()
    if img_size is not None and "img_size" not in kwargs:
        net._vitnotes_img_size = int(img_size)  # read by input_size(): fed, not built in
    return net


def _kwarg_error(model: str, kwargs: dict, exc: Exception) -> ModelError:
    text = first_line(exc)
    m = re.search(r"unexpected keyword argument '(\w+)'", text)
    if m:
        key = m.group(1)
        return ModelError(f"model_kwargs key {key!r} is not a parameter of {model}",
                          "remove it or check the timm model's constructor arguments")
    key = _offending_key(model, kwargs) if kwargs else None
    if key is not None:
        return ModelError(f"model_kwargs key {key!r} = {kwargs[key]!r} does not fit {model} ({text})",
                          "fix or remove that key")
    return ModelError(f"timm could not build {model}: {text}",
                      "check img_size and model_kwargs against the model's constructor")


def input_size(model) -> tuple[int, int, int]:
    """(C, H, W) the model is actually fed: the built-in image size, or the one asked for."""
    chans = int(getattr(model, "in_chans", 0) or 0)
    cfg = getattr(model, "pretrained_cfg", None) or {}
    cfg_size = tuple(cfg.get("input_size", (3, 224, 224)))
    chans = chans or int(cfg_size[0])
    fed = getattr(model, "_vitnotes_img_size", None)
    if fed is not None:
        return chans, fed, fed
    pe = getattr(model, "patch_embed", None)
    size = getattr(pe, "img_size", None) if pe is not None else None
    if size is not None:
        size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        return chans, int(size[0]), int(size[1])
    return chans, int(cfg_size[1]), int(cfg_size[2])
