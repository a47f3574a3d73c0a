"""`vitnotes install-plugin VAULT`: the shipped plugin lands where Obsidian loads it from, nothing else changes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from vitnotes import install_plugin
from vitnotes.errors import VitnotesError

SHIPPED = Path(install_plugin.__file__).parent / "plugin"


def _args(vault: Path, *extra: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    install_plugin.configure_parser(p)
    return p.parse_args([str(vault), *extra])


def _vault(tmp_path: Path, config: str = ".obsidian") -> Path:
    vault = tmp_path / "vault"
    (vault / config).mkdir(parents=True)
    (vault / config / "app.json").write_text("{}")
    return vault


def test_shipped_plugin_is_the_vitnotes_desktop_plugin():
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    assert manifest["id"] == "vitnotes" and manifest["isDesktopOnly"] is True
    source = json.loads((Path(__file__).parents[1] / "obsidian-plugin" / "manifest.json").read_text())
    assert manifest == source, "vitnotes/plugin/manifest.json is stale: run npm run build in obsidian-plugin/"
    assert "fill-current-note" in (SHIPPED / "main.js").read_text()


def test_copies_main_js_and_manifest_into_config_plugins(tmp_path, capsys):
    vault = _vault(tmp_path)
    assert install_plugin.run(_args(vault)) == 0
    target = vault / ".obsidian" / "plugins" / "vitnotes"
    assert sorted(p.name for p in target.iterdir()) == ["main.js", "manifest.json"]
    for name in ("main.js", "manifest.json"):
        assert (target / name).read_bytes() == (SHIPPED / name).read_bytes()
    out = capsys.readouterr().out
    version = json.loads((SHIPPED / "manifest.json").read_text())["version"]
    assert f"installed vitnotes plugin {version} into {target}" in out
    assert "Community plugins" in out
    # Not enabled unless asked: Obsidian's list of enabled plugins is untouched.
    assert not (vault / ".obsidian" / "community-plugins.json").exists()


def test_reinstall_writes_nothing_and_keeps_the_plugin_settings(tmp_path, capsys):
    vault = _vault(tmp_path)
    install_plugin.run(_args(vault))
    target = vault / ".obsidian" / "plugins" / "vitnotes"
    (target / "data.json").write_text('{"executable": "/opt/vitnotes"}')
    (target / "main.js").write_text("old build")
    install_plugin.run(_args(vault))
    assert (target / "main.js").read_bytes() == (SHIPPED / "main.js").read_bytes()
    mtimes = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    capsys.readouterr()
    install_plugin.run(_args(vault))
    assert "already up to date" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == mtimes
    assert (target / "data.json").read_text() == '{"executable": "/opt/vitnotes"}'
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]


def test_renamed_config_folder_is_found(tmp_path):
    vault = _vault(tmp_path, config=".obsidian-work")
    (vault / ".git").mkdir()
    install_plugin.run(_args(vault))
    assert (vault / ".obsidian-work" / "plugins" / "vitnotes" / "main.js").is_file()
    assert not (vault / ".git" / "plugins").exists()


def test_enable_adds_it_to_community_plugins_once(tmp_path):
    vault = _vault(tmp_path)
    listing = vault / ".obsidian" / "community-plugins.json"
    listing.write_text('["dataview"]')
    install_plugin.run(_args(vault, "--enable"))
    install_plugin.run(_args(vault, "--enable"))
    assert json.loads(listing.read_text()) == ["dataview", "vitnotes"]


def test_folder_without_config_is_refused_with_a_hint(tmp_path):
    vault = _vault(tmp_path)
    (vault / "Papers").mkdir()
    with pytest.raises(VitnotesError) as err:
        install_plugin.run(_args(vault / "Papers"))
    assert "has no Obsidian config folder" in str(err.value)
    assert f"did you mean the vault {vault.resolve()}" in str(err.value)
    assert not (vault / "Papers" / ".obsidian").exists()

    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(VitnotesError, match="open the folder in Obsidian once"):
        install_plugin.run(_args(plain))
    assert list(plain.iterdir()) == []


def test_missing_vault_folder(tmp_path):
    with pytest.raises(VitnotesError, match="is not a folder"):
        install_plugin.run(_args(tmp_path / "nope"))


def test_plugins_folder_linked_out_of_the_vault_is_not_written(tmp_path):
    vault = _vault(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (vault / ".obsidian" / "plugins").symlink_to(outside, target_is_directory=True)
    with pytest.raises(VitnotesError, match="leads outside the vault"):
        install_plugin.run(_args(vault))
    assert list(outside.iterdir()) == []


def test_install_offers_the_comparison_base_once_and_never_replaces_it(tmp_path, capsys):
    vault = _vault(tmp_path)
    install_plugin.run(_args(vault))
    base = vault / "vitnotes.base"
    assert f"wrote {base}" in capsys.readouterr().out
    assert "views" in base.read_text()
    base.write_text("views: []  # mine\n")
    install_plugin.run(_args(vault))
    assert base.read_text() == "views: []  # mine\n" and "vitnotes.base" not in capsys.readouterr().out
