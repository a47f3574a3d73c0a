"""The vault as a comparison table: five filled notes of five families, their vn_ properties, types.json,
the .base view and `vitnotes table` (issue 12's Must hold)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vitnotes.data import results
from vitnotes.obsidian.note import read_note
from vitnotes.obsidian.regions import frontmatter_end, split_lines
from vitnotes.pipeline import FillOptions, fill_note
from vitnotes.render.properties import KEYS, LABELS, TYPES
from vitnotes.watch.index import NoteIndex
from vitnotes.watch.notes import NoteProcessor
from vitnotes.watch.rules import VaultRules

# timm's published figures (results tables / model cards): params in millions, GMACs at 224 px.
PUBLISHED = {
    "vit_tiny_patch16_224": (5.72, 1.26), "resnet18": (11.69, 1.82), "convnext_atto": (3.70, 0.55),
    "mixer_s16_224": (18.53, 3.79), "swin_tiny_patch4_window7_224": (28.29, 4.51),
}
BOM = "\ufeff"
# Each note's frontmatter in a different style: comments, quotes, CRLF, a BOM, flow and block lists.
NOTES = {
    "ViT.md": "---\ntags: [paper, ViT]   # my tags\naliases: [\"An Image is Worth 16x16 Words\"]\n"
              "vitnotes:\n  model: vit_tiny_patch16_224\n  # only structure here\n---\n# ViT\n\nMy words.\n",
    "ResNet.md": "---\r\ntitle: 'Deep Residual Learning'\r\nyear: 2016\r\nvitnotes: resnet18\r\n---\r\n# ResNet\r\n",
    "ConvNeXt.md": BOM + "---\nvitnotes: {model: convnext_atto}\nrating: 4\n---\nConvNeXt notes\n",
    "Mixer.md": "---\nvitnotes:\n  model: mixer_s16_224\nauthors:\n- Tolstikhin\n- Houlsby\nread: true\n---\n",
    "Swin.md": "---\n\"status\": \"reading\"\nvitnotes:\n  model: swin_tiny_patch4_window7_224\ncreated: 2025-03-02\n"
               "---\n# Swin\n",
}
MODELS = {"ViT.md": "vit_tiny_patch16_224", "ResNet.md": "resnet18", "ConvNeXt.md": "convnext_atto",
          "Mixer.md": "mixer_s16_224", "Swin.md": "swin_tiny_patch4_window7_224"}
USER_TYPES = {"aliases": "aliases", "tags": "tags", "year": "number", "rating": "number", "vn_depth": "text"}


def block(text: str) -> list[str]:
    """The frontmatter block's lines, endings included, as in the file."""
    text = text.removeprefix(BOM)
    lines = split_lines(text)
    return [ln.content + ln.eol for ln in lines[: frontmatter_end(lines) + 1]]


def frontmatter(path: Path) -> dict:
    lines = split_lines(path.read_text(encoding="utf-8").removeprefix(BOM))
    return yaml.safe_load("\n".join(ln.content for ln in lines[1: frontmatter_end(lines)]))


def run_cli(*args: str, no_torch: bool = False) -> subprocess.CompletedProcess:
    code = ("import sys; from vitnotes.cli import main; rc = main(sys.argv[1:]); "
            + ("assert 'torch' not in sys.modules, 'torch imported'; " if no_torch else "") + "sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def vault(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("table") / "vault"
    (root / ".obsidian").mkdir(parents=True)
    (root / ".obsidian" / "app.json").write_text("{}")
    (root / ".obsidian" / "templates.json").write_text('{"folder": "Templates"}')
    (root / ".obsidian" / "types.json").write_text(json.dumps({"types": USER_TYPES}, indent=2))
    (root / ".vitnotes").mkdir()
    (root / ".vitnotes" / "config.yaml").write_text("sections: [card]\n")
    (root / "Papers").mkdir()
    (root / "Templates").mkdir()
    (root / "Templates" / "Paper.md").write_text("---\nvitnotes:\n  model: vit_base_patch16_224\n---\n")
    (root / "Plain.md").write_text("---\ntags: [todo]\n---\nnot a paper\n")
    for name, text in NOTES.items():
        (root / "Papers" / name).write_bytes(text.encode("utf-8"))
    for name in NOTES:
        result = fill_note(root / "Papers" / name)
        assert result.status == "filled", result.line()
    return root


def test_properties_are_typed_numbers_and_every_other_frontmatter_byte_is_kept(vault):
    import timm
    import torch

    for name, original in NOTES.items():
        path = vault / "Papers" / name
        after = path.read_bytes().decode("utf-8")
        assert after.startswith(BOM) == original.startswith(BOM)
        assert [ln for ln in block(after) if not ln.startswith("vn_")] == block(original), name
        fm = frontmatter(path)
        assert fm["vitnotes"] == yaml.safe_load("\n".join(block(original)[1:-1]))["vitnotes"]
        model = MODELS[name]
        assert fm["vn_model"] == model
        for key in ("vn_params_m", "vn_gmacs", "vn_img_size"):
            assert isinstance(fm[key], (int, float)) and not isinstance(fm[key], bool), (name, key)
        assert fm["vn_img_size"] == 224 and type(fm["vn_img_size"]) is int
        with torch.device("meta"):
            count = sum(p.numel() for p in timm.create_model(model).parameters())
        assert fm["vn_params_m"] == pytest.approx(count / 1e6, rel=5e-4)  # 4 significant digits of the real count
        params, gmacs = PUBLISHED[model]
        assert fm["vn_params_m"] == pytest.approx(params, abs=0.006)
        assert fm["vn_gmacs"] == pytest.approx(gmacs, abs=0.006)
        assert not any(isinstance(v, (dict, list)) for k, v in fm.items() if k.startswith("vn_"))
        published = results.lookup(model, 224)  # timm's results-imagenet.csv row of its default checkpoint
        if model == "mixer_s16_224":  # timm publishes no trained Mixer-S/16: no key rather than a guess
            assert published is None and "vn_top1" not in fm
        else:
            assert published is not None and fm["vn_top1"] == published.top1 and 60 < fm["vn_top1"] < 90
    vit = frontmatter(vault / "Papers" / "ViT.md")
    dims = (vit["vn_patch_size"], vit["vn_tokens"], vit["vn_width"], vit["vn_heads"], vit["vn_depth"])
    assert dims == (16, 197, 192, 3, 12)
    resnet = frontmatter(vault / "Papers" / "ResNet.md")
    assert "vn_patch_size" not in resnet and "vn_tokens" not in resnet  # a CNN has no patches: no key at all
    assert resnet["vn_family"] == "ResNet" and vit["vn_family"] == "VisionTransformer"
    assert b"\nvn_model: resnet18\r\n" in (vault / "Papers" / "ResNet.md").read_bytes()  # the note's CRLF


def test_types_json_keeps_the_users_entries_and_types(vault):
    types = json.loads((vault / ".obsidian" / "types.json").read_text())["types"]
    assert {k: types[k] for k in USER_TYPES} == USER_TYPES  # vn_depth stays the "text" the user chose
    for key in ("vn_params_m", "vn_gmacs", "vn_img_size", "vn_patch_size", "vn_tokens", "vn_width", "vn_heads"):
        assert types[key] == "number", key
    assert types["vn_model"] == types["vn_family"] == "text"


def test_a_type_the_user_chose_is_said_on_the_fill_that_writes_the_key(tmp_path):
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "types.json").write_text('{"types": {"vn_gmacs": "text"}}')
    (tmp_path / ".vitnotes").mkdir()
    (tmp_path / ".vitnotes" / "config.yaml").write_text("sections: [card]\n")
    note = tmp_path / "R.md"
    note.write_text("---\nvitnotes: resnet18\n---\n")
    first = fill_note(note)
    assert first.status == "filled"
    assert "types.json keeps your property types: vn_gmacs is text (vitnotes writes number)" in first.line()
    assert json.loads((tmp_path / ".obsidian" / "types.json").read_text())["types"]["vn_gmacs"] == "text"
    assert fill_note(note).message == ""


DOCUMENTED = {"filters", "formulas", "properties", "summaries", "views"}  # help.obsidian.md/bases/syntax
VIEW_KEYS = {"type", "name", "limit", "groupBy", "filters", "order", "summaries", "sort"}  # sort: as Obsidian writes it


def _check_filter(node, evaluate) -> bool:
    """Walk a Bases filter (a string, or one of and/or/not over a list) and evaluate it for one note."""
    if isinstance(node, str):
        return evaluate(node)
    assert isinstance(node, dict) and len(node) == 1 and next(iter(node)) in ("and", "or", "not"), node
    (op, items), = node.items()
    assert isinstance(items, list) and items
    values = [_check_filter(item, evaluate) for item in items]
    return all(values) if op == "and" else any(values) if op == "or" else not any(values)


def _evaluator(rel: str, fm: dict):
    def evaluate(expr: str) -> bool:
        m = re.fullmatch(r'file\.(hasProperty|inFolder)\("([^"]*)"\)', expr)
        assert m, f"unexpected filter expression {expr!r}"
        return m.group(2) in fm if m.group(1) == "hasProperty" else rel.startswith(m.group(2) + "/")
    return evaluate


def test_the_base_file_parses_against_the_documented_keys_and_selects_the_paper_notes(vault):
    out = run_cli("base", str(vault), no_torch=True)
    assert out.returncode == 0, out.stderr
    path = vault / "vitnotes.base"
    assert out.stdout.strip() == f"written {path}"
    base = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(base) <= DOCUMENTED and "views" in base
    for key, conf in base["properties"].items():
        assert key.startswith("note.") and key[5:] in KEYS and conf == {"displayName": LABELS[key[5:]]}
    formulas = base.get("formulas", {})
    for view in base["views"]:
        assert set(view) <= VIEW_KEYS and view["type"] in ("table", "cards", "list", "map") and view["name"]
        for column in view["order"]:
            kind, _, name = column.partition(".")
            assert (kind == "file" and name in ("name", "path", "folder")) or (kind == "note" and name in KEYS) or (
                kind == "formula" and name in formulas), column
        for rule in view.get("sort", []):
            assert set(rule) == {"property", "direction"} and rule["direction"] in ("ASC", "DESC")
    table = base["views"][0]
    assert table["type"] == "table" and table["sort"] == [{"property": "note.vn_gmacs", "direction": "ASC"}]
    picked = []
    for note in sorted(vault.rglob("*.md")):
        rel = note.relative_to(vault).as_posix()
        if _check_filter(base["filters"], _evaluator(rel, read_note(note).frontmatter or {})):
            picked.append(rel)
    assert picked == sorted(f"Papers/{n}" for n in NOTES)  # not the template, not the plain note
    again = run_cli("base", str(vault), no_torch=True)
    assert again.stdout.strip() == f"up to date {path}"
    path.write_text(path.read_text() + "# my edit\n")
    refused = run_cli("base", str(vault), no_torch=True)
    assert refused.returncode == 2 and "--force" in refused.stderr and path.read_text().endswith("# my edit\n")


def test_frontmatter_restyled_by_another_tool_is_unchanged_and_the_daemon_writes_nothing(vault, tmp_path):
    path = vault / "Papers" / "ViT.md"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    end = lines.index("---", 1)
    fm = yaml.safe_load("\n".join(lines[1:end]))
    # What Obsidian's property editor does: its own key order, quoting and list style, comments dropped.
    restyled_fm = yaml.safe_dump(dict(reversed(list(fm.items()))), allow_unicode=True, default_flow_style=False,
                                 default_style=None, sort_keys=False).replace("vn_family: VisionTransformer",
                                                                              "vn_family: \"VisionTransformer\"")
    restyled = "---\n" + restyled_fm + "\n".join(lines[end:])
    assert restyled != text
    path.write_text(restyled, encoding="utf-8")
    mtime = path.stat().st_mtime_ns
    result = fill_note(path)
    assert result.status == "unchanged", result.line()
    assert result.written_bytes is None and path.read_text(encoding="utf-8") == restyled
    rules = VaultRules.for_folder(vault)
    logged: list[str] = []
    processor = NoteProcessor(rules, NoteIndex(tmp_path / "index.json"), lambda p: fill_note(p), logged.append)
    outcome = processor.process(str(path))
    assert outcome.action == "unchanged" and path.stat().st_mtime_ns == mtime, logged
    assert processor.process(str(path)).action == "same"  # settled: the next event costs one read


def _table_rows(vault: Path) -> dict[str, dict]:
    rows = {}
    for name in NOTES:
        fm = frontmatter(vault / "Papers" / name)
        rows[f"Papers/{name[:-3]}"] = {k: fm[k] for k in KEYS if k in fm}
    return rows


def test_vitnotes_table_prints_one_row_per_note_as_text_markdown_and_csv(vault):
    expected = _table_rows(vault)
    text = run_cli("table", str(vault), no_torch=True)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["Note", "Model"] and len(lines) == 2 + len(NOTES)
    gmacs = [expected[line.split()[0]]["vn_gmacs"] for line in lines[2:]]
    assert gmacs == sorted(gmacs)  # the base's order
    for line in lines[2:]:
        cells = line.split()
        values = expected[cells[0]]
        assert cells[1] == values["vn_model"] and str(values["vn_gmacs"]) in cells

    md = run_cli("table", str(vault), "--format", "markdown", no_torch=True).stdout.strip().splitlines()
    assert md[0].startswith("| Note | Model |") and md[1].startswith("| --- | --- |") and len(md) == 2 + len(NOTES)

    out = run_cli("table", str(vault), "--format", "csv", no_torch=True)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == len(NOTES) and list(rows[0]) == ["note", *KEYS]
    for row in rows:
        values = expected[row["note"]]
        for key in KEYS:
            if TYPES[key] == "number":
                assert (float(row[key]) if row[key] else None) == values.get(key), (row["note"], key)
            else:
                assert row[key] == values.get(key, ""), (row["note"], key)


def test_properties_off_writes_none_and_table_reads_the_cached_reports(tmp_path):
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".vitnotes").mkdir()
    (tmp_path / ".vitnotes" / "config.yaml").write_text("sections: [card]\nproperties: false\n")
    note = tmp_path / "R.md"
    original = "---\nvitnotes: resnet18\nvn_gmacs: 99  # left as it was\n---\n"
    note.write_text(original)
    assert fill_note(note, FillOptions()).status == "filled"
    assert block(note.read_text()) == block(original)
    assert not (tmp_path / ".obsidian" / "types.json").exists()
    other = tmp_path / "V.md"
    other.write_text("---\nvitnotes: vit_tiny_patch16_224\n---\n")
    assert fill_note(other).status == "filled"
    out = run_cli("table", str(tmp_path), "--format", "csv", no_torch=True)
    assert out.returncode == 0, out.stderr
    rows = {r["note"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    assert rows["R"]["vn_gmacs"] == "99"  # the note's own property wins
    assert rows["V"]["vn_model"] == "vit_tiny_patch16_224"
    assert float(rows["V"]["vn_gmacs"]) == pytest.approx(1.26, abs=0.006)
