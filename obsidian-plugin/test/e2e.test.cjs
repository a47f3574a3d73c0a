/**
 * End to end: the built plugin's "Fill current note" command runs the REAL `vitnotes` CLI on a copy
 * of vault_example, and the note on disk gets filled. The executable is $VITNOTES_EXE, else
 * `vitnotes` on PATH. Without one these tests are skipped locally, and FAIL in CI (CI=true): a CI run
 * that cannot find the CLI has not tested the plugin (pytest's wrapper always provides one).
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFile, spawn, spawnSync } = require("node:child_process");
const { obsidian, FakeApp, loadPlugin, waitForNotice } = require("./harness.cjs");

const EXE = process.env.VITNOTES_EXE || "vitnotes";
const found = spawnSync(EXE, ["--version"], { encoding: "utf8" });
const MISSING = found.error || found.status !== 0 ? `no working vitnotes executable (${EXE}); set VITNOTES_EXE` : false;
const SKIP = MISSING && !process.env.CI ? MISSING : false;
const EXAMPLE = path.resolve(__dirname, "..", "..", "vault_example");
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "vitnotes-e2e-"));
test.after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

// Tiny model, structural sections only: no weights, no images, seconds on a laptop.
const TINY = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n  sections: [card, shapes, params, flops]\n---\n# T\n";
const BAD = "---\nvitnotes:\n  model: vit_bse_patch16_224\n  sections: [card]\n---\n# Bad\n\nMy notes stay.\n";

/** A copy of vault_example (its config folder and notes, not its .vitnotes cache), or a bare vault. */
function copyVault() {
	const dir = fs.mkdtempSync(path.join(ROOT, "vault-"));
	if (fs.existsSync(path.join(EXAMPLE, ".obsidian"))) {
		fs.cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => path.basename(src) !== ".vitnotes" });
	} else {
		fs.mkdirSync(path.join(dir, ".obsidian"));
		fs.writeFileSync(path.join(dir, ".obsidian", "app.json"), "{}");
	}
	fs.mkdirSync(path.join(dir, "Papers"), { recursive: true });
	return dir;
}

/** A Notice that is not the running job's progress (those have a Cancel button). */
const isResult = (n) => !n.fragment?.find("button");

test("the real CLI is there (in CI its absence is a failure, not a skip)", { skip: SKIP }, () => {
	assert.equal(MISSING, false, MISSING);
});

test("Fill current note runs the real CLI: the open note gets the regions through vault.process, with the user's unsaved words", { skip: SKIP, timeout: 120_000 }, async () => {
	const vault = copyVault();
	const note = path.join(vault, "Papers", "Tiny.md");
	fs.writeFileSync(note, TINY);
	const app = new FakeApp(vault);
	const typed = TINY + "\nMy unsaved words.\n";
	app.open("Papers/Tiny.md", typed);
	const plugin = await loadPlugin(app, { executable: EXE });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const notice = await waitForNotice(isResult, 110_000, before);
	const text = fs.readFileSync(note, "utf8");
	assert.match(notice.message, /^vitnotes: filled .*Tiny\.md/, notice.message);
	assert.ok(text.includes("<!-- vitnotes:begin"), "the note got generated regions");
	assert.ok(text.includes("vit_tiny_patch16_224"));
	// vitnotes adds only its own vn_ properties to the frontmatter (issue 12); every other byte stays.
	assert.ok(text.replace(/^vn_\w+: .*\n/gm, "").startsWith(TINY), "the frontmatter and text above the regions are kept");
	assert.match(text, /^vn_params_m: 5\.717$/m, "the params property");
	assert.ok(text.includes("My unsaved words."), "the editor was saved before the CLI ran");
	assert.deepEqual(app.processed, [{ path: "Papers/Tiny.md", changed: true }], "applied through Obsidian");
	// ViT-Ti/16: 5,717,416 parameters (timm's published count), in the params table.
	assert.ok(text.includes("5,717,416"), "params table with the model's exact count");

	// Again: nothing changed, so the CLI says so and does not rewrite the file.
	const mtime = fs.statSync(note).mtimeMs;
	const again = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const second = await waitForNotice(isResult, 110_000, again);
	assert.match(second.message, /^vitnotes: unchanged .*Tiny\.md/, second.message);
	assert.equal(fs.statSync(note).mtimeMs, mtime);
	assert.equal(app.processed.length, 1, "nothing to apply");
	plugin.unload();
});

test("an unknown model: the Notice shows the CLI's own message", { skip: SKIP, timeout: 120_000 }, async () => {
	const vault = copyVault();
	fs.writeFileSync(path.join(vault, "Papers", "Bad.md"), BAD);
	// What the CLI itself says for this note, run directly on a twin copy.
	const twin = copyVault();
	fs.writeFileSync(path.join(twin, "Papers", "Bad.md"), BAD);
	// (Run alongside the plugin's own run: both pay for importing timm.)
	const directRun = new Promise((resolve) =>
		execFile(EXE, ["fill", "-q", path.join(twin, "Papers", "Bad.md")], { cwd: twin, encoding: "utf8" },
			(err, stdout, stderr) => resolve({ status: err ? err.code : 0, stdout, stderr })));

	const app = new FakeApp(vault);
	app.open("Papers/Bad.md");
	const plugin = await loadPlugin(app, { executable: EXE });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const notice = await waitForNotice(isResult, 110_000, before);
	const direct = await directRun;
	assert.notEqual(direct.status, 0, "the CLI fails on an unknown model");
	const cliLines = (direct.stdout + "\n" + direct.stderr)
		.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.split(twin).join("<vault>"));
	assert.ok(cliLines.some((l) => l.includes("vit_bse_patch16_224")), `the CLI names the bad model: ${cliLines}`);
	const shown = notice.message.split(vault).join("<vault>");
	for (const line of direct.stdout.split("\n").map((l) => l.trim()).filter(Boolean)) {
		assert.ok(shown.includes(line.split(twin).join("<vault>")), `Notice shows the CLI line ${JSON.stringify(line)}:\n${shown}`);
	}
	assert.ok(shown.includes("vit_bse_patch16_224"));
	assert.ok(notice.duration > 8000, "a failure stays on screen longer");
	assert.ok(fs.readFileSync(path.join(vault, "Papers", "Bad.md"), "utf8").includes("My notes stay."));
	plugin.unload();
});

test("a missing executable: the note is untouched and the Notice says how to set the path", { timeout: 30_000 }, async () => {
	const vault = copyVault();
	const note = path.join(vault, "Papers", "Tiny.md");
	fs.writeFileSync(note, TINY);
	const app = new FakeApp(vault);
	app.open("Papers/Tiny.md");
	const plugin = await loadPlugin(app, { executable: path.join(vault, "missing", "vitnotes") });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const notice = await waitForNotice(isResult, 20_000, before);
	assert.match(notice.message, /Settings → Community plugins → vitnotes → "vitnotes program"/);
	assert.equal(fs.readFileSync(note, "utf8"), TINY);
	plugin.unload();
});

test("Fill all with the real CLI: its own discovery skips the templates folder and plain notes", { skip: SKIP, timeout: 120_000 }, async () => {
	const vault = copyVault();
	fs.mkdirSync(path.join(vault, "Templates"), { recursive: true });
	fs.writeFileSync(path.join(vault, ".obsidian", "templates.json"), JSON.stringify({ folder: "Templates" }));
	fs.writeFileSync(path.join(vault, "Templates", "Paper.md"), TINY);
	fs.writeFileSync(path.join(vault, "Papers", "Tiny.md"), TINY);
	fs.writeFileSync(path.join(vault, "Papers", "Plain.md"), "# plain\n");
	for (const f of fs.readdirSync(path.join(vault, "Papers"))) {
		if (!["Tiny.md", "Plain.md"].includes(f)) fs.rmSync(path.join(vault, "Papers", f), { recursive: true });
	}
	const plugin = await loadPlugin(new FakeApp(vault), { executable: EXE });
	const before = obsidian.Notice.log.length;
	await plugin.fillAll();
	const notice = obsidian.Notice.log.slice(before).find(isResult);
	assert.match(notice.message, /^vitnotes: filled Papers\/Tiny\.md/, notice.message);
	assert.ok(fs.readFileSync(path.join(vault, "Papers", "Tiny.md"), "utf8").includes("5,717,416"));
	assert.equal(fs.readFileSync(path.join(vault, "Templates", "Paper.md"), "utf8"), TINY, "a template stays a template");
	assert.equal(fs.readFileSync(path.join(vault, "Papers", "Plain.md"), "utf8"), "# plain\n");
	plugin.unload();
});

const LINUX_SKIP = SKIP || (process.platform !== "linux" ? "needs pgrep -g (Linux)" : false);
test("Cancel stops the real CLI and its analysis worker: no process of its group is left", { skip: LINUX_SKIP, timeout: 120_000 }, async () => {
	const vault = copyVault();
	const note = path.join(vault, "Papers", "Cancelled.md");
	// rollout needs one real forward, which the CLI runs in a worker process of its own.
	const text = "---\nvitnotes:\n  model: vit_tiny_patch16_224\n  sections: [card, rollout]\n---\n# C\n\nMine.\n";
	fs.writeFileSync(note, text);
	const app = new FakeApp(vault);
	app.open("Papers/Cancelled.md");
	const plugin = await loadPlugin(app, { executable: EXE });
	const pgrep = (...a) => spawnSync("pgrep", a, { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	let group = [];
	let leader;
	for (let i = 0; i < 1800 && group.length < 2; i++) {
		await new Promise((r) => setTimeout(r, 50));
		leader ??= pgrep("-f", `expect-sha [0-9a-f]+ ${note}`)[0];
		if (leader) group = pgrep("-g", String(leader)); // the CLI leads its own process group
	}
	assert.ok(group.length >= 2, `the CLI (${leader}) and its worker are running: ${group}`);
	plugin.commands.cancel.callback();
	const notice = await waitForNotice(isResult, 20_000, before);
	assert.match(notice.message, /cancelled; the note was left as it was/);
	for (let i = 0; i < 100 && pgrep("-g", String(leader)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
	assert.deepEqual(pgrep("-g", String(leader)), [], "every process of the CLI's group is gone");
	assert.equal(fs.readFileSync(note, "utf8"), text);
	plugin.unload();
});

test("the status bar follows a real `vitnotes watch` daemon for this vault", { skip: SKIP, timeout: 60_000 }, async (t) => {
	// A vault with no opted-in note: the daemon has nothing to fill, so it stops at once on SIGTERM.
	const vault = fs.mkdtempSync(path.join(ROOT, "watched-"));
	fs.mkdirSync(path.join(vault, ".obsidian"));
	fs.writeFileSync(path.join(vault, ".obsidian", "app.json"), "{}");
	fs.writeFileSync(path.join(vault, "Note.md"), "# not opted in\n");
	const plugin = await loadPlugin(new FakeApp(vault), { executable: EXE });
	const bar = plugin.statusBar[0];
	const waitFor = async (text) => {
		for (let i = 0; i < 200; i++) {
			await plugin.refreshWatchStatus();
			if (bar.text === text) return;
			await new Promise((r) => setTimeout(r, 100));
		}
		assert.equal(bar.text, text, bar.getAttribute("aria-label"));
	};
	await waitFor("vitnotes: not watching");
	const daemon = spawn(EXE, ["watch", vault], { stdio: "ignore" });
	t.after(() => daemon.kill("SIGKILL"));
	await waitFor("vitnotes: watching");
	assert.ok(bar.getAttribute("aria-label").includes(`pid ${daemon.pid}`), bar.getAttribute("aria-label"));
	daemon.kill("SIGTERM");
	await waitFor("vitnotes: not watching");
	plugin.unload();
});
