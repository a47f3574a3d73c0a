/**
 * A small stand-in for the `obsidian` module (which exists only inside the Obsidian app), with just
 * what vitnotes' main.js uses. It records what the plugin shows (Notices, status bar, modals) so a
 * Node test can drive the plugin's commands and look at the results.
 */
"use strict";

class FakeEl {
	constructor(tag = "div") {
		this.tag = tag;
		this.text = "";
		this.attrs = {};
		this.classes = [];
		this.children = [];
		this.listeners = {};
	}
	setText(t) { this.text = String(t); }
	setAttr(k, v) { this.attrs[k] = String(v); }
	getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
	setAttribute(k, v) { this.setAttr(k, v); }
	addClass(c) { this.classes.push(c); }
	empty() { this.children = []; this.text = ""; }
	createEl(tag, o = {}) {
		const el = new FakeEl(tag);
		if (typeof o === "string") o = { cls: o };
		if (o.text) el.text = String(o.text);
		if (o.cls) el.classes.push(o.cls);
		if (o.href) el.attrs.href = o.href;
		this.children.push(el);
		return el;
	}
	createDiv(o) { return this.createEl("div", o); }
	createSpan(o) { return this.createEl("span", o); }
	toggle(show) { this.hidden = !show; }
	addEventListener(type, cb) { (this.listeners[type] ??= []).push(cb); }
	click() { for (const cb of this.listeners.click ?? []) cb({ preventDefault() {} }); }
	/** All text below this element, one line per text-bearing element. */
	allText() { return [this.text, ...this.children.map((c) => c.allText?.() ?? "")].filter(Boolean).join("\n"); }
	/** The first descendant with this tag (a Notice's Cancel button, its "details" link). */
	find(tag) {
		for (const c of this.children) {
			if (c.tag === tag) return c;
			const hit = c.find?.(tag);
			if (hit) return hit;
		}
		return null;
	}
}

/** Obsidian's global createFragment: here a FakeEl standing in for a DocumentFragment. */
function createFragment(cb) { const f = new FakeEl("#fragment"); cb?.(f); return f; }
globalThis.createFragment = createFragment;

/** A Notice's text: a string, or a fragment's text (its buttons and links are kept in .fragment). */
class Notice {
	constructor(message, duration) {
		this.setMessage(message);
		this.duration = duration;
		this.hidden = false;
		Notice.log.push(this);
	}
	setMessage(m) {
		this.fragment = typeof m === "string" ? null : m;
		this.message = typeof m === "string" ? m : m.allText();
		return this;
	}
	hide() { this.hidden = true; }
}
Notice.log = [];

/** Obsidian's lifecycle: what a component registers is undone when it unloads, after onunload(). */
class Component {
	constructor() { this._intervals = []; this._domEvents = []; this._cleanups = []; this._loaded = false; }
	registerInterval(id) { this._intervals.push(id); return id; }
	registerDomEvent(el, type, cb) { this._domEvents.push([el, type, cb]); el.addEventListener(type, cb); }
	register(cb) { this._cleanups.push(cb); }
	async load() { this._loaded = true; await this.onload?.(); }
	unload() {
		if (!this._loaded) return;
		this._loaded = false;
		for (const id of this._intervals) globalThis.window.clearInterval(id);
		this.onunload?.();
		for (const cb of this._cleanups.splice(0)) cb();
	}
}

class Plugin extends Component {
	constructor(app, manifest) {
		super();
		this.app = app;
		this.manifest = manifest;
		this.commands = {};
		this.ribbon = [];
		this.statusBar = [];
		this.settingTabs = [];
		this._data = null;
	}
	addCommand(cmd) { this.commands[cmd.id] = cmd; return cmd; }
	addRibbonIcon(icon, title, callback) { const el = new FakeEl(); this.ribbon.push({ icon, title, callback, el }); return el; }
	addStatusBarItem() { const el = new FakeEl(); this.statusBar.push(el); return el; }
	addSettingTab(tab) { this.settingTabs.push(tab); }
	async loadData() { return this._data; }
	async saveData(d) { this._data = d; }
}

class PluginSettingTab {
	constructor(app, plugin) { this.app = app; this.plugin = plugin; this.containerEl = new FakeEl(); }
}

class Setting {
	constructor(containerEl) { this.containerEl = containerEl; this.controls = []; containerEl.children.push(this); }
	setName(n) { this.name = n; return this; }
	setDesc(d) { this.desc = d; return this; }
	addText(cb) {
		const c = { value: "", placeholder: "", onChangeCb: null,
			setPlaceholder(p) { this.placeholder = p; return this; },
			setValue(v) { this.value = v; return this; },
			onChange(f) { this.onChangeCb = f; return this; } };
		cb(c); this.controls.push(c); return this;
	}
	addButton(cb) {
		const c = { text: "", onClickCb: null,
			setButtonText(t) { this.text = t; return this; },
			onClick(f) { this.onClickCb = f; return this; } };
		cb(c); this.controls.push(c); return this;
	}
	addToggle(cb) {
		const c = { value: false, onChangeCb: null,
			setValue(v) { this.value = v; return this; },
			onChange(f) { this.onChangeCb = f; return this; } };
		cb(c); this.controls.push(c); return this;
	}
}

class TAbstractFile {}
class TFile extends TAbstractFile {
	constructor(path) {
		super();
		this.path = path;
		this.name = path.split("/").pop();
		const dot = this.name.lastIndexOf(".");
		this.basename = dot > 0 ? this.name.slice(0, dot) : this.name;
		this.extension = dot > 0 ? this.name.slice(dot + 1) : "";
	}
}

class View { constructor(leaf) { this.leaf = leaf; } }
/**
 * An editor on a note. `pending` is what the user typed and Obsidian has not saved yet; save()
 * writes it. When the file changes on disk, a clean editor shows the new text; an editor holding
 * unsaved typing keeps it and counts a conflict (in Obsidian: the "modified externally" merge).
 */
class MarkdownView extends View {
	constructor(file, onSave) { super(null); this.file = file; this._onSave = onSave; this.saves = 0; this.conflicts = 0; }
	async save() { this.saves++; if (this._onSave) await this._onSave(this); }
	/** The user types: the editor holds `text`, unsaved. */
	type(text) { this.pending = text; }
	fileChanged() { if (this.pending !== undefined) this.conflicts++; }
}

class DataAdapter {}
class FileSystemAdapter extends DataAdapter {
	constructor(basePath) { super(); this.basePath = basePath; }
	getBasePath() { return this.basePath; }
}

class Modal {
	constructor(app) { this.app = app; this.isOpen = false; this.titleEl = new FakeEl(); this.contentEl = new FakeEl(); }
	open() { this.isOpen = true; Modal.opened.push(this); this.onOpen?.(); }
	close() { this.isOpen = false; this.onClose?.(); }
	onOpen() {}
	onClose() {}
}
Modal.opened = [];

class SuggestModal extends Modal {
	constructor(app) { super(app); this.limit = 50; this.emptyStateText = ""; this.placeholder = ""; }
	setPlaceholder(p) { this.placeholder = p; }
	setInstructions(i) { this.instructions = i; }
	onClose() {}
	/** What Obsidian does when the user picks a suggestion: close, then report the choice. */
	selectSuggestion(value, evt) { this.close(); this.onChooseSuggestion(value, evt); }
}
class FuzzySuggestModal extends SuggestModal {}

/** Obsidian's frontmatter finder: a `---` block at the very start, closed by `---`. */
function getFrontMatterInfo(content) {
	const m = /^---\r?\n([\s\S]*?)\r?\n---(\r?\n|$)/.exec(content);
	if (!m) return { exists: false, frontmatter: "", from: 0, to: 0, contentStart: 0 };
	return { exists: true, frontmatter: m[1], from: 4, to: 4 + m[1].length, contentStart: m[0].length };
}

/** Enough YAML for the tests: top-level `key: value` lines; a line that is neither throws, like bad YAML. */
function parseYaml(text) {
	const out = {};
	for (const line of text.split(/\r?\n/)) {
		if (!line.trim() || /^\s/.test(line) || line.startsWith("#")) continue;
		const kv = /^["']?([A-Za-z_][\w-]*)["']?:\s*(.*)$/.exec(line);
		if (!kv) throw new Error(`YAML: cannot parse ${JSON.stringify(line)}`);
		out[kv[1]] = kv[2];
	}
	return out;
}

module.exports = {
	getFrontMatterInfo, parseYaml, createFragment,
	Component, Plugin, Notice, PluginSettingTab, Setting, TAbstractFile, TFile, View, MarkdownView,
	DataAdapter, FileSystemAdapter, Modal, SuggestModal, FuzzySuggestModal, FakeEl,
};
