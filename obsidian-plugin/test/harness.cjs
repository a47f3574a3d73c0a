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

// Obsidian runs in a browser window; the plugin uses window's timers. Intervals are unref'd so tests exit.
globalThis.window ??= {
	setInterval: (fn, ms) => { const t = setInterval(fn, ms); t.unref(); window.intervals.push(ms); return t; },
	clearInterval: (t) => clearInterval(t),
	setTimeout: (fn, ms) => setTimeout(fn, ms),
	clearTimeout: (t) => clearTimeout(t),
	intervals: [],
};

/**
 * The plugin under test: built from src/ into a temporary folder first (so a test run checks the
 * code, not a stale bundle), unless VITNOTES_PLUGIN_MAIN names a built main.js.
 */
function buildFromSource() {
	const out = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "vitnotes-plugin-build-"));
	const res = require("node:child_process").spawnSync(process.execPath, ["esbuild.config.mjs", "production"], {
		cwd: path.join(__dirname, ".."), env: { ...process.env, VITNOTES_PLUGIN_OUTDIR: out }, encoding: "utf8",
	});
	if (res.status !== 0) throw new Error(`building the plugin from src/ failed:\n${res.stdout}${res.stderr}`);
	process.on("exit", () => fs.rmSync(out, { recursive: true, force: true }));
	return path.join(out, "main.js");
}
const PLUGIN_MAIN = process.env.VITNOTES_PLUGIN_MAIN ? path.resolve(process.env.VITNOTES_PLUGIN_MAIN) : buildFromSource();
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
		const abs = (file) => path.join(vaultDir, typeof file === "string" ? file : file.path);
		this.frontmatterEdits = new Map();
		this.views = [];
		this.activeFile = null;
		this.processed = [];
		this.vault = {
			adapter: new obsidian.FileSystemAdapter(vaultDir),
			configDir,
			getMarkdownFiles: () => walk(vaultDir).map((p) => new obsidian.TFile(p)),
			read: async (file) => fs.readFileSync(abs(file), "utf8"),
			/** Obsidian's atomic read-modify-write; open editors then see the new text. */
			process: async (file, fn) => {
				const before = fs.readFileSync(abs(file), "utf8");
				const after = fn(before);
				app.processed.push({ path: file.path, changed: after !== before });
				if (after !== before) app.externalWrite(file.path, after);
				return after;
			},
		};
		this.vault.adapter.readBinary = async (rel) => {
			const b = fs.readFileSync(abs(rel));
			return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
		};
		// The metadata cache is a snapshot: it lags behind edits until reindex() (Obsidian re-parses later).
		this.cache = new Map();
		this.reindex = () => { for (const f of this.vault.getMarkdownFiles()) this.cache.set(f.path, frontmatterOf(fs.readFileSync(abs(f), "utf8"))); };
		this.reindex();
		this.metadataCache = { getFileCache: (file) => ({ frontmatter: app.cache.get(file.path) }) };
		this.workspace = {
			getActiveFile: () => app.activeFile,
			getActiveViewOfType: (cls) => app.views.find((v) => v instanceof cls && v.file === app.activeFile) ?? null,
			getLeavesOfType: (type) => (type === "markdown" ? app.views.map((view) => ({ view })) : []),
		};
		this.fileManager = {
			// Obsidian's own frontmatter writer: the edited object is recorded and written back (as YAML flow values).
			processFrontMatter: async (file, fn) => {
				const text = fs.existsSync(abs(file)) ? fs.readFileSync(abs(file), "utf8") : "";
				const fm = app.frontmatterEdits.get(file.path) ?? { ...(frontmatterOf(text) ?? {}) };
				fn(fm);
				app.frontmatterEdits.set(file.path, fm);
				const body = text.replace(/^---\r?\n[\s\S]*?\r?\n---\r?\n/, "");
				const yaml = Object.entries(fm).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");
				app.externalWrite(file.path, `---\n${yaml}\n---\n${body}`);
			},
		};
	}

	/** Something other than the editor changed a note on disk: its open editors react. */
	externalWrite(rel, text) {
		fs.writeFileSync(path.join(this.vault.adapter.getBasePath(), rel), text);
		for (const v of this.views) if (v.file.path === rel) v.fileChanged();
	}

	/**
	 * Open a note in an editor holding `pending` unsaved text (what the user typed): its save()
	 * writes that text once; after that the buffer matches the file, as in Obsidian, which reloads
	 * a file changed on disk into a clean editor.
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
	await plugin.load();
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

/** One src/ module on its own (for unit tests of pure helpers the bundle does not export). */
function loadModule(name) {
	const out = path.join(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "vitnotes-mod-")), `${name}.js`);
	require("esbuild").buildSync({
		entryPoints: [path.join(__dirname, "..", "src", `${name}.ts`)], bundle: true, platform: "node",
		format: "cjs", outfile: out, external: ["obsidian"], logLevel: "silent",
	});
	return require(out);
}
module.exports.loadModule = loadModule;
