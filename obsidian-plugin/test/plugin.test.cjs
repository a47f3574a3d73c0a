/**
 * The plugin's own behaviour, with a stand-in `vitnotes` program (a Node script) so it runs in a
 * second: what it passes to the CLI, that it saves the editor first, the Notices, the status bar.
 * The real CLI runs in e2e.test.cjs.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const { obsidian, FakeApp, loadPlugin, waitForNotice, MANIFEST } = require("./harness.cjs");

const FAKE_CLI = `#!/usr/bin/env node
// Stand-in for vitnotes: logs argv, cwd and each note's text as it sees it, then answers like the CLI.
const fs = require("fs");
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_VITNOTES_LOG, JSON.stringify({ args, cwd: process.cwd(),
  texts: args.filter((a) => a.endsWith(".md")).map((a) => fs.readFileSync(a, "utf8")) }) + "\\n");
if (args[0] === "models") { console.log("vit_base_patch16_224\\nvit_tiny_patch16_224\\ndeit_tiny_patch16_224\\nswin_tiny_patch4_window7_224"); process.exit(0); }
let code = 0;
for (const a of args.slice(1).filter((a) => !a.startsWith("-"))) {
  if (a.includes("bad")) { console.log("failed " + a + ": unknown model 'vit_bse' — did you mean vit_base_patch16_224?"); code = 1; }
  else console.log("filled " + a + " (vit_tiny_patch16_224, 0.1 s)");
}
if (code) console.error("vitnotes: error: 1 note failed — see the callout in the note");
process.exit(code);
`;

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "vitnotes-plugin-"));
test.after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

function makeVault(files) {
	const dir = fs.mkdtempSync(path.join(ROOT, "vault-"));
	fs.mkdirSync(path.join(dir, ".obsidian"));
	fs.writeFileSync(path.join(dir, ".obsidian", "app.json"), "{}");
	for (const [rel, text] of Object.entries(files)) {
		fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
		fs.writeFileSync(path.join(dir, rel), text);
	}
	const exe = path.join(dir, "..", path.basename(dir) + "-fake-vitnotes");
	fs.writeFileSync(exe, FAKE_CLI, { mode: 0o755 });
	const log = path.join(dir, "..", path.basename(dir) + "-log.jsonl");
	fs.writeFileSync(log, "");
	process.env.FAKE_VITNOTES_LOG = log;
	const calls = () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
	return { dir, exe, calls };
}

const OPTED = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n---\n# Paper\n";
const isResult = (n) => !n.message.startsWith("vitnotes: filling") && !n.message.startsWith("vitnotes: loading");

test("manifest: id vitnotes, desktop only", () => {
	assert.equal(MANIFEST.id, "vitnotes");
	assert.equal(MANIFEST.isDesktopOnly, true);
});

test("registers the three commands, a ribbon icon and a 10 s watch poll", async () => {
	const { dir } = makeVault({});
	const plugin = await loadPlugin(new FakeApp(dir));
	assert.deepEqual(Object.keys(plugin.commands).sort(), ["fill-all-opted-in-notes", "fill-current-note", "insert-frontmatter"]);
	assert.equal(plugin.commands["fill-current-note"].name, "Fill current note");
	assert.equal(plugin.ribbon.length, 1);
	assert.match(plugin.ribbon[0].title, /Fill current note/);
	assert.ok(window.intervals.includes(10_000));
	// No note open: the note commands hide themselves from the palette.
	assert.equal(plugin.commands["fill-current-note"].checkCallback(true), false);
	assert.equal(plugin.commands["insert-frontmatter"].checkCallback(true), false);
	assert.equal(plugin.settings.executable, "vitnotes");
	plugin.unload();
});

test("Fill current note: saves the editor, then runs `fill -q <absolute path>` in the vault, shows the CLI line", async () => {
	const { dir, exe, calls } = makeVault({ "Papers/ViT.md": OPTED });
	const app = new FakeApp(dir);
	const typed = OPTED + "My unsaved words.\n";
	const view = app.open("Papers/ViT.md", typed);
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	assert.equal(plugin.commands["fill-current-note"].checkCallback(false), true);
	const notice = await waitForNotice(isResult, 20_000, before);
	const abs = path.join(dir, "Papers", "ViT.md");
	assert.equal(notice.message, `vitnotes: filled ${abs} (vit_tiny_patch16_224, 0.1 s)`);
	assert.equal(view.saves, 1);
	const [call] = calls();
	assert.deepEqual(call.args, ["fill", "-q", abs]);
	assert.equal(fs.realpathSync(call.cwd), fs.realpathSync(dir));
	assert.equal(call.texts[0], typed, "the CLI must see what the user typed, saved before it ran");
	assert.ok(obsidian.Notice.log.slice(before).some((n) => n.message.startsWith("vitnotes: filling ViT") && n.hidden));
	plugin.unload();
});

test("the ribbon icon fills the current note too", async () => {
	const { dir, exe, calls } = makeVault({ "A.md": OPTED });
	const app = new FakeApp(dir);
	app.open("A.md");
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	plugin.ribbon[0].callback({});
	await waitForNotice(isResult, 20_000, before);
	assert.deepEqual(calls()[0].args, ["fill", "-q", path.join(dir, "A.md")]);
	plugin.unload();
});

test("Fill all opted-in notes: one CLI call with every opted-in note; templates and conflict copies skipped", async () => {
	const { dir, exe, calls } = makeVault({
		"A.md": OPTED,
		"Plain.md": "---\ntags: [x]\n---\nno opt-in\n",
		"Sub/C.md": "---\nvitnotes: deit_tiny_patch16_224\n---\n",
		"Sub/bad.md": "---\nvitnotes: vit_bse\n---\n",
		"Sub/D.md": OPTED,
		"Templates/Paper.md": OPTED,
		"A (conflicted copy 2024-01-01).md": OPTED,
		"NoFrontmatter.md": "# vitnotes: not frontmatter\n",
	});
	fs.writeFileSync(path.join(dir, ".obsidian", "templates.json"), JSON.stringify({ folder: "Templates" }));
	const app = new FakeApp(dir);
	app.open("Sub/D.md", OPTED + "typed\n");
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-all-opted-in-notes"].callback();
	const notice = await waitForNotice(isResult, 20_000, before);
	const all = calls();
	assert.equal(all.length, 1, "one CLI run for all notes");
	assert.deepEqual(all[0].args, ["fill", "-q", ...["A.md", "Sub/C.md", "Sub/D.md", "Sub/bad.md"].map((p) => path.join(dir, p))]);
	assert.equal(all[0].texts[2], OPTED + "typed\n", "open editors are saved first");
	// Four results: a summary, the failure line and the CLI's error text.
	const lines = notice.message.split("\n");
	assert.equal(lines[0], "vitnotes: 4 notes — 3 filled, 1 failed");
	assert.ok(lines.includes(`failed ${path.join(dir, "Sub/bad.md")}: unknown model 'vit_bse' — did you mean vit_base_patch16_224?`));
	assert.ok(lines.includes("vitnotes: error: 1 note failed — see the callout in the note"));
	assert.ok(notice.duration > 8000, "failures stay on screen longer");
	plugin.unload();
});

test("Fill all with no opted-in note says how to opt in, and runs nothing", async () => {
	const { dir, exe, calls } = makeVault({ "Plain.md": "# x\n" });
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe });
	const before = obsidian.Notice.log.length;
	await plugin.fillAllOptedIn();
	assert.match(obsidian.Notice.log[before].message, /Insert vitnotes frontmatter/);
	assert.equal(calls().length, 0);
	plugin.unload();
});

test("a missing executable: the Notice says how to set its path in settings", async () => {
	const { dir } = makeVault({ "A.md": OPTED });
	const app = new FakeApp(dir);
	app.open("A.md");
	const missing = path.join(dir, "no-such-vitnotes");
	const plugin = await loadPlugin(app, { executable: missing });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const notice = await waitForNotice(isResult, 20_000, before);
	assert.match(notice.message, /could not find the program/);
	assert.ok(notice.message.includes(missing));
	assert.match(notice.message, /Settings → Community plugins → vitnotes → "vitnotes executable"/);
	plugin.unload();
});

test("a second fill of the same note while one runs is refused, not doubled", async () => {
	const { dir, exe, calls } = makeVault({ "A.md": OPTED });
	const app = new FakeApp(dir);
	app.open("A.md");
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	const first = plugin.fillNotes([app.activeFile]);
	await plugin.fillNotes([app.activeFile]);
	await first;
	assert.ok(obsidian.Notice.log.slice(before).some((n) => /already filling A\.md/.test(n.message)));
	assert.equal(calls().length, 1);
	plugin.unload();
});

test("Insert vitnotes frontmatter: suggests names from `vitnotes models`, writes vitnotes.model via processFrontMatter", async () => {
	const { dir, exe, calls } = makeVault({ "P.md": "---\nvitnotes:\n  sections: [card]\n---\n", "Q.md": "# Q\n" });
	const app = new FakeApp(dir);
	app.open("P.md");
	const plugin = await loadPlugin(app, { executable: exe });
	const opened = obsidian.Modal.opened.length;
	plugin.commands["insert-frontmatter"].checkCallback(false);
	for (let i = 0; i < 200 && obsidian.Modal.opened.length === opened; i++) await new Promise((r) => setTimeout(r, 25));
	const modal = obsidian.Modal.opened[opened];
	assert.ok(modal instanceof obsidian.SuggestModal, "a SuggestModal opened");
	assert.deepEqual(calls()[0].args, ["models"]);
	// Every word must match; prefix matches of the first word, then shorter names, come first.
	assert.deepEqual(modal.getSuggestions("tiny"), ["tiny", "vit_tiny_patch16_224", "deit_tiny_patch16_224", "swin_tiny_patch4_window7_224"]);
	assert.deepEqual(modal.getSuggestions("tiny patch16"), ["vit_tiny_patch16_224", "deit_tiny_patch16_224"]);
	assert.deepEqual(modal.getSuggestions("vit_tiny"), ["vit_tiny", "vit_tiny_patch16_224"]);
	assert.deepEqual(modal.getSuggestions("swin_tiny_patch4_window7_224"), ["swin_tiny_patch4_window7_224"]);
	const el = new obsidian.FakeEl();
	modal.renderSuggestion("vit_tiny", el);
	assert.match(el.text, /not in the list/);

	// An existing mapping keeps its other keys (as Obsidian parsed them); a bare name or no key gets {model: NAME}.
	app.frontmatterEdits.set("P.md", { tags: ["paper"], vitnotes: { sections: ["card"] } });
	modal.onChooseSuggestion("vit_tiny_patch16_224", {});
	for (let i = 0; i < 100 && !app.frontmatterEdits.get("P.md").vitnotes.model; i++) await new Promise((r) => setTimeout(r, 10));
	assert.deepEqual(app.frontmatterEdits.get("P.md"), { tags: ["paper"], vitnotes: { sections: ["card"], model: "vit_tiny_patch16_224" } });
	await plugin.setModel(new obsidian.TFile("Q.md"), "deit_tiny_patch16_224");
	assert.deepEqual(app.frontmatterEdits.get("Q.md"), { vitnotes: { model: "deit_tiny_patch16_224" } });
	app.frontmatterEdits.set("R.md", { vitnotes: "vit_base_patch16_224" });
	await plugin.setModel(new obsidian.TFile("R.md"), "vit_tiny_patch16_224");
	assert.deepEqual(app.frontmatterEdits.get("R.md"), { vitnotes: { model: "vit_tiny_patch16_224" } });

	// The list is asked for once per session.
	app.open("Q.md");
	plugin.commands["insert-frontmatter"].checkCallback(false);
	for (let i = 0; i < 200 && obsidian.Modal.opened.length === opened + 1; i++) await new Promise((r) => setTimeout(r, 25));
	assert.equal(calls().length, 1);
	plugin.unload();
});

test("status bar: running only while the pid in .vitnotes/watch.pid is alive and for this vault", async (t) => {
	const { dir } = makeVault({});
	const plugin = await loadPlugin(new FakeApp(dir));
	const bar = plugin.statusBar[0];
	const pidFile = path.join(dir, ".vitnotes", "watch.pid");

	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: not watching");
	assert.match(bar.getAttribute("aria-label"), /vitnotes watch <vault>/);

	fs.mkdirSync(path.dirname(pidFile));
	const started = new Date().toISOString();
	// A live process standing in for the daemon ("vitnotes" in its command line, like `vitnotes watch`).
	const daemon = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", "vitnotes", "watch"], { stdio: "ignore" });
	const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
	t.after(() => { daemon.kill(); other.kill(); });
	const write = (o) => fs.writeFileSync(pidFile, JSON.stringify({ pid: daemon.pid, started, vault: dir, host: os.hostname(), ...o }));
	write({});
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: watching");
	assert.ok(bar.getAttribute("aria-label").includes(`pid ${daemon.pid}, since ${started}`));
	write({ host: undefined });
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: watching", "host is optional");

	write({ host: os.hostname() + "-laptop" });
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: not watching");
	assert.match(bar.getAttribute("aria-label"), /another computer/);

	if (process.platform === "linux") {
		// The pid is alive but runs something else: a recycled pid after the daemon died.
		write({ pid: other.pid });
		await plugin.refreshWatchStatus();
		assert.equal(bar.text, "vitnotes: not watching");
	}

	// A process that has exited: its pid is dead (stale pid file after a crash).
	const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
	write({ pid: Number(dead.stdout.trim()) });
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: not watching");
	assert.match(bar.getAttribute("aria-label"), /no longer running/);

	write({ vault: path.join(dir, "elsewhere") });
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: not watching");
	assert.match(bar.getAttribute("aria-label"), /another vault/);

	fs.writeFileSync(pidFile, "{not json");
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: not watching");

	// Clicking the status bar explains it.
	const before = obsidian.Notice.log.length;
	bar.click();
	assert.match(obsidian.Notice.log[before].message, /not valid JSON/);
	plugin.unload();
});

test("settings tab: the executable path is a text setting saved with the plugin data", async () => {
	const { dir } = makeVault({});
	const plugin = await loadPlugin(new FakeApp(dir));
	const tab = plugin.settingTabs[0];
	tab.display();
	const setting = tab.containerEl.children[0];
	assert.equal(setting.name, "vitnotes executable");
	await setting.controls[0].onChangeCb("  /opt/venv/bin/vitnotes ");
	assert.deepEqual(plugin._data, { executable: "/opt/venv/bin/vitnotes" });
	await setting.controls[0].onChangeCb("");
	assert.equal(plugin.settings.executable, "vitnotes", "empty goes back to the default");
	plugin.unload();
});
