"""Obsidian vault conventions (docs/DESIGN.md §4): root, config folder, attachments, links, what to skip."""

from __future__ import annotations

import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vitnotes.errors import SpecError, first_line
from vitnotes.paths import STATE_DIR_NAME, vault_paths

# Files Obsidian writes into its config folder; any one of them marks a renamed config folder.
_CONFIG_FILES = ("app.json", "appearance.json", "core-plugins.json", "community-plugins.json", "workspace.json")
_NOT_CONFIG = {".git", ".trash", STATE_DIR_NAME}
_CONFLICT = ("(conflicted copy", ".sync-conflict-", "conflicted copy")
# Characters Obsidian refuses in file names or that break [[links]]: replaced in figure names.
_BAD_NAME = re.compile(r'[#|^:\[\]%*"<>?\\/]')


def _is_config_dir(d: Path) -> bool:
    if not d.name.startswith(".") or d.name in _NOT_CONFIG or not d.is_dir():
        return False
    if d.name == ".obsidian" or any((d / f).is_file() for f in _CONFIG_FILES):
        return True
    plugins = d / "plugins"  # community plugins: plugins/<id>/manifest.json
    return plugins.is_dir() and any((p / "manifest.json").is_file() for p in plugins.iterdir() if p.is_dir())


def find_config_dir(folder: Path) -> Path | None:
    """The Obsidian config folder directly inside ``folder`` (``.obsidian`` first), or None."""
    if (folder / ".obsidian").is_dir():
        return folder / ".obsidian"
    try:
        candidates = sorted(p for p in folder.iterdir() if p.name.startswith("."))
    except OSError:
        return None
    return next((p for p in candidates if _is_config_dir(p)), None)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # Obsidian falls back to defaults for a missing or broken file; so do we
    return data if isinstance(data, dict) else {}


def read_yaml_mapping(path: Path, must: str, example: str) -> dict[str, Any] | None:
    """A vitnotes settings file (``.vitnotes/*.yaml``): its mapping, None when absent or empty.

    Unlike Obsidian's own files, a broken one is an error (SpecError naming the file): silently
    ignoring a user's settings would fill notes the user did not ask for.
    """
    import yaml

    from vitnotes.obsidian import yaml_bounded

    if not path.is_file():
        return None
    try:
        data = yaml_bounded.load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not valid YAML ({first_line(exc)})", "fix the file or delete it") from None
    if data is not None and not isinstance(data, dict):
        raise SpecError(f"{path}: {must}", example)
    return data


class Vault:
    """An Obsidian vault (or, with ``is_fallback``, a plain folder treated as one)."""

    def __init__(self, root: Path, config_dir: Path | None):
        self.root = Path(root).absolute()
        self.config_dir = config_dir
        self.is_fallback = config_dir is None  # no Obsidian config found: the note's folder stands in

    @classmethod
    def for_note(cls, note_path: Path | str) -> "Vault":
        """The nearest ancestor folder holding an Obsidian config folder; else the note's own folder."""
        start = Path(note_path).absolute()
        folder = start if start.is_dir() else start.parent
        for d in (folder, *folder.parents):
            cfg = find_config_dir(d)
            if cfg is not None:
                return cls(d, cfg)
        return cls(folder, None)

    @staticmethod
    def config_dir_of(folder: Path | str) -> Path | None:
        """The config folder directly inside ``folder`` (the rule ``for_note`` applies to each ancestor)."""
        return find_config_dir(Path(folder))

    @classmethod
    def at(cls, root: Path | str) -> "Vault":
        root = Path(root).absolute()
        return cls(root, find_config_dir(root))

    # ------------------------------------------------------------------ settings
    @cached_property
    def app(self) -> dict[str, Any]:
        return _read_json(self.config_dir / "app.json") if self.config_dir else {}

    @property
    def use_markdown_links(self) -> bool:
        return bool(self.app.get("useMarkdownLinks", False))

    @cached_property
    def templates_folder(self) -> Path | None:
        if not self.config_dir:
            return None
        folder = _read_json(self.config_dir / "templates.json").get("folder")
        if not isinstance(folder, str) or not folder.strip("/ "):
            return None
        return self.root / folder.strip("/")

    @property
    def state_dir(self) -> Path:
        d = vault_paths(self.root).state_dir
        d.mkdir(exist_ok=True)
        return d

    def display(self, path: Path | str) -> str:
        """A short name for messages: the POSIX path from the vault root, or the path as given outside it."""
        p = Path(os.path.normpath(Path(path).absolute()))
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _inside(self, p: Path) -> bool:
        return Path(os.path.normpath(p)).is_relative_to(self.root)

    def attachment_dir(self, note_path: Path | str) -> Path:
        """Where figures for this note go (``attachmentFolderPath``); not created here."""
        value = self.app.get("attachmentFolderPath")
        note_dir = Path(note_path).absolute().parent
        if not isinstance(value, str) or value.strip() in ("", "/"):
            out = self.root
        elif value == "." or value.startswith("./"):
            out = note_dir / value[2:].strip("/") if value != "." else note_dir
        else:
            out = self.root / value.strip("/")
        out = Path(os.path.normpath(out))
        if not self._inside(out):
            where = self.config_dir.name if self.config_dir else "the config folder"
            raise SpecError(
                f"`attachmentFolderPath` in {where}/app.json ({value!r}) points outside the vault",
                "set it in Obsidian: Settings → Files and links → Default location for new attachments",
            )
        return out

    def new_file_dir(self, current: Path | str | None = None) -> Path:
        """Folder for a new note (``newFileLocation``: root / current / folder + ``newFileFolderPath``)."""
        where = self.app.get("newFileLocation", "root")
        if where == "folder" and isinstance(self.app.get("newFileFolderPath"), str):
            out = Path(os.path.normpath(self.root / self.app["newFileFolderPath"].strip("/")))
            return out if self._inside(out) else self.root
        if where == "current" and current is not None:
            return Path(current).absolute()
        return self.root

    # ------------------------------------------------------------------ names and links
    @staticmethod
    def _figure_key(stem: str) -> str:
        """What a figure name is made of, as a file system compares it: two notes whose names differ
        only in characters replaced by "-" ("a#1", "a-1") or in case ("ViT", "vit": one file on macOS
        and Windows) would otherwise overwrite each other's figures."""
        return (_BAD_NAME.sub("-", stem).strip(" .") or "note").casefold()

    @cached_property
    def _stems(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for f in filenames:
                if f.endswith(".md"):
                    key = self._figure_key(f[:-3])
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def figure_name(self, note_path: Path | str, section: str) -> str:
        """``<note name>.<section>.png``, safe for [[links]]; notes sharing a name get their folder prefixed."""
        note_path = Path(note_path).absolute()
        base = note_path.stem
        if self._stems.get(self._figure_key(base), 0) > 1:
            try:
                rel = note_path.parent.relative_to(self.root)
            except ValueError:
                rel = Path()
            if rel.parts:
                base = " - ".join(rel.parts) + " - " + base
        base = _BAD_NAME.sub("-", base).strip(" .") or "note"
        return f"{base}.{_BAD_NAME.sub('-', section)}.png"

    def embed(self, png_path: Path | str, note_path: Path | str, in_table: bool = False, width: int | None = None) -> str:
        """``![[name.png]]`` (``![[name.png\\|300]]`` in a table), or a Markdown link when the vault uses them."""
        png_path = Path(png_path).absolute()
        bar = "\\|" if in_table else "|"
        if self.use_markdown_links:
            rel = os.path.relpath(png_path, Path(note_path).absolute().parent).replace(os.sep, "/")
            alt = f"{bar}{width}" if width else ""
            return f"![{alt}]({quote(rel)})"
        size = f"{bar}{width}" if width else ""
        return f"![[{png_path.name}{size}]]"

    # ------------------------------------------------------------------ what the daemon ignores
    def is_skipped(self, path: Path | str) -> bool:
        """Paths vitnotes never treats as notes: hidden folders (config, .trash, .git, .vitnotes), the
        templates folder, its own figures and op-trace notes, temp files and sync-conflict copies."""
        p = Path(os.path.normpath(Path(path).absolute()))
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            return True
        if any(part.startswith(".") for part in rel.parts):
            return True  # Obsidian itself ignores dot-files and dot-folders
        if self.templates_folder is not None and p.is_relative_to(self.templates_folder):
            return True
        name = p.name.lower()
        if any(c in name for c in _CONFLICT):
            return True
        from vitnotes.obsidian.companion import is_companion_name

        if is_companion_name(name):
            return True  # a companion note vitnotes writes: the op trace, the model's code (obsidian/companion.py)
        if name.endswith(".png") and re.search(r"\.[a-z_]+\.png$", name):
            from vitnotes.sections import is_section

            return is_section(name[:-4].rsplit(".", 1)[-1])
        return False
