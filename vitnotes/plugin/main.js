/* vitnotes Obsidian plugin — built from obsidian-plugin/src by esbuild; do not edit. */
"use strict";
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));
var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

// src/main.ts
var main_exports = {};
__export(main_exports, {
  default: () => VitnotesPlugin
});
module.exports = __toCommonJS(main_exports);
var import_obsidian3 = require("obsidian");
var import_fs2 = require("fs");
var path3 = __toESM(require("path"));

// src/cli.ts
var import_child_process = require("child_process");
var os = __toESM(require("os"));
var path = __toESM(require("path"));
function childEnv(base = process.env) {
  const home = os.homedir();
  const extra = process.platform === "win32" ? [] : [path.join(home, ".local", "bin"), "/opt/homebrew/bin", "/usr/local/bin"];
  const key = Object.keys(base).find((k) => k.toUpperCase() === "PATH") ?? "PATH";
  const parts = (base[key] ?? "").split(path.delimiter).filter((p) => p.length > 0);
  for (const dir of extra) if (!parts.includes(dir)) parts.push(dir);
  return { ...base, [key]: parts.join(path.delimiter), PYTHONIOENCODING: "utf-8", PYTHONUTF8: "1" };
}
function runCli(exe, args, cwd) {
  return new Promise((resolve2) => {
    (0, import_child_process.execFile)(
      exe,
      args,
      { cwd, env: childEnv(), maxBuffer: 16 * 1024 * 1024, windowsHide: true, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (!error) {
          resolve2({ code: 0, stdout, stderr });
          return;
        }
        const err = error;
        if (typeof err.code === "number") {
          resolve2({ code: err.code, stdout, stderr });
        } else if (typeof err.code === "string") {
          resolve2({ code: null, stdout, stderr, spawnError: err });
        } else {
          resolve2({ code: null, stdout, stderr: stderr || String(err.message) });
        }
      }
    );
  });
}
var RESULT_WORDS = ["filled", "unchanged", "refused", "failed"];
function resultLines(stdout) {
  return stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}
function resultWord(line) {
  const word = line.split(/\s/, 1)[0];
  return RESULT_WORDS.includes(word) ? word : null;
}
function stderrTail(stderr, maxLines = 8) {
  const lines = stderr.split(/\r?\n/).map((l) => l.replace(/\s+$/, "")).filter((l) => l.trim().length > 0);
  return lines.slice(-maxLines).join("\n");
}
function notFoundMessage(exe, err) {
  const why = err.code === "ENOENT" ? `could not find the program "${exe}"` : `could not start "${exe}" (${err.code ?? err.message})`;
  return `vitnotes: ${why}.
Install it (pip install vitnotes), then set its full path in Settings \u2192 Community plugins \u2192 vitnotes \u2192 "vitnotes executable" (the output of \`which vitnotes\`, or \`where vitnotes\` on Windows).`;
}
function fillMessage(res, exe) {
  if (res.spawnError) return { text: notFoundMessage(exe, res.spawnError), ok: false };
  const lines = resultLines(res.stdout).filter((l) => resultWord(l) !== null);
  const ok = res.code === 0;
  const parts = [];
  if (lines.length > 3) {
    const counts = /* @__PURE__ */ new Map();
    for (const l of lines) counts.set(resultWord(l), (counts.get(resultWord(l)) ?? 0) + 1);
    parts.push(
      `vitnotes: ${lines.length} notes \u2014 ` + RESULT_WORDS.filter((w) => counts.has(w)).map((w) => `${counts.get(w)} ${w}`).join(", ")
    );
    parts.push(...lines.filter((l) => resultWord(l) === "refused" || resultWord(l) === "failed"));
  } else {
    parts.push(...lines.map((l) => `vitnotes: ${l}`));
  }
  if (!ok) {
    const tail = stderrTail(res.stderr);
    if (tail) parts.push(tail);
    if (parts.length === 0) parts.push(`vitnotes: exited with code ${res.code ?? "?"} and printed nothing`);
  } else if (parts.length === 0) {
    parts.push("vitnotes: done");
  }
  return { text: parts.join("\n"), ok };
}

// src/modelModal.ts
var import_obsidian = require("obsidian");
function rankModels(names, query, limit = 100) {
  const q = query.trim().toLowerCase();
  if (!q) return names.slice(0, limit);
  const words = q.split(/\s+/);
  const hits = names.filter((n) => {
    const l = n.toLowerCase();
    return words.every((w) => l.includes(w));
  });
  hits.sort((a, b) => {
    const pa = a.toLowerCase().startsWith(words[0]) ? 0 : 1;
    const pb = b.toLowerCase().startsWith(words[0]) ? 0 : 1;
    return pa - pb || a.length - b.length || a.localeCompare(b);
  });
  const typed = query.trim();
  const out = names.includes(typed) || /\s/.test(typed) ? hits : [typed, ...hits];
  return out.slice(0, limit);
}
var ModelSuggestModal = class extends import_obsidian.SuggestModal {
  constructor(app, names, onChoose) {
    super(app);
    this.names = names;
    this.onChoose = onChoose;
    this.setPlaceholder("timm model name, e.g. vit_base_patch16_224");
    this.emptyStateText = "Type a timm model name";
  }
  getSuggestions(query) {
    return rankModels(this.names, query, this.limit || 100);
  }
  renderSuggestion(name, el) {
    el.setText(this.names.includes(name) ? name : `${name} (not in the list vitnotes reported)`);
  }
  onChooseSuggestion(name) {
    void this.onChoose(name);
  }
};

// src/notes.ts
var CONFLICT_MARKERS = ["(conflicted copy", ".sync-conflict-", "conflicted copy"];
function isConflictCopy(path4) {
  const lower = path4.toLowerCase();
  return CONFLICT_MARKERS.some((m) => lower.includes(m));
}
function optsIn(frontmatter) {
  return frontmatter != null && Object.prototype.hasOwnProperty.call(frontmatter, "vitnotes");
}
function optedInNotes(notes, templatesFolder) {
  const tpl = (templatesFolder ?? "").replace(/^\/+|\/+$/g, "");
  return notes.filter((n) => optsIn(n.frontmatter)).filter((n) => !(tpl && (n.path === tpl || n.path.startsWith(tpl + "/")))).filter((n) => !isConflictCopy(n.path)).map((n) => n.path).sort();
}

// src/settings.ts
var import_obsidian2 = require("obsidian");
var DEFAULT_SETTINGS = { executable: "vitnotes" };
var VitnotesSettingTab = class extends import_obsidian2.PluginSettingTab {
  constructor(app, plugin) {
    super(app, plugin);
    this.plugin = plugin;
  }
  display() {
    const { containerEl } = this;
    containerEl.empty();
    new import_obsidian2.Setting(containerEl).setName("vitnotes executable").setDesc(
      "The vitnotes command-line program: a name found on PATH (default: vitnotes) or its full path, e.g. the output of `which vitnotes` (`where vitnotes` on Windows)."
    ).addText(
      (text) => text.setPlaceholder(DEFAULT_SETTINGS.executable).setValue(this.plugin.settings.executable).onChange(async (value) => {
        this.plugin.settings.executable = value.trim() || DEFAULT_SETTINGS.executable;
        await this.plugin.saveSettings();
      })
    ).addButton(
      (button) => button.setButtonText("Check").onClick(async () => {
        const exe = this.plugin.settings.executable;
        const res = await runCli(exe, ["--version"], this.plugin.vaultPath() ?? process.cwd());
        if (res.spawnError) new import_obsidian2.Notice(notFoundMessage(exe, res.spawnError), 15e3);
        else if (res.code === 0) new import_obsidian2.Notice(`Found ${res.stdout.trim() || exe}`);
        else new import_obsidian2.Notice(`"${exe} --version" failed:
${stderrTail(res.stderr)}`, 15e3);
      })
    );
  }
};

// src/watchStatus.ts
var import_fs = require("fs");
var os2 = __toESM(require("os"));
var path2 = __toESM(require("path"));
var PID_FILE = path2.join(".vitnotes", "watch.pid");
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  try {
    return (0, import_fs.readFileSync)(`/proc/${pid}/cmdline`, "latin1").includes("vitnotes");
  } catch {
    return true;
  }
}
function samePath(a, b) {
  const canon = (p) => {
    try {
      return (0, import_fs.realpathSync)(p);
    } catch {
      return path2.resolve(p);
    }
  };
  const x = canon(a);
  const y = canon(b);
  return process.platform === "linux" ? x === y : x.toLowerCase() === y.toLowerCase();
}
async function readWatchState(vaultPath) {
  let text;
  try {
    text = await import_fs.promises.readFile(path2.join(vaultPath, PID_FILE), "utf8");
  } catch {
    return { running: false, reason: "no watch daemon has started for this vault" };
  }
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return { running: false, reason: `${PID_FILE} is not valid JSON` };
  }
  const pid = data?.pid;
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) {
    return { running: false, reason: `${PID_FILE} has no valid pid` };
  }
  const started = typeof data.started === "string" ? data.started : void 0;
  if (typeof data.host === "string" && data.host !== os2.hostname()) {
    return { running: false, pid, started, reason: `the daemon runs on another computer (${data.host})` };
  }
  if (typeof data.vault === "string" && !samePath(data.vault, vaultPath)) {
    return { running: false, pid, started, reason: `the pid file belongs to another vault (${data.vault})` };
  }
  if (!pidAlive(pid)) {
    return { running: false, pid, started, reason: `the daemon (pid ${pid}) is no longer running` };
  }
  return { running: true, pid, started };
}
function statusText(state) {
  if (state.running) {
    return {
      text: "vitnotes: watching",
      tooltip: `vitnotes watch is running for this vault (pid ${state.pid}${state.started ? `, since ${state.started}` : ""}): opted-in notes are refilled when saved.`
    };
  }
  return {
    text: "vitnotes: not watching",
    tooltip: `${state.reason ?? "vitnotes watch is not running"}. Start it with: vitnotes watch <vault>`
  };
}

// src/main.ts
var WATCH_POLL_MS = 1e4;
var VitnotesPlugin = class extends import_obsidian3.Plugin {
  constructor() {
    super(...arguments);
    this.settings = { ...DEFAULT_SETTINGS };
    /** Vault-relative paths with a fill in flight: a second click on the same note waits for the first. */
    this.filling = /* @__PURE__ */ new Set();
    this.modelNames = null;
    this.statusEl = null;
  }
  async onload() {
    await this.loadSettings();
    this.addSettingTab(new VitnotesSettingTab(this.app, this));
    this.addRibbonIcon("microscope", "vitnotes: Fill current note", () => {
      const file = this.activeNote();
      if (file) void this.fillNotes([file]);
      else new import_obsidian3.Notice("vitnotes: open a Markdown note first");
    });
    this.addCommand({
      id: "fill-current-note",
      name: "Fill current note",
      checkCallback: (checking) => {
        const file = this.activeNote();
        if (!file) return false;
        if (!checking) void this.fillNotes([file]);
        return true;
      }
    });
    this.addCommand({
      id: "fill-all-opted-in-notes",
      name: "Fill all opted-in notes",
      callback: () => void this.fillAllOptedIn()
    });
    this.addCommand({
      id: "insert-frontmatter",
      name: "Insert vitnotes frontmatter",
      checkCallback: (checking) => {
        const file = this.activeNote();
        if (!file) return false;
        if (!checking) void this.chooseModelFor(file);
        return true;
      }
    });
    this.statusEl = this.addStatusBarItem();
    this.statusEl.addClass("vitnotes-watch-status");
    this.registerDomEvent(this.statusEl, "click", () => {
      const tip = this.statusEl?.getAttribute("aria-label");
      if (tip) new import_obsidian3.Notice(tip, 1e4);
    });
    void this.refreshWatchStatus();
    this.registerInterval(window.setInterval(() => void this.refreshWatchStatus(), WATCH_POLL_MS));
  }
  async loadSettings() {
    this.settings = { ...DEFAULT_SETTINGS, ...await this.loadData() ?? {} };
  }
  async saveSettings() {
    await this.saveData(this.settings);
  }
  /** The vault's folder on disk; null for a vault that is not a plain folder (mobile, which we do not support). */
  vaultPath() {
    const adapter = this.app.vault.adapter;
    return adapter instanceof import_obsidian3.FileSystemAdapter ? adapter.getBasePath() : null;
  }
  activeNote() {
    const file = this.app.workspace.getActiveFile();
    return file && file.extension === "md" ? file : null;
  }
  /** Flush what the user typed to disk first, so the CLI reads (and keeps) their latest words. */
  async saveEditors(paths) {
    const views = this.app.workspace.getLeavesOfType("markdown").map((leaf) => leaf.view).filter((v) => v instanceof import_obsidian3.MarkdownView);
    const active = this.app.workspace.getActiveViewOfType(import_obsidian3.MarkdownView);
    if (active && !views.includes(active)) views.push(active);
    for (const view of views) {
      if (view.file && paths.has(view.file.path)) {
        try {
          await view.save();
        } catch (e) {
          console.warn("vitnotes: could not save", view.file.path, e);
        }
      }
    }
  }
  /** One `vitnotes fill` run for these notes; its one-line results become a Notice. */
  async fillNotes(files) {
    const base = this.vaultPath();
    if (!base) {
      new import_obsidian3.Notice("vitnotes: this vault is not a folder on disk; vitnotes works with desktop vaults only");
      return;
    }
    const busy = files.filter((f) => this.filling.has(f.path));
    if (busy.length > 0) {
      new import_obsidian3.Notice(`vitnotes: already filling ${busy[0].path}; wait for it to finish`);
      return;
    }
    const paths = files.map((f) => f.path);
    paths.forEach((p) => this.filling.add(p));
    const label = files.length === 1 ? files[0].basename : `${files.length} notes`;
    const progress = new import_obsidian3.Notice(`vitnotes: filling ${label}\u2026`, 0);
    try {
      await this.saveEditors(new Set(paths));
      const exe = this.settings.executable;
      const abs = paths.map((p) => path3.join(base, p));
      const res = await runCli(exe, ["fill", "-q", ...abs], base);
      const msg = fillMessage(res, exe);
      if (!msg.ok) console.warn("vitnotes fill failed", { code: res.code, stdout: res.stdout, stderr: res.stderr });
      progress.hide();
      new import_obsidian3.Notice(msg.text, msg.ok ? 8e3 : 2e4);
    } finally {
      progress.hide();
      paths.forEach((p) => this.filling.delete(p));
    }
  }
  async templatesFolder(base) {
    try {
      const raw = await import_fs2.promises.readFile(path3.join(base, this.app.vault.configDir, "templates.json"), "utf8");
      const folder = JSON.parse(raw)?.folder;
      return typeof folder === "string" ? folder : null;
    } catch {
      return null;
    }
  }
  async fillAllOptedIn() {
    const base = this.vaultPath();
    const notes = this.app.vault.getMarkdownFiles().map((f) => ({
      path: f.path,
      frontmatter: this.app.metadataCache.getFileCache(f)?.frontmatter ?? null
    }));
    const wanted = optedInNotes(notes, base ? await this.templatesFolder(base) : null);
    const byPath = new Map(this.app.vault.getMarkdownFiles().map((f) => [f.path, f]));
    const files = wanted.map((p) => byPath.get(p)).filter((f) => f !== void 0);
    if (files.length === 0) {
      new import_obsidian3.Notice(
        'vitnotes: no note has `vitnotes:` in its frontmatter yet \u2014 open a paper note and run "vitnotes: Insert vitnotes frontmatter"'
      );
      return;
    }
    await this.fillNotes(files);
  }
  /** Model names from `vitnotes models`, asked once per session (it imports timm, which takes seconds). */
  async loadModelNames() {
    if (this.modelNames) return this.modelNames;
    const base = this.vaultPath() ?? process.cwd();
    const exe = this.settings.executable;
    const res = await runCli(exe, ["models"], base);
    if (res.spawnError) {
      new import_obsidian3.Notice(notFoundMessage(exe, res.spawnError), 2e4);
      return [];
    }
    if (res.code !== 0) {
      new import_obsidian3.Notice(`vitnotes: could not list models; type a timm name instead.
${stderrTail(res.stderr, 4)}`, 1e4);
      return [];
    }
    this.modelNames = resultLines(res.stdout).filter((l) => /^[\w.\-]+$/.test(l));
    return this.modelNames;
  }
  async chooseModelFor(file) {
    const loading = this.modelNames ? null : new import_obsidian3.Notice("vitnotes: loading timm model names\u2026", 0);
    const names = await this.loadModelNames();
    loading?.hide();
    new ModelSuggestModal(this.app, names, (name) => this.setModel(file, name)).open();
  }
  /** Adds `vitnotes: {model: NAME}` (or changes the model of an existing mapping, keeping its other keys). */
  async setModel(file, name) {
    try {
      await this.app.fileManager.processFrontMatter(file, (fm) => {
        const cur = fm.vitnotes;
        if (cur && typeof cur === "object" && !Array.isArray(cur)) cur.model = name;
        else fm.vitnotes = { model: name };
      });
      new import_obsidian3.Notice(`vitnotes: ${file.basename} now uses ${name}; run "vitnotes: Fill current note" to fill it`);
    } catch (e) {
      new import_obsidian3.Notice(`vitnotes: could not update the frontmatter of ${file.path}: ${e.message}`, 15e3);
    }
  }
  async refreshWatchStatus() {
    const base = this.vaultPath();
    if (!this.statusEl || !base) return;
    const { text, tooltip } = statusText(await readWatchState(base));
    this.statusEl.setText(text);
    this.statusEl.setAttr("aria-label", tooltip);
    this.statusEl.setAttr("data-tooltip-position", "top");
  }
};
