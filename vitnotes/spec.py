"""NoteSpec: what a note asks for, validated, with every error naming the bad key (docs/DESIGN.md §3).

Sources, first wins per note: the note's `vitnotes:` frontmatter, then `--model`, then the vault
default in `.vitnotes/config.yaml`, then the paper's ViT-B/16. Paths in a note (or the vault config)
resolve inside the vault, and may not leave it — `..`, symlinks (of the folder or of an image file
in it), absolute and `~` paths alike — unless the vault's `.vitnotes/config.yaml` lists the folder
under `read_outside_vault:`: a note synced from someone else's vault must not make vitnotes read
arbitrary files. Paths typed on the command line are taken as typed. No torch here.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from vitnotes import sections as registry
from vitnotes.analysis.request import AnalysisRequest
from vitnotes.errors import SpecError

DEFAULT_MODEL = "vit_base_patch16_224"
ModelSource = Literal["frontmatter", "--model", "vault config", "default"]
KEYS = ("model", "img_size", "model_kwargs", "weights", "pretrained", "images", "num_images", "sections",
        "properties")
ALLOW_KEY = "read_outside_vault"  # vault config only: folders outside the vault that notes may read


@dataclass(frozen=True)
class NoteSpec:
    model: str
    source: ModelSource  # where the model came from
    img_size: Optional[int] = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    weights: Optional[Path] = None
    pretrained: bool = False
    images: Optional[Path] = None
    num_images: int = 16
    sections: tuple[str, ...] = field(default_factory=registry.default_names)
    properties: bool = True  # write the vn_ frontmatter properties (render/properties.py)
    sections_explicit: bool = False  # listed in the note or the vault config; else the model's defaults apply

    def request(self, device: str = "cpu") -> AnalysisRequest:
        return AnalysisRequest(
            model=self.model,
            img_size=self.img_size,
            model_kwargs=dict(self.model_kwargs),
            sections=self.sections,
            weights=str(self.weights) if self.weights else None,
            pretrained=self.pretrained,
            images=str(self.images) if self.images else None,
            num_images=self.num_images,
            device=device,
        )


def check_model_kwargs(kwargs: Any, key: str = "model_kwargs") -> dict[str, Any]:
    """JSON-typed values only (numbers, strings, bools, lists, nested dicts of those)."""
    if not isinstance(kwargs, dict):
        raise SpecError(f"{key} must be a mapping of timm keyword arguments", "e.g. {depth: 6, num_heads: 4}")

    def ok(v: Any) -> bool:
        if v is None or isinstance(v, (bool, int, float, str)):
            return True
        if isinstance(v, list):
            return all(ok(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and ok(x) for k, x in v.items())
        return False

    for name, value in kwargs.items():
        if not isinstance(name, str):
            raise SpecError(f"{key}: key {name!r} is not a string")
        if not ok(value):
            raise SpecError(
                f"{key}.{name}: {type(value).__name__} values are not allowed",
                "use numbers, strings, booleans or lists (JSON types)",
            )
    return dict(kwargs)


def resolve_user_path(value: Any, vault_root: Optional[Path], *, key: str, folder: bool = False,
                      allowed: tuple[Path, ...] = ()) -> Path:
    """A path from a note or the command line, resolved and checked to exist.

    With a vault (a path from a note or the vault config) the real path — symlinks followed, an
    image folder's files included — must lie inside the vault or under one of ``allowed`` (the
    vault config's `read_outside_vault:`). Without one (the command line) it is taken as typed,
    relative to the current folder.
    """
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{key} must be a path (a non-empty string)")
    raw = Path(os.path.expanduser(value.strip()))
    base = vault_root if vault_root is not None else Path.cwd()
    path = raw if raw.is_absolute() else base / raw
    if vault_root is not None:
        _check_inside(path, value, vault_root, key, allowed)
    if folder and not path.is_dir():
        raise SpecError(f"{key}: folder {value!r} not found (looked at {path})", "create it or fix the path")
    if not folder and not path.is_file():
        raise SpecError(f"{key}: file {value!r} not found (looked at {path})", "fix the path")
    if folder and vault_root is not None:
        from vitnotes.analysis.request import IMAGE_EXTS

        for entry in sorted(path.iterdir()):
            if entry.suffix.lower() in IMAGE_EXTS and entry.is_symlink():
                _check_inside(entry, f"{value}/{entry.name}", vault_root, key, allowed)
    return path


def _check_inside(path: Path, value: str, vault_root: Path, key: str, allowed: tuple[Path, ...]) -> None:
    root = vault_root.resolve()
    real = path.resolve()
    if real.is_relative_to(root) or any(real.is_relative_to(a) for a in allowed):
        return
    raise SpecError(
        f"{key}: {value!r} points outside the vault ({root})",
        f"use a path inside the vault, or list its folder under `{ALLOW_KEY}:` in .vitnotes/config.yaml",
    )


def allowed_roots(vault_config: Optional[dict[str, Any]]) -> tuple[Path, ...]:
    """The vault config's `read_outside_vault:` folders (absolute or `~` paths), resolved."""
    value = (vault_config or {}).get(ALLOW_KEY)
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise SpecError(f".vitnotes/config.yaml: {ALLOW_KEY} must be a list of folders", "e.g. [~/checkpoints]")
    roots = [Path(os.path.expanduser(v.strip())) for v in items]
    for r in roots:
        if not r.is_absolute():
            raise SpecError(f".vitnotes/config.yaml: {ALLOW_KEY}: {str(r)!r} is not an absolute path",
                            "write the full path (or ~/…) of a folder outside the vault")
    return tuple(r.resolve() for r in roots)


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(choices)}"


def _int(value: Any, key: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise SpecError(f"{key} must be a whole number between {lo} and {hi}, got {value!r}")
    return value


def _fields(block: Any, where: str) -> dict[str, Any]:
    """Normalise the short form (`vitnotes: NAME`) and reject unknown keys."""
    if block is None:
        return {}
    if isinstance(block, str):
        return {"model": block}
    if not isinstance(block, dict):
        raise SpecError(f"{where} must be a model name or a mapping", "e.g. vitnotes: vit_base_patch16_224")
    for key in block:
        if key not in KEYS:
            raise SpecError(f"unknown key '{where}.{key}'", _suggest(str(key), KEYS))
    return dict(block)


def read_vault_config(vault_root: Path) -> Optional[dict[str, Any]]:
    """``<vault>/.vitnotes/config.yaml`` as read (None when absent); SpecError when it is broken."""
    from vitnotes.obsidian.vault import read_yaml_mapping

    from vitnotes.paths import vault_paths

    return read_yaml_mapping(vault_paths(vault_root).config, "must be a mapping of defaults",
                             "e.g. model: vit_base_patch16_224")


def vault_defaults(vault_config: Optional[dict[str, Any]]) -> dict[str, Any]:
    """The vault-wide `vitnotes:` keys: top level, or under a `vitnotes:` key, as in a note."""
    config = {k: v for k, v in (vault_config or {}).items() if k != ALLOW_KEY}
    return _fields(config.get("vitnotes", config), ".vitnotes/config.yaml")


_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")


def _pretrained(model: str, value: Any) -> tuple[str, bool]:
    """(model, pretrained): `pretrained: TAG` names timm's checkpoint ``model.TAG``; a model named
    ``arch.tag`` asks for that checkpoint unless `pretrained: false` says otherwise."""
    arch, _, tag = model.partition(".")
    if value is None:
        return model, bool(tag)
    if isinstance(value, bool):
        return model, value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false", "on", "off"):
        raise SpecError(f"vitnotes.pretrained must be true or false (unquoted) or a timm tag, got {value!r}",
                        "write pretrained: true")
    if not isinstance(value, str) or not _TAG.fullmatch(value.strip()):
        raise SpecError(f"vitnotes.pretrained must be true, false or a timm pretrained tag, got {value!r}",
                        "e.g. pretrained: true, or pretrained: augreg2_in21k_ft_in1k")
    value = value.strip()
    if tag and tag != value:
        raise SpecError(f"vitnotes.model names tag {tag!r} but vitnotes.pretrained names {value!r}", "keep one of them")
    return f"{arch}.{value}", True


def build_spec(
    frontmatter: Optional[dict[str, Any]],
    *,
    vault_root: Optional[Path],
    cli_model: Optional[str] = None,
    vault_config: Optional[dict[str, Any]] = None,
) -> NoteSpec:
    """Merge the sources and validate every field; raises SpecError naming the key."""
    fm = frontmatter.get("vitnotes") if isinstance(frontmatter, dict) else None
    note = _fields(fm, "vitnotes")
    defaults = vault_defaults(vault_config)
    merged = {**defaults, **note}

    source: ModelSource
    if "model" in note:
        model, source = note["model"], "frontmatter"
    elif cli_model:
        model, source = cli_model, "--model"
    elif "model" in defaults:
        model, source = defaults["model"], "vault config"
    else:
        model, source = DEFAULT_MODEL, "default"
    if not isinstance(model, str) or not model.strip():
        raise SpecError("vitnotes.model must be a timm model name", "e.g. vit_base_patch16_224")

    known = registry.names()
    sections = merged.get("sections", registry.default_names())
    if isinstance(sections, str):
        sections = [s.strip() for s in sections.split(",")]
    if not isinstance(sections, (list, tuple)) or not sections:
        raise SpecError("vitnotes.sections must be a list of section names", f"choose from {', '.join(known)}")
    for s in sections:
        if s not in known:
            raise SpecError(f"vitnotes.sections: unknown section {s!r}", _suggest(str(s), known))

    img_size = merged.get("img_size")
    model, pretrained = _pretrained(model.strip(), merged.get("pretrained"))
    properties = merged.get("properties", True)
    if not isinstance(properties, bool):
        raise SpecError(f"vitnotes.properties must be true or false, got {properties!r}")
    weights = merged.get("weights")
    if weights is not None and pretrained:
        raise SpecError("vitnotes.weights and vitnotes.pretrained are both set", "keep one of them")
    images = merged.get("images")
    allowed = allowed_roots(vault_config)
    return NoteSpec(
        model=model,
        source=source,
        img_size=None if img_size is None else _int(img_size, "vitnotes.img_size", 8, 8192),
        model_kwargs=check_model_kwargs(merged.get("model_kwargs") or {}, key="vitnotes.model_kwargs"),
        weights=None if weights is None else resolve_user_path(weights, vault_root, key="vitnotes.weights",
                                                                    allowed=allowed),
        pretrained=pretrained,
        images=None if images is None else resolve_user_path(images, vault_root, key="vitnotes.images", folder=True,
                                                                  allowed=allowed),
        num_images=_int(merged.get("num_images", 16), "vitnotes.num_images", 1, 1024),
        sections=tuple(dict.fromkeys(sections)),
        properties=properties,
        sections_explicit="sections" in merged,
    )
