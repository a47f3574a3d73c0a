"""Provenance and labels: which model, settings, weights and images a section was computed from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from vitnotes.analysis.report import Report
from vitnotes.render.numbers import fmt_shape


def build_model_line(report: Report, source: str = "") -> str:
    """The note's one provenance line (model · input · weights · where the settings came from), at
    the top of its first region; figures repeat only a short weights caption."""
    parts = [f"`{report.model}`"]
    if report.card.img_size:
        parts.append(f"input {fmt_shape(report.card.img_size)}")
    if report.model_kwargs:
        kwargs = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(report.model_kwargs.items()))
        parts.append("kwargs " + kwargs.replace("`", "'"))
    if report.weights is not None:
        parts.append(weights_short(report))
    if source:
        parts.append(source)
    return " · ".join(parts)


def weights_short(report: Report) -> str:
    """The weights in a few words: "random init (seed 0)", a file with its hash, or a checkpoint:
    hub id, revision and sha256 prefix when the Report has them."""
    w = report.weights
    if w is None:
        return ""
    if w.kind == "random":
        return "random init" + (f" (seed {w.seed})" if w.seed is not None else "")
    name = w.checkpoint or w.hub_id or (Path(w.source).name if w.kind == "file" else w.source) or w.kind
    extra = [f"rev {w.revision[:8]}"] if w.revision else []
    if w.sha256:
        extra.append(f"sha256 {w.sha256[:8]}")
    return f"weights {name}" + (f" ({', '.join(extra)})" if extra else "")


def weights_label(report: Report) -> str:
    """What every weight-dependent figure says; random weights always say they are not trained,
    a hub checkpoint says which (repo @ commit, sha256) and what it was trained on."""
    w = report.weights
    if w is None:
        return "weights: unknown"
    label = w.label or (w.source if w.kind != "random" else "")
    if w.kind == "random":
        seed = f" (seed {w.seed})" if w.seed is not None else ""
        if "not a trained model" not in label:
            label = (label + " — " if label else f"random init{seed} — ") + "not a trained model"
    training = training_text(w)
    return (f"{label} — {training}" if training else label) or w.kind


def training_text(w) -> str:
    """The data a checkpoint's tag names, e.g. "pre-trained on ImageNet-21k → fine-tuned on ImageNet-1k"."""
    pre = " + ".join(getattr(w, "pretrained_on", []) or [])
    ft = " → ".join(getattr(w, "fine_tuned_on", []) or [])
    if pre and ft:
        return f"pre-trained on {pre} → fine-tuned on {ft}"
    if pre:
        return f"trained on {pre}"
    return f"fine-tuned on {ft}" if ft else ""


def weights_phrases(report: Report) -> list[str]:
    """The weights as short phrases a figure title may break between (never inside one)."""
    w = report.weights
    if w is None:
        return ["weights unknown"]
    if w.kind == "random":
        return [f"random init (seed {w.seed})" if w.seed is not None else "random init", "not a trained model"]
    if w.hub_id:
        out = [f"{w.hub_id} @ {w.revision[:7]}", f"sha256 {w.sha256[:12]}"]
    elif w.kind == "file":
        out = [Path(w.source).name or w.label, f"sha256 {w.sha256[:12]}"]
    else:
        out = [w.label or w.source or w.kind]
    training = training_text(w)
    return out + ([training] if training else [])


def shown_path(source: str, root: Optional[Path]) -> str:
    """`Attachments/samples` rather than /home/me/vault/Attachments/samples, when inside the vault."""
    if root is None or not Path(source).is_absolute():
        return source
    try:
        return Path(source).relative_to(root).as_posix() or "."
    except ValueError:
        return source
