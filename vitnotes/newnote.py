"""`vitnotes new TITLE`: a paper note from the template, with the `vitnotes:` key already set.

The template is rendered by Jinja2 (sandboxed: a vault may override it in
`.vitnotes/templates/paper-study.md`) and the note lands in Obsidian's new-file folder.
An existing note is never overwritten.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Optional

from vitnotes.errors import NoteError, SpecError
from vitnotes.obsidian.frontmatter import yaml_scalar

TEMPLATE = "paper-study.md"
# Characters Obsidian refuses in file names or that break [[links]].
_BAD_NAME = re.compile(r'[\\/:*?"<>|#^\[\]]')


def note_filename(title: str) -> str:
    name = _BAD_NAME.sub(" ", title).strip().strip(".")
    name = re.sub(r"\s+", " ", name)
    if not name:
        raise SpecError(f"title {title!r} has no usable characters for a file name")
    return name + ".md"


def render_template(title: str, model: str, vault_root: Path, pretrained: bool = False) -> str:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from vitnotes.paths import templates_dir, vault_paths

    loader = jinja2.FileSystemLoader([str(vault_paths(vault_root).templates), str(templates_dir())])
    env = SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        return env.get_template(TEMPLATE).render(title=title, model=model, date=_dt.date.today().isoformat(),
                                                  pretrained=pretrained)
    except jinja2.TemplateError as exc:
        raise NoteError(f"template {TEMPLATE} failed: {exc}", "fix .vitnotes/templates/paper-study.md") from None


def check_model_name(model: str) -> None:
    """A typo in ``--model`` is caught now, with the closest timm names, not at the first fill."""
    if model.startswith("hf-hub:"):  # hub names are checked by the fill, which never downloads
        return
    from vitnotes.analysis.build import closest_models

    import timm

    if not timm.is_model(model):
        close = closest_models(model)
        hint = f"did you mean {', '.join(close)}?" if close else "list names with `vitnotes models WORD`"
        raise SpecError(f"unknown model {model!r}", hint)


def _has_pretrained(model: str) -> bool:
    if model.startswith("hf-hub:"):
        return False
    from vitnotes.analysis.hub import has_pretrained

    return has_pretrained(model)


def new_note(title: str, *, model: Optional[str] = None, vault: str | Path = ".") -> Path:
    from vitnotes.obsidian.vault import Vault
    from vitnotes.obsidian.write import write_note
    from vitnotes.spec import DEFAULT_MODEL, read_vault_config, vault_defaults

    folder = Path(vault).expanduser().absolute()
    if not folder.is_dir():
        raise NoteError(f"vault folder not found: {folder}", "pass --vault DIR")
    v = Vault.for_note(folder / "_.md")
    defaults = vault_defaults(read_vault_config(v.root))
    if model is None:  # the vault default `fill` would use, read the same way
        model = defaults.get("model") or DEFAULT_MODEL
    target = v.new_file_dir() / note_filename(title)
    # Trained weights when timm has them (the paper's figures mean something only then), unless the
    # vault already decides `pretrained:` for every note.
    pretrained = "pretrained" not in defaults and "weights" not in defaults and _has_pretrained(model)
    text = render_template(title, yaml_scalar(model), v.root, pretrained=pretrained)
    write_note(target, text.encode("utf-8"), expected_raw=None, vault_root=v.root)  # never overwrites
    return target
