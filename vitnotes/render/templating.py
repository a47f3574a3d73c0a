"""The Jinja2 side of rendering: the sandboxed environment, template folders, tidy output, error callouts.

Vault templates are untrusted text: every template runs in Jinja2's sandbox with a time limit and
no giant values (``render/limits.py``), is read only from a real file inside its template folder
(``RealFileLoader``: no symlink out, not even for ``{% include %}``), and any failure becomes a
:class:`SectionTemplateError` (one line, never a traceback). Nothing from the vault is executed
or unmarshalled: compiled templates are cached only in Jinja's per-user folder outside the vault
(created 0700 and checked to be the user's own by Jinja), never in ``<vault>/.vitnotes``.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, Optional, Sequence

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from vitnotes.errors import VitnotesError
from vitnotes.render.limits import BoundedSandbox, TemplateLimit, time_limit
from vitnotes.render.numbers import (
    callout, fmt_int, fmt_macs, fmt_params, fmt_pct, fmt_shape, md_cell, md_table, quote, si,
)

TEMPLATE_SUFFIX = ".md.j2"
ERROR_TEMPLATE = "error.md.j2"


class SectionTemplateError(VitnotesError):
    """A section template (usually a vault override) failed to load or render."""


def shipped_template_dir() -> Path:
    from vitnotes.paths import templates_dir

    return templates_dir() / "sections"


def default_template_dirs(vault: Optional[Path] = None) -> list[Path]:
    """``<vault>/.vitnotes/templates`` (when it exists) before the shipped section templates.

    SectionTemplateError when that folder is a symlink (or under one) leading out of the vault."""
    from vitnotes.paths import vault_paths

    dirs = []
    folder = vault_paths(vault).templates if vault is not None else None
    if folder is not None and folder.is_dir():
        if not folder.resolve().is_relative_to(Path(vault).resolve()):
            raise SectionTemplateError(f"{folder} leads out of the vault (to {folder.resolve()})",
                                       hint="vitnotes reads templates only from real folders inside the vault")
        dirs.append(folder)
    return dirs + [shipped_template_dir()]


class RealFileLoader(jinja2.FileSystemLoader):
    """FileSystemLoader that reads only regular files lying, symlinks resolved, inside their folder."""

    def get_source(self, environment, template):
        pieces = split_template_path(template)  # refuses ".." like Jinja's own loader
        for folder in self.searchpath:
            path = os.path.join(folder, *pieces)
            if not os.path.lexists(path):
                continue
            real = os.path.realpath(path)
            if real != os.path.join(os.path.realpath(folder), *pieces):
                raise SectionTemplateError(f"template {path} is a symlink (to {real})",
                                           hint="vitnotes reads templates only from real files in the template "
                                                "folder; copy the file there instead")
            if not stat.S_ISREG(os.stat(real).st_mode):
                raise SectionTemplateError(f"template {path} is not a regular file", hint="delete it")
            return super().get_source(environment, template)
        raise jinja2.TemplateNotFound(template)


def _user_bytecode_cache() -> Optional[jinja2.BytecodeCache]:
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):  # Jinja refuses a folder that is not the user's own (0700)
        return None  # a cache is an optimisation: compile instead


def render_error(message: str, template_dirs: Sequence[Path] = ()) -> str:
    """The failure callout for a region: ``> [!warning] vitnotes: <message>`` (via error.md.j2).

    If the error template itself fails, the plain callout is returned: an error must never
    hide behind another one.
    """
    lines = (message.strip() or "unknown error").replace("\r\n", "\n").split("\n")
    plain = f"> [!warning] vitnotes: {lines[0]}" + ("\n" + quote("\n".join(lines[1:])) if lines[1:] else "")
    try:
        text = tidy(render_template(make_environment(template_dirs), ERROR_TEMPLATE,
                            {"message": lines[0], "details": lines[1:], "section": "error"}))
    except SectionTemplateError:
        return tidy(plain)
    return text if text.strip() else tidy(plain)


def make_environment(template_dirs: Sequence[Path] = (), bytecode_cache: bool = False) -> SandboxedEnvironment:
    """Sandboxed and bounded (vault templates are untrusted), StrictUndefined (a typo is an error, not
    a blank), no autoescape (the output is Markdown, not HTML)."""
    dirs = [Path(d) for d in template_dirs]
    shipped = shipped_template_dir()
    if not any(_same(d, shipped) for d in dirs):
        dirs.append(shipped)
    # Jinja's default folder: <tmp>/_jinja2-cache-<uid>, mode 0700, ownership checked (never the vault:
    # its files are unmarshalled code); entries are keyed by template name + source checksum.
    env = BoundedSandbox(
        bytecode_cache=_user_bytecode_cache() if bytecode_cache else None,
        loader=RealFileLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=fmt_int, params=fmt_params, macs=fmt_macs, si=si, pct=fmt_pct, shape=fmt_shape,
        cell=md_cell, quote=quote,
    )
    env.globals.update(table=md_table, callout=callout)
    return env


def tidy(text: str) -> str:
    """LF only, no trailing spaces, at most one blank line in a row, no blank edges, one final LF."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return body + "\n"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def render_template(env: SandboxedEnvironment, name: str, variables: dict[str, Any]) -> str:
    where = name
    try:
        template = env.get_template(name)
        where = template.filename or name
        with time_limit():
            return template.render(**variables)
    except SectionTemplateError:
        raise
    except TemplateLimit as exc:
        raise SectionTemplateError(f"template {where} stopped: {exc} (a loop that never ends?)",
                                   hint="simplify the template or delete the override") from None
    except jinja2.TemplateNotFound:
        raise SectionTemplateError(
            f"no template for section '{variables.get('section', name)}' ({name})",
            hint="use one of the known section names or add the template to <vault>/.vitnotes/templates",
        ) from None
    except jinja2.sandbox.SecurityError as exc:
        raise SectionTemplateError(
            f"template {where} tried an unsafe operation: {exc}",
            hint="templates are sandboxed; use only the variables and filters vitnotes provides",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise SectionTemplateError(
            f"template {exc.filename or where} line {exc.lineno}: {exc.message}",
            hint="fix the Jinja2 syntax or delete the override",
        ) from None
    except Exception as exc:  # an untrusted template can fail in many ways; none may be a traceback
        raise SectionTemplateError(
            f"template {where} failed: {type(exc).__name__}: {exc}",
            hint="fix the template or delete the override to get the shipped one back",
        ) from None
