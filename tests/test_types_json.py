"""types.json: vitnotes adds its keys' types and never touches another entry or a type the user chose."""

from __future__ import annotations

import json

from vitnotes.obsidian.types_json import register_types

WANTED = {"vn_gmacs": "number", "vn_model": "text"}


def test_missing_entries_are_added_and_the_others_kept(tmp_path):
    cfg = tmp_path / ".obsidian"
    cfg.mkdir()
    (cfg / "types.json").write_text('{"types": {"aliases": "aliases", "year": "number"}, "other": 1}')
    r = register_types(cfg, WANTED, tmp_path)
    assert r.written and r.added == ["vn_gmacs", "vn_model"] and not r.conflicts
    assert json.loads((cfg / "types.json").read_text()) == {
        "types": {"aliases": "aliases", "year": "number", "vn_gmacs": "number", "vn_model": "text"}, "other": 1}
    mtime = (cfg / "types.json").stat().st_mtime_ns
    again = register_types(cfg, WANTED, tmp_path)
    assert not again.written and not again.added and (cfg / "types.json").stat().st_mtime_ns == mtime


def test_a_type_the_user_set_is_kept_and_said(tmp_path):
    cfg = tmp_path / ".obsidian"
    cfg.mkdir()
    before = '{\n  "types": {\n    "vn_gmacs": "text",\n    "vn_model": "text"\n  }\n}'
    (cfg / "types.json").write_text(before)
    r = register_types(cfg, WANTED, tmp_path)
    assert not r.written and r.conflicts == {"vn_gmacs": "text"}
    assert (cfg / "types.json").read_text() == before
    assert r.message(WANTED) == "types.json keeps your property types: vn_gmacs is text (vitnotes writes number)"


def test_a_broken_file_or_no_vault_config_is_left_alone(tmp_path):
    cfg = tmp_path / ".obsidian"
    cfg.mkdir()
    (cfg / "types.json").write_text('{"types": [1, 2')
    r = register_types(cfg, WANTED, tmp_path)
    assert not r.written and "not readable JSON" in r.message(WANTED)
    assert (cfg / "types.json").read_text() == '{"types": [1, 2'
    assert not register_types(None, WANTED, tmp_path).written
    assert not (tmp_path / "types.json").exists()
