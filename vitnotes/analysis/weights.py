"""The real model with its weights: a local file, timm's checkpoint through the Hugging Face cache, or seeded random.

A download happens only for `pretrained:` (``analysis.hub``: once, into the HF cache). Files go through
timm's own loaders — ``load_state_dict``
(safetensors, or ``torch.load(weights_only=True)``), the model module's ``checkpoint_filter_fn``
(key conversion, position-embedding resampling) and ``model.load_pretrained`` for Google's ``.npz`` —
and every failure becomes a WeightsError that names the file and what does not fit.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Optional, cast

import torch

from vitnotes.analysis.report import WeightsInfo
from vitnotes.errors import WeightsError, first_line

TORCH_EXTS = (".pth", ".pt", ".bin", ".ckpt")
SAFE_EXTS = (".safetensors",)
NPZ_EXTS = (".npz",)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()  # hashlib.file_digest is Python 3.11+; vitnotes supports 3.10
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def random_label(seed: int) -> str:
    return f"random init (seed {seed}) — not a trained model"


def create_model(name: str, img_size: Optional[int], model_kwargs: dict[str, Any], seed: int) -> torch.nn.Module:
    """A real (CPU) model, randomly initialised from ``seed`` without touching the global RNG."""
    from vitnotes.analysis.build import build_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(name, img_size, model_kwargs, device="cpu")
    return model.eval()


def load_weights(
    model: torch.nn.Module, name: str, *, weights: Optional[str], pretrained: bool, seed: int,
    progress: Optional[Callable[[str], None]] = None,
) -> WeightsInfo:
    """Load ``weights`` (a file) or the HF-cached pretrained weights into ``model``; say which."""
    if weights:
        path = Path(weights)
        if progress:
            progress(f"loading weights {path.name}")
        sha = load_file(model, path)
        return WeightsInfo(kind="file", source=str(path), sha256=sha, label=f"{path.name} (sha256 {sha[:12]})")
    if pretrained:
        return load_checkpoint(model, name, progress)
    return WeightsInfo(kind="random", source="", seed=seed, label=random_label(seed))


def load_file(model: torch.nn.Module, path: Path) -> str:
    """Load one checkpoint file into ``model`` (strict); returns its sha256."""
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}", request_field="weights")
    ext = path.suffix.lower()
    if ext in NPZ_EXTS:
        _load_npz(model, path)
    elif ext in SAFE_EXTS or ext in TORCH_EXTS:
        _load_state_dict_file(model, path)
    else:
        raise WeightsError(
            f"{path.name}: unsupported weights format {ext or '(no extension)'!r}",
            hint="use .safetensors, .pth/.pt/.bin (a plain state_dict) or Google's original .npz",
        )
    return file_sha256(path)


def _load_state_dict_file(model: torch.nn.Module, path: Path) -> None:
    from timm.models import load_state_dict

    try:
        # safetensors, or torch.load(weights_only=True): never unpickles arbitrary objects (docs/DESIGN.md §7)
        state = load_state_dict(str(path), use_ema=True, device="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 — every reader error means the same thing to the user
        msg = first_line(exc)
        found = re.search(r"Unsupported globals: ([^.]+(?:\.[^ .]+)*)", msg)
        if found:
            raise WeightsError(
                f"{path.name} holds pickled Python objects ({found.group(1)}) that vitnotes will not load "
                "(torch.load weights_only=True)",
                hint="save a plain state_dict (torch.save(model.state_dict(), …)) or a .safetensors file",
            ) from None
        if "weights_only" in msg:  # timm's wording for any unpickling failure: the file is not a checkpoint
            msg = str(getattr(exc, "__cause__", None) or msg).splitlines()[-1].strip() or msg
        raise WeightsError(f"{path.name} is not a readable checkpoint ({msg[:200]})",
                           hint="is the file complete? re-download or re-export it") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path.name} does not hold a state_dict of tensors",
                           hint="save model.state_dict() or a .safetensors file")
    state = _apply_filter(model, state)
    problem = describe_mismatch(model.state_dict(), state)
    if problem:
        raise WeightsError(f"{path.name} does not fit {_arch(model)}: {problem}", hint=_mismatch_hint(model, state))
    model.load_state_dict(state, strict=True)


def _apply_filter(model: torch.nn.Module, state: dict) -> dict:
    """timm's per-architecture converter (key renames, pos-embed resampling), as pretrained loading does."""
    fn = getattr(sys.modules.get(type(model).__module__), "checkpoint_filter_fn", None)
    if fn is None:
        return state
    try:
        return fn(state, model)
    except Exception:  # noqa: BLE001 — a foreign layout: the key comparison below explains it better
        return state


def describe_mismatch(expected: dict, state: dict, limit: int = 4) -> str:
    """Missing / unexpected keys and shape mismatches, summarised in one line ('' when it fits)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} checkpoint {list(state[k].shape)} vs model {list(expected[k].shape)}"
        for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    parts = []

    def some(keys: list[str]) -> str:
        more = f", … {len(keys) - limit} more" if len(keys) > limit else ""
        return ", ".join(keys[:limit]) + more

    if shapes:
        parts.append(f"shape mismatch in {len(shapes)} tensor(s): {some(shapes)}")
    if missing:
        parts.append(f"{len(missing)} missing key(s): {some(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {some(unexpected)}")
    return "; ".join(parts)


def _mismatch_hint(model: torch.nn.Module, state: dict) -> str:
    head = getattr(getattr(model, "head", None), "weight", None)
    ckpt_head = state.get("head.weight")
    if head is not None and ckpt_head is not None and ckpt_head.shape[1:] == head.shape[1:] \
            and ckpt_head.shape[0] != head.shape[0]:
        return f"the checkpoint has {ckpt_head.shape[0]} classes: set model_kwargs: {{num_classes: {ckpt_head.shape[0]}}}"
    return "is it a checkpoint of this model with these model_kwargs / img_size?"


def _arch(model: torch.nn.Module) -> str:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return cfg.get("architecture") or type(model).__name__


def _load_npz(model: torch.nn.Module, path: Path) -> None:
    """Google's original JAX checkpoints, through timm's ``load_pretrained`` (``_load_weights`` for ViT)."""
    if not hasattr(model, "load_pretrained"):
        raise WeightsError(f"{path.name}: {_arch(model)} has no loader for Google .npz checkpoints",
                           hint="convert it to .safetensors, or use a timm ViT model")
    facts = _npz_facts(model, path)
    if facts:  # timm's loader would silently skip extra blocks: refuse them here
        raise WeightsError(f"{path.name} does not fit {_arch(model)}: the checkpoint has {facts}",
                           hint="set model_kwargs to match the checkpoint, or pick the matching model")
    try:
        cast(Any, model).load_pretrained(str(path))  # timm's VisionTransformer method
    except KeyError as exc:
        raise WeightsError(
            f"{path.name} lacks {exc.args[0]!r}, which {_arch(model)} needs: not a checkpoint of this model",
            hint=_npz_hint(model, path),
        ) from None
    except (ValueError, RuntimeError, OSError, EOFError) as exc:
        msg = first_line(exc)
        raise WeightsError(f"{path.name} does not load into {_arch(model)}: {msg[:240]}",
                           hint=_npz_hint(model, path)) from None


def _npz_hint(model: torch.nn.Module, path: Path) -> str:
    facts = _npz_facts(model, path)
    return ("the checkpoint has " + facts) if facts else "check model_kwargs against the checkpoint"


def _npz_facts(model: torch.nn.Module, path: Path) -> str:
    """Name the hyper-parameters that differ, read from the npz's own shapes (Google's layout is fixed)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as w:
            keys = set(w.files)
            pre = next((p for p in ("", "opt/target/", "params/") if f"{p}embedding/kernel" in keys), None)
            if pre is None:
                return ""
            dim = int(w[f"{pre}embedding/kernel"].shape[-1])
            depth = len({k[len(pre):].split("/")[1] for k in keys
                         if k.startswith(f"{pre}Transformer/encoderblock_")})
    except Exception:  # noqa: BLE001 — unreadable: timm's loader reports it
        return ""
    facts = []
    model_dim = getattr(model, "embed_dim", dim)
    if model_dim != dim:
        facts.append(f"embed_dim {dim} (model {model_dim})")
    blocks: Any = getattr(model, "blocks", None)
    if blocks is not None and depth and depth != len(blocks):
        facts.append(f"depth {depth} (model {len(blocks)})")
    return ", ".join(facts)


def checkpoint_label(name: str, repo: str, commit: str, sha: str) -> str:
    """What figures say for a hub checkpoint, e.g. "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k @ 1a2b3c4
    (HF cache, sha256 0123456789ab)"; the timm name is added when the repo id does not contain it."""
    who = repo if name in repo else f"{name} from {repo}"
    return f"{who} @ {commit[:7]} (HF cache, sha256 {sha[:12]})"


def load_checkpoint(model: torch.nn.Module, name: str, progress: Optional[Callable[[str], None]] = None) -> WeightsInfo:
    """timm's checkpoint for ``name`` (``arch`` = its default tag, or ``arch.tag``): from the HF cache,
    else downloaded once into it (``analysis.hub``); loaded through the same checked loaders as a file."""
    from vitnotes.analysis import hub
    from vitnotes.data.tags import read_tag

    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise WeightsError("`pretrained:` needs huggingface_hub", hint="pip install huggingface_hub") from None
    ck = hub.resolve(name)
    got = hub.fetch(ck, progress)
    if progress:
        progress(f"loading {ck.name} ({got.filename}, {hub.human_bytes(got.size)})")
    sha = load_file(model, got.path)
    facts = read_tag(ck.tag)
    return WeightsInfo(
        kind="hf-cache", source=ck.hub_id, sha256=sha,
        label=checkpoint_label(ck.name, ck.repo, got.commit, sha),
        checkpoint=ck.name, hub_id=ck.repo, revision=got.commit, filename=got.filename, size=got.size,
        downloaded=got.downloaded, pretrained_on=facts.pretrained_on, fine_tuned_on=facts.fine_tuned_on,
        recipe=facts.recipe,
    )
