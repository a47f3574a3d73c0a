/**
 * Loads the BUILT plugin (main.js) against the stand-in `obsidian` module and a fake App over a
 * real vault folder on disk, the way Obsidian would: construct, onload, then run commands.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");

const STUB = path.join(__dirname, "obsidian-stub.cjs");
const origResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
	if (request === "obsidian") return STUB;
	return origResolve.call(this, request, ...rest);
};
const obsidian = require("obsidian");

// Obsidian runs in a browser window; the plugin uses window.setInterval. Unref'd so tests exit.
globalThis.window ??= {
	setInterval: (fn, ms) => { const t = setInterval(fn, ms); t.unref(); window.intervals.push(ms); return t; },
	clearInterval: (t) => clearInterval(t),
	intervals: [],
};

const PLUGIN_MAIN = process.env.VITNOTES_PLUGIN_MAIN
	? path.resolve(process.env.VITNOTES_PLUGIN_MAIN)
	: path.resolve(__dirname, "..", "..", "vitnotes", "plugin", "main.js");
const MANIFEST = JSON.parse(fs.readFileSync(path.join(path.dirname(PLUGIN_MAIN), "manifest.json"), "utf8"));

/** Top-level frontmatter keys → raw values: enough for "does this note opt in" (Obsidian parses full YAML). */
function frontmatterOf(text) {
	const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(text.replace(/^\uFEFF/, ""));
	if (!m) return undefined;
	const fm = {};
	for (const line of m[1].split(/\r?\n/)) {
		const kv = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
		if (kv) fm[kv[1]] = kv[2];
	}
	return fm;
}

function walk(root, rel = "") {
	const out = [];
	for (const ent of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
		if (ent.name.startsWith(".")) continue; // Obsidian hides dot-folders (config, .vitnotes, .git)
		const r = rel ? `${rel}/${ent.name}` : ent.name;
		if (ent.isDirectory()) out.push(...walk(root, r));
		else if (ent.name.endsWith(".md")) out.push(r);
	}
	return out;
}

class FakeApp {
	constructor(vaultDir, configDir = ".obsidian") {
		const app = this;
		this.frontmatterEdits = new Map();
		this.views = [];
		this.activeFile = null;
		this.vault = {
			adapter: new obsidian.FileSystemAdapter(vaultDir),
			configDir,
			getMarkdownFiles: () => walk(vaultDir).map((p) => new obsidian.TFile(p)),
		};
		this.metadataCache = {
			getFileCache: (file) => ({ frontmatter: frontmatterOf(fs.readFileSync(path.join(vaultDir, file.path), "utf8")) }),
		};
		this.workspace = {
			getActiveFile: () => app.activeFile,
			getActiveViewOfType: (cls) => app.views.find((v) => v instanceof cls && v.file === app.activeFile) ?? null,
			getLeavesOfType: (type) => (type === "markdown" ? app.views.map((view) => ({ view })) : []),
		};
		this.fileManager = {
			// Obsidian's own frontmatter writer; here it only records the edited object per note.
			processFrontMatter: async (file, fn) => {
				const fm = app.frontmatterEdits.get(file.path) ?? { ...(frontmatterOf(fs.readFileSync(path.join(vaultDir, file.path), "utf8")) ?? {}) };
				fn(fm);
				app.frontmatterEdits.set(file.path, fm);
			},
		};
	}

	/**
	 * Open a note in an editor holding `pending` unsaved text (what the user typed): its save()
	 * writes that text once; after that the buffer matches the file, as in Obsidian, which reloads
	 * a file changed on disk into the editor.
	 */
	open(relPath, pending) {
		const file = new obsidian.TFile(relPath);
		const abs = path.join(this.vault.adapter.getBasePath(), relPath);
		const view = new obsidian.MarkdownView(file, async (v) => {
			if (v.pending !== undefined) fs.writeFileSync(abs, v.pending);
			v.pending = undefined;
		});
		view.pending = pending;
		this.views.push(view);
		this.activeFile = file;
		return view;
	}
}

async function loadPlugin(app, data) {
	delete require.cache[PLUGIN_MAIN];
	const mod = require(PLUGIN_MAIN);
	const Cls = mod.default ?? mod;
	const plugin = new Cls(app, MANIFEST);
	plugin._data = data ?? null;
	await plugin.onload();
	return plugin;
}

/** Wait until a Notice matching `pred` appears (the commands run the CLI in the background). */
async function waitForNotice(pred, timeoutMs = 90_000, since = 0) {
	const t0 = Date.now();
	for (;;) {
		const hit = obsidian.Notice.log.slice(since).find(pred);
		if (hit) return hit;
		if (Date.now() - t0 > timeoutMs) {
			throw new Error(`no matching Notice after ${timeoutMs} ms; notices: ${JSON.stringify(obsidian.Notice.log.map((n) => n.message))}`);
		}
		await new Promise((r) => setTimeout(r, 50));
	}
}

module.exports = { obsidian, FakeApp, loadPlugin, waitForNotice, PLUGIN_MAIN, MANIFEST, frontmatterOf };
