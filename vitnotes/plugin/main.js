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
var import_obsidian5 = require("obsidian");
var import_crypto = require("crypto");
var path3 = __toESM(require("path"));

// src/program.ts
var fs = __toESM(require("fs"));
var os = __toESM(require("os"));
var path = __toESM(require("path"));
var HOST = {
  platform: process.platform,
  env: process.env,
  home: os.homedir(),
  isFile: (p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  },
  listDir: (p) => {
    try {
      return fs.readdirSync(p).sort().reverse();
    } catch {
      return [];
    }
  }
};
function pathsOf(host) {
  return host.platform === "win32" ? path.win32 : path.posix;
}
function pathKey(env) {
  return Object.keys(env).find((k) => k.toUpperCase() === "PATH") ?? "PATH";
}
function parseSetting(value, host = HOST) {
  const home = host.home;
  const words = value.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  const unquote = (w) => /^(["']).*\1$/.test(w) ? w.slice(1, -1) : w;
  const expand = (w) => w === "~" ? home : /^~[/\\]/.test(w) ? pathsOf(host).join(home, w.slice(2)) : w;
  const [first = "vitnotes", ...rest] = words.map(unquote);
  return { command: expand(first), args: rest };
}
function condaDirs(host, bin) {
  const roots = ["miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba"].map((r) => pathsOf(host).join(host.home, r));
  if (host.platform !== "win32") roots.push("/opt/conda", "/opt/miniconda3", "/opt/homebrew/Caskroom/miniconda/base");
  const out = [];
  for (const root of roots) {
    out.push(pathsOf(host).join(root, bin));
    for (const env of host.listDir(pathsOf(host).join(root, "envs"))) out.push(pathsOf(host).join(root, "envs", env, bin));
  }
  return out;
}
function extraDirs(host) {
  const { home, env } = host;
  if (host.platform === "win32") {
    const appData = env.APPDATA ?? pathsOf(host).join(home, "AppData", "Roaming");
    const local = env.LOCALAPPDATA ?? pathsOf(host).join(home, "AppData", "Local");
    const versions = (root) => host.listDir(root).filter((v) => /^Python3\d+/i.test(v)).map((v) => pathsOf(host).join(root, v, "Scripts"));
    return [
      ...versions(pathsOf(host).join(appData, "Python")),
      // pip install --user
      ...versions(pathsOf(host).join(local, "Programs", "Python")),
      // python.org installer
      pathsOf(host).join(home, ".local", "bin"),
      // pipx
      pathsOf(host).join(home, ".pyenv", "pyenv-win", "shims"),
      ...condaDirs(host, "Scripts")
    ];
  }
  const userSite = pathsOf(host).join(home, "Library", "Python");
  const framework = "/Library/Frameworks/Python.framework/Versions";
  return [
    pathsOf(host).join(home, ".local", "bin"),
    // pip install --user (Linux), pipx
    ...host.listDir(userSite).map((v) => pathsOf(host).join(userSite, v, "bin")),
    // pip --user (macOS)
    pathsOf(host).join(home, ".pyenv", "shims"),
    ...condaDirs(host, "bin"),
    "/opt/homebrew/bin",
    "/usr/local/bin",
    ...host.listDir(framework).map((v) => pathsOf(host).join(framework, v, "bin"))
    // python.org installer
  ];
}
function searchDirs(host) {
  const own = (host.env[pathKey(host.env)] ?? "").split(pathsOf(host).delimiter).filter((d) => d.length > 0);
  const tilde = (d) => d.startsWith(host.home) ? "~" + d.slice(host.home.length) : d;
  return [...own.map((dir) => ({ dir, label: "PATH" })), ...extraDirs(host).map((dir) => ({ dir, label: tilde(dir) }))];
}
function executableNames(name, host) {
  if (host.platform !== "win32" || pathsOf(host).extname(name)) return [name];
  return [name + ".exe"];
}
function findProgram(setting, host = HOST) {
  const { command, args } = parseSetting(setting, host);
  if (/[/\\]/.test(command)) return { command, prefixArgs: args, foundIn: "the setting" };
  for (const { dir, label } of searchDirs(host)) {
    for (const name of executableNames(command, host)) {
      const full = pathsOf(host).join(dir, name);
      if (host.isFile(full)) return { command: full, prefixArgs: args, foundIn: label };
    }
  }
  if (host.platform === "win32" && command === "vitnotes") {
    return { command: "py", prefixArgs: ["-m", "vitnotes", ...args], foundIn: "the py launcher" };
  }
  return { command, prefixArgs: args, foundIn: "nowhere (not on PATH)" };
}
function childEnv(host = HOST) {
  const key = pathKey(host.env);
  const parts = (host.env[key] ?? "").split(pathsOf(host).delimiter).filter((p) => p.length > 0);
  for (const dir of extraDirs(host)) if (!parts.includes(dir)) parts.push(dir);
  return { ...host.env, [key]: parts.join(pathsOf(host).delimiter), PYTHONIOENCODING: "utf-8", PYTHONUTF8: "1" };
}
function describe(program) {
  return [program.command, ...program.prefixArgs].map((w) => /\s/.test(w) ? `"${w}"` : w).join(" ");
}

// src/cli.ts
var RESULT_WORDS = ["filled", "unchanged", "refused", "failed"];
function field(o, key, type) {
  return typeof o[key] === type ? o[key] : void 0;
}
function parseEvent(line) {
  if (!line.startsWith("{")) return null;
  let raw;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const o = raw;
  const event = field(o, "event", "string");
  if (event !== "start" && event !== "progress" && event !== "result") return null;
  const status = field(o, "status", "string");
  return {
    event,
    note: field(o, "note", "string") ?? "",
    index: field(o, "index", "number"),
    total: field(o, "total", "number"),
    message: field(o, "message", "string"),
    status: RESULT_WORDS.includes(status) ? status : void 0,
    line: field(o, "line", "string"),
    model: field(o, "model", "string"),
    stale: field(o, "stale", "boolean")
  };
}
function stderrTail(stderr, maxLines = 8) {
  const lines = stderr.split(/\r?\n/).map((l) => l.replace(/\s+$/, "")).filter((l) => l.trim().length > 0 && parseEvent(l) === null);
  return lines.slice(-maxLines).join("\n");
}
function notFoundMessage(program, err) {
  const exe = describe(program);
  const why = err.code === "ENOENT" ? `could not find the program "${exe}"` : `could not start "${exe}" (${err.code ?? err.message})`;
  return `vitnotes: ${why}.
Install it (pip install vitnotes), then set its full path in Settings \u2192 Community plugins \u2192 vitnotes \u2192 "vitnotes program" (the output of \`which vitnotes\`, or \`where vitnotes\` on Windows) and press Check.`;
}
function runProblem(res, program, timeoutS) {
  if (res.spawnError) return notFoundMessage(program, res.spawnError);
  if (res.stopped === "cancelled") return "vitnotes: cancelled; the note was left as it was";
  if (res.stopped === "timeout") {
    return `vitnotes: stopped after ${timeoutS} s without finishing (Settings \u2192 vitnotes \u2192 Timeout); the note was left as it was. Run \`vitnotes fill NOTE\` in a terminal to see where it hangs.`;
  }
  return null;
}
function resultsMessage(results, res) {
  const lines = results.map((r) => r.line ?? `${r.status ?? "?"} ${r.note}`);
  const ok = res.code === 0;
  const parts = [];
  if (lines.length > 3) {
    const counts = RESULT_WORDS.map((w) => [w, results.filter((r) => r.status === w).length]);
    parts.push(
      `vitnotes: ${lines.length} notes \u2014 ` + counts.filter(([, n]) => n > 0).map(([w, n]) => `${n} ${w}`).join(", ")
    );
    parts.push(...results.filter((r) => r.status === "refused" || r.status === "failed").map((r) => r.line ?? r.note));
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
  constructor(app, names, prompt, onChoose) {
    super(app);
    this.names = names;
    this.onChoose = onChoose;
    /** Called when the picker closes, chosen or not. */
    this.onClosed = () => void 0;
    this.setPlaceholder(prompt);
    this.emptyStateText = "Type a timm model name";
  }
  onClose() {
    super.onClose();
    this.onClosed();
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
var import_obsidian2 = require("obsidian");
function optsIn(text) {
  const info = (0, import_obsidian2.getFrontMatterInfo)(text);
  if (!info.exists) return false;
  let data;
  try {
    data = (0, import_obsidian2.parseYaml)(info.frontmatter);
  } catch {
    return true;
  }
  return typeof data === "object" && data !== null && Object.prototype.hasOwnProperty.call(data, "vitnotes");
}

// src/process.ts
var import_child_process = require("child_process");
var KILL_GRACE_MS = 2e3;
var live = /* @__PURE__ */ new Set();
function signalTree(pid, signal) {
  if (process.platform === "win32") {
    (0, import_child_process.spawn)("taskkill", ["/pid", String(pid), "/T", "/F"], { windowsHide: true, stdio: "ignore" }).on("error", () => void 0);
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
    }
  }
}
function stopAll() {
  for (const child of live) {
    if (child.pid !== void 0) signalTree(child.pid, "SIGKILL");
  }
  live.clear();
}
function stopLater(child) {
  const pid = child.pid;
  if (pid === void 0) return;
  signalTree(pid, "SIGTERM");
  window.setTimeout(() => signalTree(pid, "SIGKILL"), KILL_GRACE_MS);
}
function lineSplitter(onLine) {
  let rest = "";
  return (chunk) => {
    rest += chunk;
    let nl;
    while ((nl = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, nl).replace(/\r$/, ""));
      rest = rest.slice(nl + 1);
    }
  };
}
function startChild(program, args, opts) {
  return (0, import_child_process.spawn)(program.command, [...program.prefixArgs, ...args], {
    cwd: opts.cwd,
    env: childEnv(),
    detached: process.platform !== "win32",
    windowsHide: true,
    stdio: ["pipe", "pipe", "pipe"]
  });
}
function runProgram(program, args, opts) {
  return new Promise((resolve2) => {
    let child;
    try {
      child = startChild(program, args, opts);
    } catch (e) {
      resolve2({ code: null, stdout: Buffer.alloc(0), stderr: "", spawnError: e });
      return;
    }
    live.add(child);
    const out = [];
    let stderr = "";
    let stopped;
    let spawnError;
    let timer;
    const arm = () => {
      if (timer) window.clearTimeout(timer);
      if (opts.timeoutMs) timer = window.setTimeout(() => stop("timeout"), opts.timeoutMs);
    };
    const onLine = lineSplitter((line) => {
      if (opts.restartsTimeout?.(line)) arm();
      opts.onStderrLine?.(line);
    });
    child.stdout?.on("data", (b) => out.push(b));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (s) => {
      stderr += s;
      onLine(s);
    });
    child.stdin?.on("error", () => void 0);
    child.stdin?.end(opts.input ?? "");
    const stop = (why) => {
      stopped ?? (stopped = why);
      stopLater(child);
    };
    arm();
    const onAbort = () => stop("cancelled");
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let done = false;
    const finish = (code) => {
      if (done) return;
      done = true;
      live.delete(child);
      if (timer) window.clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (stderr && !stderr.endsWith("\n")) onLine("\n");
      resolve2({ code: stopped ? null : code, stdout: Buffer.concat(out), stderr, spawnError, stopped, pid: child.pid });
    };
    child.on("error", (e) => {
      spawnError = e;
      if (child.pid === void 0) finish(null);
    });
    child.on("close", (code) => finish(code));
  });
}

// src/queue.ts
var JobQueue = class {
  /** Called whenever the running job or the queue length changes. */
  constructor(onChange = () => void 0) {
    this.onChange = onChange;
    this.entries = [];
    this.closed = false;
  }
  get running() {
    return this.entries[0]?.job ?? null;
  }
  get waiting() {
    return Math.max(0, this.entries.length - 1);
  }
  has(key) {
    return this.entries.some((e) => e.job.key === key);
  }
  /** Run the job after the ones before it; the promise settles when it has finished (never rejects). */
  add(job) {
    const same = this.entries.find((e) => e.job.key === job.key);
    if (same) return { done: same.done, joined: true };
    if (this.closed) return { done: Promise.resolve(), joined: false };
    const abort = new AbortController();
    let start = () => void 0;
    const started = new Promise((r) => start = r);
    const entry = { job, abort, start, done: Promise.resolve() };
    entry.done = started.then(() => abort.signal.aborted ? void 0 : job.run(abort.signal)).catch((e) => console.error("vitnotes:", job.label, e)).finally(() => this.next(entry));
    this.entries.push(entry);
    if (this.entries.length === 1) entry.start();
    this.onChange();
    return { done: entry.done, joined: false };
  }
  next(finished) {
    this.entries = this.entries.filter((e) => e !== finished);
    this.entries[0]?.start();
    this.onChange();
  }
  /** Stop the running job and drop the waiting ones. */
  cancelAll() {
    for (const e of this.entries) e.abort.abort();
    for (const e of this.entries.slice(1)) e.start();
  }
  /** Plugin unload: cancel everything, accept nothing more. */
  close() {
    this.closed = true;
    this.cancelAll();
  }
};

// src/settings.ts
var import_obsidian3 = require("obsidian");
var DEFAULT_SETTINGS = { executable: "vitnotes", timeoutSeconds: 600, showStatusBar: true };
var TEXT = {
  program: {
    name: "Program",
    desc: "The vitnotes command-line program: a name (searched on PATH, then in pip, pipx, conda, pyenv and Homebrew folders), a full path such as the output of `which vitnotes`, or a command such as `python3 -m vitnotes`. Quote a path that has spaces; ~ is your home folder."
  },
  timeout: {
    name: "Timeout (seconds)",
    desc: "Stop a fill that has not finished a note after this long. A first fill of a large model can take two minutes."
  },
  statusBar: {
    name: "Show in the status bar",
    desc: "Whether a watch daemon runs for this vault, and the fill in progress (click it to cancel)."
  }
};
function cleanSetting(key, value) {
  if (key === "executable") return typeof value === "string" && value.trim() ? value.trim() : DEFAULT_SETTINGS.executable;
  if (key === "timeoutSeconds") {
    const n = typeof value === "number" ? value : Number(value);
    return Number.isFinite(n) && n >= 5 ? Math.round(n) : DEFAULT_SETTINGS.timeoutSeconds;
  }
  return value !== false;
}
var VitnotesSettingTab = class extends import_obsidian3.PluginSettingTab {
  constructor(app, plugin) {
    super(app, plugin);
    this.plugin = plugin;
  }
  async set(key, value) {
    this.plugin.settings[key] = cleanSetting(key, value);
    await this.plugin.saveSettings();
    if (key === "showStatusBar") this.plugin.applyStatusBarSetting();
  }
  /** Obsidian 1.13+: declarative settings, found by the settings search. */
  getSettingDefinitions() {
    return [
      { ...TEXT.program, control: { type: "text", key: "executable", placeholder: DEFAULT_SETTINGS.executable } },
      { name: "Check the program", desc: "Run it once and say what was found.", action: () => void this.plugin.checkProgram() },
      { ...TEXT.timeout, control: { type: "number", key: "timeoutSeconds", min: 5 } },
      { ...TEXT.statusBar, control: { type: "toggle", key: "showStatusBar" } }
    ];
  }
  getControlValue(key) {
    return this.plugin.settings[key];
  }
  async setControlValue(key, value) {
    await this.set(key, value);
  }
  /** Obsidian before 1.13. */
  display() {
    const { containerEl } = this;
    containerEl.empty();
    const s = this.plugin.settings;
    new import_obsidian3.Setting(containerEl).setName(TEXT.program.name).setDesc(TEXT.program.desc).addText(
      (text) => text.setPlaceholder(DEFAULT_SETTINGS.executable).setValue(s.executable).onChange((value) => this.set("executable", value))
    ).addButton((button) => button.setButtonText("Check").onClick(() => this.plugin.checkProgram()));
    new import_obsidian3.Setting(containerEl).setName(TEXT.timeout.name).setDesc(TEXT.timeout.desc).addText((text) => text.setValue(String(s.timeoutSeconds)).onChange((value) => this.set("timeoutSeconds", value)));
    new import_obsidian3.Setting(containerEl).setName(TEXT.statusBar.name).setDesc(TEXT.statusBar.desc).addToggle((toggle) => toggle.setValue(s.showStatusBar).onChange((value) => this.set("showStatusBar", value)));
  }
};

// src/ui.ts
var import_obsidian4 = require("obsidian");
var MAX_LINES = 4;
var MAX_CHARS = 400;
var DetailsModal = class extends import_obsidian4.Modal {
  constructor(app, title, body) {
    super(app);
    this.title = title;
    this.body = body;
  }
  onOpen() {
    this.titleEl.setText(this.title);
    this.contentEl.createEl("pre", { text: this.body, cls: "vitnotes-details" });
  }
  onClose() {
    this.contentEl.empty();
  }
};
function cap(text) {
  const lines = text.split("\n");
  let head = lines.slice(0, MAX_LINES).join("\n");
  if (head.length > MAX_CHARS) head = head.slice(0, MAX_CHARS - 1) + "\u2026";
  return { head, more: head !== text };
}
function notify(app, text, durationMs = 8e3) {
  const { head, more } = cap(text);
  if (!more) return new import_obsidian4.Notice(head, durationMs);
  const fragment = createFragment((f) => {
    f.createDiv({ text: head });
    const link = f.createEl("a", { text: "Show details", href: "#" });
    link.addEventListener("click", (evt) => {
      evt.preventDefault();
      new DetailsModal(app, "vitnotes", text).open();
    });
  });
  return new import_obsidian4.Notice(fragment, durationMs);
}
var ProgressDisplay = class {
  constructor(statusEl, onCancel) {
    this.statusEl = statusEl;
    this.onCancel = onCancel;
    this.notice = null;
  }
  show(text) {
    const fragment = createFragment((f) => {
      f.createDiv({ text });
      const button = f.createEl("button", { text: "Cancel" });
      button.addEventListener("click", () => this.onCancel());
    });
    if (this.notice) this.notice.setMessage(fragment);
    else this.notice = new import_obsidian4.Notice(fragment, 0);
    const el = this.statusEl();
    if (el) {
      el.setText(text);
      el.setAttr("aria-label", "Click to cancel");
      el.toggle(true);
    }
  }
  hide() {
    this.notice?.hide();
    this.notice = null;
    this.statusEl()?.toggle(false);
  }
};

// src/watchStatus.ts
var import_child_process2 = require("child_process");
var import_fs = require("fs");
var os2 = __toESM(require("os"));
var path2 = __toESM(require("path"));
var PID_FILE = path2.join(".vitnotes", "watch.pid");
function pidExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}
function output(cmd, args) {
  return new Promise((resolve2) => {
    (0, import_child_process2.execFile)(
      cmd,
      args,
      { timeout: 5e3, windowsHide: true, encoding: "utf8" },
      (err, stdout) => resolve2(err ? null : stdout)
    );
  });
}
async function commandLine(pid) {
  if (process.platform === "linux") {
    try {
      return (await import_fs.promises.readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ");
    } catch {
      return null;
    }
  }
  if (process.platform === "win32") {
    const query = `(Get-CimInstance Win32_Process -Filter "ProcessId=${pid}").CommandLine`;
    return output("powershell.exe", ["-NoProfile", "-NonInteractive", "-Command", query]);
  }
  return output("ps", ["-p", String(pid), "-o", "command="]);
}
async function whatRuns(pid) {
  if (!pidExists(pid)) return "gone";
  const cmd = await commandLine(pid);
  if (cmd === null) return pidExists(pid) ? "daemon" : "gone";
  return /vitnotes/.test(cmd) && /\bwatch\b/.test(cmd) ? "daemon" : "other";
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
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { running: false, reason: `${PID_FILE} is not valid JSON` };
  }
  const data = typeof parsed === "object" && parsed !== null ? parsed : {};
  const pid = data.pid;
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
  const runs = await whatRuns(pid);
  if (runs === "gone") return { running: false, pid, started, reason: `the daemon (pid ${pid}) is no longer running` };
  if (runs === "other") {
    return { running: false, pid, started, reason: `the daemon is gone: pid ${pid} now runs another program, not vitnotes watch` };
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
var APPLY_TRIES = 3;
var sha256 = (data) => (0, import_crypto.createHash)("sha256").update(data).digest("hex");
var VitnotesPlugin = class extends import_obsidian5.Plugin {
  constructor() {
    super(...arguments);
    this.settings = { ...DEFAULT_SETTINGS };
    this.modelNames = null;
    this.pickerOpen = false;
    this.watchEl = null;
    this.jobEl = null;
    this.progress = new ProgressDisplay(
      () => this.settings.showStatusBar ? this.jobEl : null,
      () => this.queue.cancelAll()
    );
    this.queue = new JobQueue(() => this.onQueueChange());
  }
  async onload() {
    await this.loadSettings();
    this.addSettingTab(new VitnotesSettingTab(this.app, this));
    this.addRibbonIcon("microscope", "Fill current note", () => {
      const file = this.activeNote();
      if (file) void this.fillCurrent(file);
      else new import_obsidian5.Notice("Open a Markdown note first");
    });
    this.addNoteCommand("fill-current-note", "Fill current note", (file) => void this.fillCurrent(file));
    this.addCommand({ id: "fill-all-opted-in-notes", name: "Fill all opted-in notes", callback: () => void this.fillAll() });
    this.addNoteCommand("insert-frontmatter", "Choose the model for this note", (file) => this.openPicker(file, false));
    this.addCommand({ id: "cancel", name: "Cancel the running fill", callback: () => this.queue.cancelAll() });
    this.setUpStatusBar();
    this.register(() => {
      this.queue.close();
      stopAll();
    });
  }
  onunload() {
    this.progress.hide();
  }
  addNoteCommand(id, name, run) {
    this.addCommand({
      id,
      name,
      checkCallback: (checking) => {
        const file = this.activeNote();
        if (!file) return false;
        if (!checking) run(file);
        return true;
      }
    });
  }
  setUpStatusBar() {
    this.watchEl = this.addStatusBarItem();
    this.watchEl.addClass("vitnotes-watch-status");
    this.registerDomEvent(this.watchEl, "click", () => {
      const tip = this.watchEl?.getAttribute("aria-label");
      if (tip) notify(this.app, tip, 1e4);
    });
    this.jobEl = this.addStatusBarItem();
    this.jobEl.addClass("vitnotes-job-status");
    this.jobEl.toggle(false);
    this.registerDomEvent(this.jobEl, "click", () => this.queue.cancelAll());
    this.applyStatusBarSetting();
    this.registerInterval(window.setInterval(() => void this.refreshWatchStatus(), WATCH_POLL_MS));
  }
  applyStatusBarSetting() {
    this.watchEl?.toggle(this.settings.showStatusBar);
    if (!this.settings.showStatusBar) this.jobEl?.toggle(false);
    if (this.settings.showStatusBar) void this.refreshWatchStatus();
  }
  async loadSettings() {
    const saved = await this.loadData() ?? {};
    const keys = Object.keys(DEFAULT_SETTINGS);
    const s = { ...DEFAULT_SETTINGS };
    for (const k of keys) if (k in saved) s[k] = cleanSetting(k, saved[k]);
    this.settings = s;
  }
  async saveSettings() {
    await this.saveData(this.settings);
  }
  /** The vault's folder on disk; null for a vault that is not a plain folder (mobile, which we do not support). */
  vaultPath() {
    const adapter = this.app.vault.adapter;
    return adapter instanceof import_obsidian5.FileSystemAdapter ? adapter.getBasePath() : null;
  }
  activeNote() {
    const file = this.app.workspace.getActiveFile();
    return file && file.extension === "md" ? file : null;
  }
  onQueueChange() {
    const job = this.queue.running;
    if (!job) this.progress.hide();
  }
  showProgress(label, detail = "") {
    const waiting = this.queue.waiting ? ` (${this.queue.waiting} more queued)` : "";
    this.progress.show(`vitnotes: ${label}${detail ? " \u2014 " + detail : ""}${waiting}`);
  }
  /** One run of the CLI, with the timeout from the settings; resolves when the child has exited. */
  async runCli(args, opts = {}) {
    const program = findProgram(this.settings.executable);
    return runProgram(program, args, {
      cwd: this.vaultPath() ?? process.cwd(),
      timeoutMs: this.settings.timeoutSeconds * 1e3,
      ...opts
    });
  }
  /** `fill --progress json …`: the result events, with each progress event shown as it comes. */
  async runFill(label, args, signal, input) {
    const results = [];
    let position = "";
    const res = await this.runCli(["fill", "--progress", "json", ...args], {
      input,
      signal,
      restartsTimeout: (line) => parseEvent(line)?.event === "start",
      onStderrLine: (line) => {
        const ev = parseEvent(line);
        if (ev?.event === "start" && (ev.total ?? 1) > 1) position = `${(ev.index ?? 0) + 1}/${ev.total} `;
        if (ev?.event === "progress") this.showProgress(label, position + (ev.message ?? ""));
        if (ev?.event === "result") results.push(ev);
      }
    });
    return { results, res };
  }
  /** The outcome as a Notice: the CLI's lines, or why there were none. */
  report(outcome) {
    const problem = runProblem(outcome.res, findProgram(this.settings.executable), this.settings.timeoutSeconds);
    if (problem) {
      notify(this.app, problem, 2e4);
      return;
    }
    const msg = resultsMessage(outcome.results, outcome.res);
    if (!msg.ok) console.warn("vitnotes fill failed", { code: outcome.res.code, stderr: outcome.res.stderr });
    notify(this.app, msg.text, msg.ok ? 8e3 : 2e4);
  }
  /** Markdown editors showing these notes. */
  openViews(paths) {
    const views = this.app.workspace.getLeavesOfType("markdown").map((leaf) => leaf.view).filter((v) => v instanceof import_obsidian5.MarkdownView && v.file !== null && paths.has(v.file.path));
    return [...new Set(views)];
  }
  /** Flush what the user typed to disk, so the CLI reads (and keeps) their latest words. */
  async saveEditors(paths) {
    for (const view of this.openViews(paths)) {
      try {
        await view.save();
      } catch (e) {
        console.warn("vitnotes: could not save", view.file?.path, e);
      }
    }
  }
  /** "Fill current note": an opted-in note is queued for a fill; any other note gets the model picker. */
  async fillCurrent(file) {
    if (!this.vaultPath()) {
      new import_obsidian5.Notice("This vault is not a folder on disk; vitnotes works with desktop vaults only");
      return;
    }
    await this.saveEditors(/* @__PURE__ */ new Set([file.path]));
    let text;
    try {
      text = await this.app.vault.read(file);
    } catch (e) {
      notify(this.app, `vitnotes: cannot read ${file.path}: ${e.message}`, 15e3);
      return;
    }
    if (!optsIn(text)) {
      this.openPicker(file, true);
      return;
    }
    await this.queueFill(file);
  }
  /** Queue one note's fill; asking again while it is queued or running joins that fill. */
  queueFill(file) {
    const label = `filling ${file.basename}`;
    const { done, joined } = this.queue.add({ key: `fill:${file.path}`, label, run: (signal) => this.fillOne(file, label, signal) });
    if (joined) new import_obsidian5.Notice(`vitnotes: ${file.basename} is already being filled; it will not be filled twice`);
    return done;
  }
  async fillOne(file, label, signal) {
    this.showProgress(label);
    const open = this.openViews(/* @__PURE__ */ new Set([file.path])).length > 0;
    const outcome = open ? await this.fillOpen(file, label, signal) : await this.runFill(label, [this.abs(file.path)], signal);
    this.report(outcome);
  }
  abs(rel) {
    return path3.join(this.vaultPath() ?? "", rel);
  }
  /**
   * An open note: save the editor, read the bytes, let the CLI merge them (`--print --expect-sha`),
   * and apply its text only if the note still is what was read; else read and merge again.
   */
  async fillOpen(file, label, signal) {
    let outcome = null;
    for (let attempt = 0; attempt < APPLY_TRIES && !signal.aborted; attempt++) {
      await this.saveEditors(/* @__PURE__ */ new Set([file.path]));
      const raw = Buffer.from(await this.app.vault.adapter.readBinary(file.path));
      outcome = await this.runFill(label, ["--print", "--expect-sha", sha256(raw), this.abs(file.path)], signal);
      const result = outcome.results[0];
      if (result?.stale) continue;
      const changes = result && (result.status === "filled" || result.status === "failed");
      if (!changes || outcome.res.stdout.length === 0 || outcome.res.stopped) return outcome;
      if (await this.applyIfUnchanged(file, raw, outcome.res.stdout)) return outcome;
    }
    if (outcome && !outcome.res.stopped && !signal.aborted) {
      const line = `refused ${file.path}: the note kept changing while vitnotes filled it; try again when you pause typing`;
      outcome.results = [{ event: "result", note: file.path, status: "refused", line }];
      outcome.res = { ...outcome.res, code: 2 };
    }
    return outcome ?? { results: [], res: { code: null, stdout: Buffer.alloc(0), stderr: "", stopped: "cancelled" } };
  }
  /**
   * Write `merged` through Obsidian only if the note's text is still `raw`; true when written.
   * The editor is saved first: typing since the CLI read the note makes the text differ, so it is
   * merged again rather than overwritten (or left to Obsidian's "modified externally" merge).
   */
  async applyIfUnchanged(file, raw, merged) {
    await this.saveEditors(/* @__PURE__ */ new Set([file.path]));
    const base = raw.toString("utf8");
    let applied = false;
    await this.app.vault.process(file, (data) => {
      if (data !== base && "\uFEFF" + data !== base) return data;
      applied = true;
      const text = merged.toString("utf8");
      return data.startsWith("\uFEFF") ? text : text.replace(/^\ufeff/, "");
    });
    return applied;
  }
  /** "Fill all opted-in notes": the CLI finds them (the daemon's rules); paths go through stdin. */
  async fillAll() {
    const base = this.vaultPath();
    if (!base) {
      new import_obsidian5.Notice("This vault is not a folder on disk; vitnotes works with desktop vaults only");
      return;
    }
    const label = "filling all opted-in notes";
    const { joined, done } = this.queue.add({ key: "fill-all", label, run: (signal) => this.fillAllJob(base, label, signal) });
    if (joined) notify(this.app, "vitnotes: a fill of all notes is already queued");
    await done;
  }
  async fillAllJob(base, label, signal) {
    this.showProgress(label, "finding opted-in notes");
    const listed = await this.runCli(["fill", "--vault", base, "--list"], { signal });
    const problem = runProblem(listed, findProgram(this.settings.executable), this.settings.timeoutSeconds);
    if (problem || listed.code !== 0) {
      notify(this.app, problem ?? `vitnotes: could not list the vault's notes
${stderrTail(listed.stderr)}`, 2e4);
      return;
    }
    const paths = listed.stdout.toString("utf8").split(/\r?\n/).filter((p) => p.length > 0);
    if (paths.length === 0) {
      notify(this.app, 'vitnotes: no note has `vitnotes:` in its frontmatter yet \u2014 open a paper note and run "Fill current note"');
      return;
    }
    const byAbs = new Map(this.app.vault.getMarkdownFiles().map((f) => [this.abs(f.path), f]));
    const openPaths = new Set(this.openViews(new Set([...byAbs.values()].map((f) => f.path))).map((v) => v.file?.path));
    const open = paths.map((p) => byAbs.get(p)).filter((f) => f !== void 0 && openPaths.has(f.path));
    const closed = paths.filter((p) => !open.some((f) => this.abs(f.path) === p));
    const outcome = closed.length ? await this.runFill(label, ["--stdin"], signal, closed.join("\n") + "\n") : { results: [], res: { code: 0, stdout: Buffer.alloc(0), stderr: "" } };
    for (const file of open) {
      if (signal.aborted || outcome.res.stopped) break;
      const one = await this.fillOpen(file, label, signal);
      outcome.results.push(...one.results);
      outcome.res = { ...one.res, code: Math.max(outcome.res.code ?? 0, one.res.code ?? 0), stderr: outcome.res.stderr + one.res.stderr };
    }
    this.report(outcome);
  }
  /** Model names from `vitnotes models`, asked once per session (it imports timm, which takes seconds). */
  async loadModelNames(signal) {
    if (this.modelNames) return this.modelNames;
    this.showProgress("loading timm model names");
    const res = await this.runCli(["models"], { signal });
    const problem = runProblem(res, findProgram(this.settings.executable), this.settings.timeoutSeconds);
    if (problem || res.code !== 0) {
      notify(this.app, problem ?? `vitnotes: could not list models; type a timm name instead.
${stderrTail(res.stderr, 4)}`, 1e4);
      return [];
    }
    this.modelNames = res.stdout.toString("utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => /^[\w.-]+$/.test(l));
    return this.modelNames;
  }
  /**
   * The model picker, one at a time. `thenFill`: the note asked to be filled has no model yet, so
   * nothing is written until the user picks one; then it gets the frontmatter and is filled.
   */
  openPicker(file, thenFill) {
    if (this.pickerOpen) {
      notify(this.app, "vitnotes: the model picker is already open");
      return;
    }
    this.pickerOpen = true;
    const prompt = thenFill ? `${file.basename} has no vitnotes model yet: pick the paper's timm model (Esc leaves the note as it is)` : "Timm model name, e.g. vit_base_patch16_224";
    this.queue.add({
      key: "models",
      label: "loading timm model names",
      run: async (signal) => {
        const names = await this.loadModelNames(signal);
        if (signal.aborted) {
          this.pickerOpen = false;
          return;
        }
        const modal = new ModelSuggestModal(this.app, names, prompt, async (name) => {
          if (await this.setModel(file, name) && thenFill) void this.queueFill(file);
        });
        modal.onClosed = () => this.pickerOpen = false;
        modal.open();
      }
    });
  }
  /** Adds `vitnotes: {model: NAME}` (or changes the model of an existing mapping, keeping its other keys). */
  async setModel(file, name) {
    try {
      await this.app.fileManager.processFrontMatter(file, (fm) => {
        const cur = fm.vitnotes;
        if (cur && typeof cur === "object" && !Array.isArray(cur)) cur.model = name;
        else fm.vitnotes = { model: name };
      });
      new import_obsidian5.Notice(`vitnotes: ${file.basename} now uses ${name}`);
      return true;
    } catch (e) {
      notify(this.app, `vitnotes: could not update the frontmatter of ${file.path}: ${e.message}`, 15e3);
      return false;
    }
  }
  /** The settings' Check button: which program was found, and the version it reports. */
  async checkProgram() {
    const program = findProgram(this.settings.executable);
    const res = await this.runCli(["--version"], { timeoutMs: 3e4 });
    const problem = runProblem(res, program, 30);
    if (problem) notify(this.app, problem, 15e3);
    else if (res.code === 0) {
      notify(this.app, `vitnotes: found ${res.stdout.toString("utf8").trim()} \u2014 ${describe(program)} (from ${program.foundIn})`, 1e4);
    } else notify(this.app, `vitnotes: "${describe(program)} --version" failed:
${stderrTail(res.stderr)}`, 15e3);
  }
  async refreshWatchStatus() {
    const base = this.vaultPath();
    if (!this.watchEl || !base || !this.settings.showStatusBar) return;
    const { text, tooltip } = statusText(await readWatchState(base));
    this.watchEl.setText(text);
    this.watchEl.setAttr("aria-label", tooltip);
    this.watchEl.setAttr("data-tooltip-position", "top");
  }
};
