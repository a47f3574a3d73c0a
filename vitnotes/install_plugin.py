"""`vitnotes install-plugin VAULT`: copy the built Obsidian plugin into a vault, so no npm is needed.

The plugin (main.js + manifest.json, built from obsidian-plugin/ by esbuild) ships inside the Python
package in ``vitnotes/plugin/``; Obsidian loads community plugins from
``VAULT/<config dir>/plugins/<id>/``. Only those two files are replaced: the plugin's settings
(data.json) in that folder are kept.
"""

from __future__ import annotations

import argparse
import json
from importlib.resources import files
from pathlib import Path

from vitnotes.errors import VitnotesError

PLUGIN_ID = "vitnotes"
PLUGIN_FILES = ("main.js", "manifest.json")
class PluginInstallError(VitnotesError):
    """The vault or the packaged plugin is not usable for an install."""


def packaged_plugin_dir() -> Path:
    """Where the built plugin files ship: ``vitnotes/plugin/`` in a checkout and in a wheel alike."""
    here = Path(str(files("vitnotes"))) / "plugin"
    missing = [name for name in PLUGIN_FILES if not (here / name).is_file()]
    if missing:
        raise PluginInstallError(
            f"the built Obsidian plugin is missing from this vitnotes install ({', '.join(missing)} not in {here})",
            "rebuild it: cd obsidian-plugin && npm ci && npm run build",
        )
    return here


def _enable(config: Path) -> bool:
    """Add the plugin to community-plugins.json (Obsidian's list of enabled plugins)."""
    listing = config / "community-plugins.json"
    enabled: list = []
    if listing.exists():
        try:
            enabled = json.loads(listing.read_text(encoding="utf-8") or "[]")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PluginInstallError(
                f"{listing} is not a JSON list ({exc})", "fix or delete it, then enable vitnotes in Obsidian"
            ) from None
        if not isinstance(enabled, list):
            raise PluginInstallError(f"{listing} is not a JSON list", "fix it, then enable vitnotes in Obsidian")
    if PLUGIN_ID in enabled:
        return False
    from vitnotes.obsidian.write import write_bytes_atomic

    return write_bytes_atomic(listing, (json.dumps(enabled + [PLUGIN_ID], indent=2) + "\n").encode(), config.parent)


def install(vault: Path, enable: bool = False) -> tuple[Path, bool]:
    """Copy the plugin into the vault; returns (plugin folder, whether any file changed)."""
    from vitnotes.obsidian.vault import Vault
    from vitnotes.obsidian.write import write_bytes_atomic  # atomic, skips identical bytes

    vault = vault.expanduser()
    if not vault.is_dir():
        raise PluginInstallError(f"{vault} is not a folder", "give the path of your Obsidian vault")
    config = Vault.config_dir_of(vault)  # the note engine's rule (docs/DESIGN.md §4), one place
    if config is None:
        parent = next((p for p in vault.resolve().parents if Vault.config_dir_of(p)), None)
        hint = (
            f"did you mean the vault {parent}?"
            if parent
            else "open the folder in Obsidian once (it creates .obsidian), then run this again"
        )
        raise PluginInstallError(f"{vault} has no Obsidian config folder (.obsidian), so it is not a vault", hint)
    source = packaged_plugin_dir()
    target = config / "plugins" / PLUGIN_ID
    # A plugins folder symlinked out of the vault is not followed for writing (docs/DESIGN.md §7).
    if not target.resolve().is_relative_to(vault.resolve()):
        raise PluginInstallError(
            f"{target} leads outside the vault (to {target.resolve()})",
            "remove the link, or copy main.js and manifest.json there yourself",
        )
    target.mkdir(parents=True, exist_ok=True)
    changed = False
    for name in PLUGIN_FILES:
        changed |= write_bytes_atomic(target / name, (source / name).read_bytes(), vault)
    if enable:
        changed |= _enable(config)
    return target, changed


def _offer_base(vault: Path) -> None:
    """The comparison view (`vitnotes base`) comes with the plugin when the vault has none yet."""
    from vitnotes.obsidian.base_file import DEFAULT_NAME, write_base

    if not (vault / DEFAULT_NAME).exists():
        print(f"wrote {write_base(vault).path}: a Bases table of your paper notes (open it in Obsidian)")


def run(args: argparse.Namespace) -> int:
    target, changed = install(Path(args.vault), enable=args.enable)
    _offer_base(Path(args.vault).expanduser())
    version = json.loads((target / "manifest.json").read_text(encoding="utf-8")).get("version", "?")
    if changed:
        print(f"installed vitnotes plugin {version} into {target}")
    else:
        print(f"vitnotes plugin {version} is already up to date in {target}")
    if args.enable:
        print("enabled it in community-plugins.json; if Obsidian is open, reload it (command: Reload app without saving)")
    else:
        print("next: in Obsidian, Settings → Community plugins → turn on community plugins if asked, "
              "then enable \"vitnotes\" (reload the list if it is not shown)")
    return 0


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("vault", metavar="VAULT", help="the vault folder (the one that holds .obsidian)")
    p.add_argument("--enable", action="store_true",
                   help="also switch the plugin on (adds it to the vault's community-plugins.json)")
    p.set_defaults(func=run)
