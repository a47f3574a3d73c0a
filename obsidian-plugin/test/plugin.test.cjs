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
const { obsidian, FakeApp, loadPlugin, loadModule, waitForNotice, MANIFEST } = require("./harness.cjs");

const FAKE_CLI = `#!/usr/bin/env node
// Stand-in for vitnotes, speaking its protocol for programs: logs argv, cwd, stdin and each note's
// text as it sees it, then answers like the CLI (--progress json events on stderr, --print, --list).
const fs = require("fs");
const crypto = require("crypto");
const args = process.argv.slice(2);
async function readStdin() {
  let s = "";
  if (args.includes("--stdin")) for await (const chunk of process.stdin) s += chunk;
  return s;
}
async function main() {
const stdin = await readStdin();
const notes = [...args.slice(1).filter((a) => a.endsWith(".md")), ...stdin.split("\\n").filter(Boolean)];
fs.appendFileSync(process.env.FAKE_VITNOTES_LOG, JSON.stringify({ args, cwd: process.cwd(), pid: process.pid,
  stdinLines: stdin ? stdin.split("\\n").filter(Boolean).length : 0,
  texts: notes.slice(0, 5).map((a) => fs.existsSync(a) ? fs.readFileSync(a, "utf8") : null) }) + "\\n");
const ev = (o) => process.stderr.write(JSON.stringify(o) + "\\n");
if (args[0] === "--version") { console.log("vitnotes 0.1.0"); process.exit(0); }
if (args[0] === "models") { console.log("vit_base_patch16_224\\nvit_tiny_patch16_224\\ndeit_tiny_patch16_224\\nswin_tiny_patch4_window7_224"); process.exit(0); }
if (args.includes("--list")) {
  const list = process.env.FAKE_LIST ? fs.readFileSync(process.env.FAKE_LIST, "utf8") : "";
  process.stdout.write(list, () => process.exit(0)); return;
}
const REGION = "\\n<!-- vitnotes:begin card sha=0 -->\\n| Model | vit_tiny_patch16_224 |\\n<!-- vitnotes:end card -->\\n";
  let code = 0;
  for (const [index, a] of notes.entries()) {
    ev({ event: "start", note: a, index, total: notes.length });
    ev({ event: "progress", note: a, message: "profiling vit_tiny_patch16_224 …" });
    if (a.includes("hang")) {
      // A hung analysis with a worker of its own: both must be stopped.
      const worker = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      fs.writeFileSync(process.env.FAKE_VITNOTES_LOG + ".pids", JSON.stringify([process.pid, worker.pid]));
      await new Promise(() => {});
    }
    if (process.env.FAKE_DELAY_MS) await new Promise((r) => setTimeout(r, Number(process.env.FAKE_DELAY_MS)));
    const rel = a;
    if (a.includes("bad")) {
      const line = "failed " + rel + ": unknown model 'vit_bse' — did you mean vit_base_patch16_224?";
      ev({ event: "result", note: a, status: "failed", line, stale: false }); console.log(line); code = 1; continue;
    }
    if (!fs.existsSync(a)) { ev({ event: "result", note: a, status: "refused", line: "refused " + a + ": note not found" }); code = 2; continue; }
    const raw = fs.readFileSync(a);
    const sha = args.includes("--expect-sha") ? args[args.indexOf("--expect-sha") + 1] : null;
    if (sha && crypto.createHash("sha256").update(raw).digest("hex") !== sha) {
      ev({ event: "result", note: a, status: "refused", line: "refused " + rel + ": the note changed since it was read", stale: true });
      process.exit(2);
    }
    const text = raw.toString("utf8");
    const merged = text.includes("vitnotes:begin") ? text : text + REGION;
    const status = merged === text ? "unchanged" : "filled";
    const line = status + " " + rel + " (vit_tiny_patch16_224, 0.1 s)";
    if (args.includes("--print")) await new Promise((r) => process.stdout.write(merged, r));
    else { if (merged !== text) fs.writeFileSync(a, merged); console.log(line); }
    ev({ event: "result", note: a, status, line, stale: false });
  }
  if (code) console.error("vitnotes: error: 1 note failed — see the callout in the note");
  process.exit(code);
}
main();
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
/** A Notice that is not the running job's progress (those have a Cancel button). */
const isResult = (n) => !n.fragment?.find("button");

test("manifest: id vitnotes, desktop only", () => {
	assert.equal(MANIFEST.id, "vitnotes");
	assert.equal(MANIFEST.isDesktopOnly, true);
});

test("registers the commands, a ribbon icon and a 10 s watch poll", async () => {
	const { dir } = makeVault({});
	const plugin = await loadPlugin(new FakeApp(dir));
	assert.deepEqual(Object.keys(plugin.commands).sort(), ["cancel", "fill-all-opted-in-notes", "fill-current-note", "insert-frontmatter"]);
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, ms = 10_000, what = "condition") {
	const t0 = Date.now();
	while (!pred()) {
		if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
		await sleep(20);
	}
}
const pidGone = (pid) => { try { process.kill(pid, 0); return false; } catch (e) { return e.code === "ESRCH"; } };

test("Fill current note, note closed: runs `fill --progress json <absolute path>`, the CLI writes", async () => {
	const { dir, exe, calls } = makeVault({ "Papers/ViT.md": OPTED });
	const app = new FakeApp(dir);
	app.activeFile = new obsidian.TFile("Papers/ViT.md"); // active, but in no Markdown editor (e.g. reading a PDF next to it)
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	assert.equal(plugin.commands["fill-current-note"].checkCallback(false), true);
	const notice = await waitForNotice(isResult, 20_000, before);
	const abs = path.join(dir, "Papers", "ViT.md");
	assert.equal(notice.message, `vitnotes: filled ${abs} (vit_tiny_patch16_224, 0.1 s)`);
	const [call] = calls();
	assert.deepEqual(call.args, ["fill", "--progress", "json", abs]);
	assert.equal(fs.realpathSync(call.cwd), fs.realpathSync(dir));
	assert.match(fs.readFileSync(abs, "utf8"), /vitnotes:begin card/, "the CLI's own write");
	assert.deepEqual(app.processed, [], "a closed note is not written through Obsidian");
	// The progress Notice showed the CLI's progress with a Cancel button, and went away.
	const progress = obsidian.Notice.log.slice(before).find((n) => n.message.includes("profiling vit_tiny_patch16_224"));
	assert.ok(progress && progress.fragment.find("button").text === "Cancel" && progress.hidden, "live progress with Cancel");
	// …and in the status bar, which is cleared afterwards; a dismissed Notice still leaves that sign.
	const job = plugin.statusBar[1];
	assert.match(job.text, /^vitnotes: filling ViT — profiling vit_tiny_patch16_224/);
	assert.equal(job.hidden, true);
	plugin.unload();
});

test("a program that cannot even be spawned (Node throws at once): a Notice, no unhandled rejection", async () => {
	const { dir } = makeVault({ "A.md": OPTED });
	const plugin = await loadPlugin(new FakeApp(dir), { executable: "vit\0notes" });
	const before = obsidian.Notice.log.length;
	await plugin.queueFill(new obsidian.TFile("A.md"));
	const notice = obsidian.Notice.log.slice(before).find(isResult);
	assert.match(notice.message, /could not start .*ERR_INVALID_ARG/);
	assert.equal(plugin.queue.running, null, "the queue moves on");
	assert.equal(fs.readFileSync(path.join(dir, "A.md"), "utf8"), OPTED);
	plugin.unload();
});

test("Fill current note, note open: saved first, merged by `--print --expect-sha`, applied with vault.process", async () => {
	const { dir, exe, calls } = makeVault({ "Papers/ViT.md": OPTED });
	const app = new FakeApp(dir);
	const typed = OPTED + "My unsaved words.\n";
	const view = app.open("Papers/ViT.md", typed);
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const notice = await waitForNotice(isResult, 20_000, before);
	const abs = path.join(dir, "Papers", "ViT.md");
	assert.match(notice.message, /^vitnotes: filled /);
	assert.ok(view.saves >= 1);
	const [call] = calls();
	const sha = require("node:crypto").createHash("sha256").update(typed).digest("hex");
	assert.deepEqual(call.args, ["fill", "--progress", "json", "--print", "--expect-sha", sha, abs]);
	assert.equal(call.texts[0], typed, "the CLI must see what the user typed, saved before it ran");
	assert.deepEqual(app.processed, [{ path: "Papers/ViT.md", changed: true }]);
	const text = fs.readFileSync(abs, "utf8");
	assert.ok(text.startsWith(typed) && text.includes("vitnotes:begin card"));
	assert.equal(view.conflicts, 0);
	plugin.unload();
});

test("typing while the CLI runs: the regions arrive and the typing is kept (read, merged and applied again)", async () => {
	const { dir, exe, calls } = makeVault({ "A.md": OPTED });
	const app = new FakeApp(dir);
	const view = app.open("A.md");
	const plugin = await loadPlugin(app, { executable: exe });
	process.env.FAKE_DELAY_MS = "400";
	try {
		const before = obsidian.Notice.log.length;
		plugin.commands["fill-current-note"].checkCallback(false);
		await until(() => calls().length === 1, 10_000, "the first CLI run");
		view.type(OPTED + "Typed while vitnotes ran.\n"); // unsaved, in the editor only
		const notice = await waitForNotice(isResult, 20_000, before);
		assert.match(notice.message, /^vitnotes: filled /, notice.message);
	} finally {
		delete process.env.FAKE_DELAY_MS;
	}
	const text = fs.readFileSync(path.join(dir, "A.md"), "utf8");
	assert.ok(text.includes("Typed while vitnotes ran."), text);
	assert.ok(text.includes("vitnotes:begin card"), text);
	assert.equal(calls().length, 2, "the first merge was of older text: merged again");
	assert.deepEqual(app.processed.map((p) => p.changed), [false, true], "the stale merge was not applied");
	assert.equal(view.conflicts, 0, "the editor never had unsaved typing when the file changed");
	plugin.unload();
});

test("a note that has not opted in opens the model picker; nothing is written until a model is chosen", async () => {
	const plain = "---\ntags: [paper]\n---\n# Plain\n\nMy notes.\n";
	const { dir, exe, calls } = makeVault({ "Plain.md": plain });
	const app = new FakeApp(dir);
	app.open("Plain.md");
	const plugin = await loadPlugin(app, { executable: exe });
	const opened = obsidian.Modal.opened.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	await until(() => obsidian.Modal.opened.length > opened, 10_000, "the picker");
	const modal = obsidian.Modal.opened[opened];
	assert.ok(modal instanceof obsidian.SuggestModal);
	assert.match(modal.placeholder, /Plain has no vitnotes model yet/);
	assert.deepEqual(calls().map((c) => c.args), [["models"]], "no fill ran");
	assert.equal(fs.readFileSync(path.join(dir, "Plain.md"), "utf8"), plain, "no write before the user confirms");
	// A second request while the picker is open does not open a second one.
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	await waitForNotice((n) => /already open/.test(n.message), 5000, before);
	assert.equal(obsidian.Modal.opened.length, opened + 1);
	// Esc: nothing changes.
	modal.close();
	await sleep(100);
	assert.equal(fs.readFileSync(path.join(dir, "Plain.md"), "utf8"), plain);
	// Again, and this time a model is chosen: the frontmatter is set, then the note is filled.
	plugin.commands["fill-current-note"].checkCallback(false);
	await until(() => obsidian.Modal.opened.length > opened + 1, 10_000, "the second picker");
	const n = obsidian.Notice.log.length;
	obsidian.Modal.opened[opened + 1].selectSuggestion("vit_tiny_patch16_224", {});
	await waitForNotice((x) => /^vitnotes: filled/.test(x.message), 20_000, n);
	const text = fs.readFileSync(path.join(dir, "Plain.md"), "utf8");
	assert.match(text, /vitnotes: \{"model":"vit_tiny_patch16_224"\}/);
	assert.ok(text.includes("My notes.") && text.includes("vitnotes:begin card"));
	plugin.unload();
});

test("the metadata cache may lag: the opt-in is read from the saved note", async () => {
	const { dir, exe, calls } = makeVault({ "A.md": "# A\n" });
	const app = new FakeApp(dir);
	app.open("A.md", OPTED + "# A\n"); // the user just typed the key; the cache has not seen it
	assert.equal(app.metadataCache.getFileCache(new obsidian.TFile("A.md")).frontmatter, undefined);
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const notice = await waitForNotice(isResult, 20_000, before);
	assert.match(notice.message, /^vitnotes: filled/);
	assert.equal(calls()[0].args[0], "fill");
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
	assert.equal(calls()[0].args.at(-1), path.join(dir, "A.md"));
	plugin.unload();
});

test("Fill all: the CLI lists the notes (--vault --list); closed ones go through stdin, open ones through vault.process", async () => {
	const { dir, exe, calls } = makeVault({ "A.md": OPTED, "Sub/bad.md": OPTED, "Sub/C.md": OPTED, "Sub/D.md": OPTED, "E.md": OPTED });
	const list = path.join(dir, "..", path.basename(dir) + "-list.txt");
	fs.writeFileSync(list, ["A.md", "E.md", "Sub/C.md", "Sub/D.md", "Sub/bad.md"].map((p) => path.join(dir, p)).join("\n") + "\n");
	process.env.FAKE_LIST = list;
	const app = new FakeApp(dir);
	app.open("Sub/D.md", OPTED + "typed\n");
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	try {
		plugin.commands["fill-all-opted-in-notes"].callback();
		const notice = await waitForNotice(isResult, 20_000, before);
		const all = calls();
		assert.deepEqual(all[0].args, ["fill", "--vault", dir, "--list"]);
		assert.deepEqual(all[1].args, ["fill", "--progress", "json", "--stdin"]);
		assert.equal(all[1].stdinLines, 4, "the four closed notes, on stdin");
		assert.deepEqual(all[2].args.slice(3, 4), ["--print"]);
		assert.equal(all[2].texts[0], OPTED + "typed\n", "the open editor was saved first");
		assert.equal(all.length, 3);
		const lines = notice.message.split("\n");
		assert.equal(lines[0], "vitnotes: 5 notes — 4 filled, 1 failed");
		assert.ok(lines.includes(`failed ${path.join(dir, "Sub/bad.md")}: unknown model 'vit_bse' — did you mean vit_base_patch16_224?`));
		assert.ok(notice.duration > 8000, "failures stay on screen longer");
	} finally {
		delete process.env.FAKE_LIST;
	}
	plugin.unload();
});

test("Fill all over 50,000 notes: no command line carries them (no E2BIG), one CLI run gets them all", async () => {
	const { dir, exe, calls } = makeVault({});
	const list = path.join(dir, "..", path.basename(dir) + "-list.txt");
	// Deep paths: 50,000 × ~120 characters is 6 MB, far past Linux's 2 MB and Windows' 32,767 characters.
	const paths = Array.from({ length: 50_000 }, (_, i) => path.join(dir, "Papers", "a-long-folder-name-".repeat(3), `note-${i}.md`));
	fs.writeFileSync(list, paths.join("\n") + "\n");
	process.env.FAKE_LIST = list;
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe });
	const before = obsidian.Notice.log.length;
	try {
		plugin.commands["fill-all-opted-in-notes"].callback();
		await until(() => calls().length === 2, 30_000, "the fill run");
		assert.deepEqual(calls()[1].args, ["fill", "--progress", "json", "--stdin"]);
		assert.equal(calls()[1].stdinLines, 50_000);
		plugin.queue.cancelAll(); // the stand-in would now read 50,000 missing files
		await waitForNotice(isResult, 20_000, before);
	} finally {
		delete process.env.FAKE_LIST;
	}
	plugin.unload();
});

test("Fill all with no opted-in note says how to opt in, and fills nothing", async () => {
	const { dir, exe, calls } = makeVault({ "Plain.md": "# x\n" });
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe });
	const before = obsidian.Notice.log.length;
	await plugin.fillAll();
	assert.match(obsidian.Notice.log.slice(before).at(-1).message, /Fill current note/);
	assert.deepEqual(calls().map((c) => c.args.includes("--list")), [true]);
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
	assert.match(notice.message, /Settings → Community plugins → vitnotes → "vitnotes program"/);
	plugin.unload();
});

test("two commands in a row run one after the other; the same note asked twice is filled once", async () => {
	const { dir, exe, calls } = makeVault({ "A.md": OPTED, "B.md": OPTED });
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe });
	process.env.FAKE_DELAY_MS = "300";
	const log = [];
	const spy = (label) => () => log.push([label, calls().length]);
	try {
		const a = plugin.queueFill(new obsidian.TFile("A.md")).then(spy("A"));
		const b = plugin.queueFill(new obsidian.TFile("B.md")).then(spy("B"));
		const before = obsidian.Notice.log.length;
		const again = plugin.queueFill(new obsidian.TFile("A.md")).then(spy("A again"));
		assert.match(obsidian.Notice.log[before].message, /A is already being filled; it will not be filled twice/);
		await Promise.all([a, b, again]);
	} finally {
		delete process.env.FAKE_DELAY_MS;
	}
	const runs = calls();
	assert.deepEqual(runs.map((c) => path.basename(c.args.at(-1))), ["A.md", "B.md"], "A once, then B");
	// A had finished (one CLI run so far) before B's CLI started.
	assert.deepEqual(log, [["A", 1], ["A again", 1], ["B", 2]]);
	plugin.unload();
});

test("Cancel stops the CLI and the worker it started, and drops what was queued; the note is untouched", async () => {
	const { dir, exe, calls } = makeVault({ "hang.md": OPTED, "B.md": OPTED });
	const app = new FakeApp(dir);
	app.open("hang.md");
	const plugin = await loadPlugin(app, { executable: exe });
	const before = obsidian.Notice.log.length;
	plugin.commands["fill-current-note"].checkCallback(false);
	const pidsFile = process.env.FAKE_VITNOTES_LOG + ".pids";
	await until(() => fs.existsSync(pidsFile), 10_000, "the hung CLI");
	const pids = JSON.parse(fs.readFileSync(pidsFile, "utf8"));
	assert.ok(!pids.some(pidGone), "both running");
	const queued = plugin.queueFill(new obsidian.TFile("B.md"));
	assert.equal(plugin.queue.waiting, 1);
	const progress = obsidian.Notice.log.slice(before).find((n) => n.fragment?.find("button"));
	progress.fragment.find("button").click(); // the Notice's Cancel
	const notice = await waitForNotice(isResult, 10_000, before);
	assert.match(notice.message, /cancelled; the note was left as it was/);
	await until(() => pids.every(pidGone), 5000, "both processes gone");
	assert.equal(fs.readFileSync(path.join(dir, "hang.md"), "utf8"), OPTED);
	await queued;
	assert.equal(calls().length, 1, "B was dropped, not run");
	assert.equal(fs.readFileSync(path.join(dir, "B.md"), "utf8"), OPTED);
	plugin.unload();
});

test("unload stops a running CLI and its worker", async () => {
	const { dir, exe } = makeVault({ "hang.md": OPTED });
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe });
	void plugin.queueFill(new obsidian.TFile("hang.md"));
	const pidsFile = process.env.FAKE_VITNOTES_LOG + ".pids";
	await until(() => fs.existsSync(pidsFile), 10_000, "the hung CLI");
	const pids = JSON.parse(fs.readFileSync(pidsFile, "utf8"));
	assert.ok(!pids.some(pidGone), "both running");
	plugin.unload();
	await until(() => pids.every(pidGone), 5000, "both processes gone after unload");
});

test("a hung CLI is stopped after the timeout from the settings, with a Notice that says so", async () => {
	const { dir, exe } = makeVault({ "hang.md": OPTED });
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe, timeoutSeconds: 5 });
	assert.equal(plugin.settings.timeoutSeconds, 5);
	const before = obsidian.Notice.log.length;
	const t0 = Date.now();
	await plugin.queueFill(new obsidian.TFile("hang.md"));
	const took = Date.now() - t0;
	const pids = JSON.parse(fs.readFileSync(process.env.FAKE_VITNOTES_LOG + ".pids", "utf8"));
	const notice = obsidian.Notice.log.slice(before).find(isResult);
	assert.ok(took >= 5000 && took < 15_000, `stopped after ${took} ms`);
	assert.match(notice.message, /stopped after 5 s without finishing \(Settings → vitnotes → Timeout\)/);
	await until(() => pids.every(pidGone), 5000, "both processes gone after the timeout");
	plugin.unload();
});

test("long results are capped: a short Notice, the whole text in a details modal", async () => {
	const files = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`bad-${i}.md`, OPTED]));
	const { dir, exe } = makeVault(files);
	const list = path.join(dir, "..", path.basename(dir) + "-list.txt");
	fs.writeFileSync(list, Object.keys(files).map((p) => path.join(dir, p)).join("\n") + "\n");
	process.env.FAKE_LIST = list;
	const plugin = await loadPlugin(new FakeApp(dir), { executable: exe });
	const before = obsidian.Notice.log.length;
	try {
		await plugin.fillAll();
	} finally {
		delete process.env.FAKE_LIST;
	}
	const notice = obsidian.Notice.log.slice(before).find(isResult);
	assert.ok(notice.message.length < 700, `capped: ${notice.message.length} characters`);
	assert.match(notice.message, /^vitnotes: 60 notes — 60 failed/);
	const opened = obsidian.Modal.opened.length;
	notice.fragment.find("a").click();
	const modal = obsidian.Modal.opened[opened];
	assert.equal(modal.contentEl.allText().split("\n").filter((l) => l.startsWith("failed ")).length, 60);
	plugin.unload();
});

test("program discovery: ~ and quotes in the setting; pip --user, conda, pyenv, Homebrew folders; Windows", () => {
	const { findProgram, parseSetting } = loadModule("program");
	const files = new Set();
	const host = (platform, dirs = {}, env = { PATH: "" }) => ({
		platform, env, home: platform === "win32" ? "C:\\Users\\me" : "/home/me",
		isFile: (p) => files.has(p), listDir: (p) => dirs[p] ?? [],
	});
	assert.deepEqual(parseSetting('"~/My Venv/bin/vitnotes"', { home: "/home/me", platform: "linux" }), { command: "/home/me/My Venv/bin/vitnotes", args: [] });
	assert.deepEqual(parseSetting("'/opt/py 3/python3' -m vitnotes", { home: "/home/me", platform: "linux" }), { command: "/opt/py 3/python3", args: ["-m", "vitnotes"] });
	assert.equal(findProgram("~/bin/vitnotes", host("linux")).command, "/home/me/bin/vitnotes");
	assert.equal(findProgram("vitnotes", host("linux")).foundIn, "nowhere (not on PATH)");
	files.add("/home/me/miniconda3/envs/study/bin/vitnotes");
	assert.deepEqual(findProgram("vitnotes", host("linux", { "/home/me/miniconda3/envs": ["study"] })),
		{ command: "/home/me/miniconda3/envs/study/bin/vitnotes", prefixArgs: [], foundIn: "~/miniconda3/envs/study/bin" });
	files.add("/home/me/.pyenv/shims/vitnotes");
	assert.equal(findProgram("vitnotes", host("linux")).command, "/home/me/.pyenv/shims/vitnotes");
	files.add("/usr/bin/vitnotes");
	assert.equal(findProgram("vitnotes", host("linux", {}, { PATH: "/usr/bin" })).foundIn, "PATH", "the user's PATH first");
	files.clear();
	files.add("/home/me/Library/Python/3.12/bin/vitnotes");
	assert.equal(findProgram("vitnotes", host("darwin", { "/home/me/Library/Python": ["3.12"] })).command, "/home/me/Library/Python/3.12/bin/vitnotes");
	files.clear();
	files.add("/opt/homebrew/bin/vitnotes");
	assert.equal(findProgram("vitnotes", host("darwin")).foundIn, "/opt/homebrew/bin");
	files.add("/Library/Frameworks/Python.framework/Versions/3.12/bin/vitnotes");
	files.delete("/opt/homebrew/bin/vitnotes");
	assert.equal(findProgram("vitnotes", host("darwin", { "/Library/Frameworks/Python.framework/Versions": ["3.12"] })).foundIn,
		"/Library/Frameworks/Python.framework/Versions/3.12/bin");
	// Windows: pip --user and python.org's Scripts folders, conda's Scripts, then the py launcher.
	const roaming = "C:\\Users\\me\\AppData\\Roaming";
	const winEnv = { Path: "C:\\Windows", APPDATA: roaming };
	files.clear();
	files.add(`${roaming}\\Python\\Python312\\Scripts\\vitnotes.exe`);
	assert.deepEqual(findProgram("vitnotes", host("win32", { [`${roaming}\\Python`]: ["Python312"] }, winEnv)),
		{ command: `${roaming}\\Python\\Python312\\Scripts\\vitnotes.exe`, prefixArgs: [], foundIn: `~\\AppData\\Roaming\\Python\\Python312\\Scripts` });
	files.clear();
	files.add("C:\\Users\\me\\miniconda3\\envs\\study\\Scripts\\vitnotes.exe");
	assert.equal(findProgram("vitnotes", host("win32", { "C:\\Users\\me\\miniconda3\\envs": ["study"] }, winEnv)).command,
		"C:\\Users\\me\\miniconda3\\envs\\study\\Scripts\\vitnotes.exe");
	assert.equal(findProgram("~\\venv\\Scripts\\vitnotes.exe", host("win32")).command, "C:\\Users\\me\\venv\\Scripts\\vitnotes.exe");
	files.clear();
	assert.deepEqual(findProgram("vitnotes", host("win32", {}, winEnv)), { command: "py", prefixArgs: ["-m", "vitnotes"], foundIn: "the py launcher" });
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
	modal.selectSuggestion("vit_tiny_patch16_224", {});
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
	assert.equal(obsidian.Modal.opened.length, opened + 2, "a second picker, once the first closed");
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

	// The pid is alive but runs something else: a recycled pid after the daemon died (its command
	// line comes from /proc on Linux, ps on macOS, CIM on Windows).
	write({ pid: other.pid });
	await plugin.refreshWatchStatus();
	assert.equal(bar.text, "vitnotes: not watching");
	assert.match(bar.getAttribute("aria-label"), new RegExp(`pid ${other.pid} now runs another program, not vitnotes watch`));

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

test("settings tab: program, timeout and status bar, saved with the plugin data; Check says what it found", async () => {
	const { dir, exe } = makeVault({});
	const plugin = await loadPlugin(new FakeApp(dir));
	const tab = plugin.settingTabs[0];
	tab.display();
	const [program, timeout, bar] = tab.containerEl.children;
	assert.equal(program.name, "Program");
	await program.controls[0].onChangeCb(`  "${exe}" `);
	assert.deepEqual(plugin._data, { executable: `"${exe}"`, timeoutSeconds: 600, showStatusBar: true });
	const before = obsidian.Notice.log.length;
	await program.controls[1].onClickCb();
	assert.equal(obsidian.Notice.log[before].message, `vitnotes: found vitnotes 0.1.0 — ${exe} (from the setting)`);
	await program.controls[0].onChangeCb("");
	assert.equal(plugin.settings.executable, "vitnotes", "empty goes back to the default");
	await timeout.controls[0].onChangeCb("90");
	assert.equal(plugin.settings.timeoutSeconds, 90);
	await timeout.controls[0].onChangeCb("soon");
	assert.equal(plugin.settings.timeoutSeconds, 600, "not a number: the default");
	await bar.controls[0].onChangeCb(false);
	assert.equal(plugin.statusBar[0].hidden, true, "the status bar item is hidden");
	// Obsidian 1.13's declarative settings name the same keys.
	assert.deepEqual(tab.getSettingDefinitions().map((d) => d.control?.key ?? d.name),
		["executable", "Check the program", "timeoutSeconds", "showStatusBar"]);
	plugin.unload();
});
