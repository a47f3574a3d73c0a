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
	createEl(tag, o = {}) { const el = new FakeEl(tag); if (o.text) el.text = o.text; this.children.push(el); return el; }
	createDiv(o) { return this.createEl("div", o); }
	addEventListener(type, cb) { (this.listeners[type] ??= []).push(cb); }
	click() { for (const cb of this.listeners.click ?? []) cb({}); }
}

class Notice {
	constructor(message, duration) {
		this.message = String(message);
		this.duration = duration;
		this.hidden = false;
		Notice.log.push(this);
	}
	setMessage(m) { this.message = String(m); return this; }
	hide() { this.hidden = true; }
}
Notice.log = [];

class Component {
	constructor() { this._intervals = []; this._domEvents = []; }
	registerInterval(id) { this._intervals.push(id); return id; }
	registerDomEvent(el, type, cb) { this._domEvents.push([el, type, cb]); el.addEventListener(type, cb); }
	register() {}
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
	/** What Obsidian does when the plugin is disabled: stop its intervals. */
	unload() { for (const id of this._intervals) globalThis.window.clearInterval(id); this.onunload?.(); }
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
class MarkdownView extends View {
	constructor(file, onSave) { super(null); this.file = file; this._onSave = onSave; this.saves = 0; }
	async save() { this.saves++; if (this._onSave) await this._onSave(this); }
}

class DataAdapter {}
class FileSystemAdapter extends DataAdapter {
	constructor(basePath) { super(); this.basePath = basePath; }
	getBasePath() { return this.basePath; }
}

class Modal {
	constructor(app) { this.app = app; this.isOpen = false; }
	open() { this.isOpen = true; Modal.opened.push(this); this.onOpen?.(); }
	close() { this.isOpen = false; this.onClose?.(); }
}
Modal.opened = [];

class SuggestModal extends Modal {
	constructor(app) { super(app); this.limit = 50; this.emptyStateText = ""; this.placeholder = ""; }
	setPlaceholder(p) { this.placeholder = p; }
	setInstructions(i) { this.instructions = i; }
}
class FuzzySuggestModal extends SuggestModal {}

module.exports = {
	Component, Plugin, Notice, PluginSettingTab, Setting, TAbstractFile, TFile, View, MarkdownView,
	DataAdapter, FileSystemAdapter, Modal, SuggestModal, FuzzySuggestModal, FakeEl,
};
