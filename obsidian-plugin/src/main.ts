/**
 * vitnotes for Obsidian: a thin front for the `vitnotes` command-line tool.
 *
 * The plugin never writes a note's text itself: `vitnotes fill` (atomic, idempotent) is the only
 * writer, and Obsidian notices the rewritten file on its own. The one exception is "Insert vitnotes
 * frontmatter", an explicit user action that goes through Obsidian's own frontmatter writer.
 */
import { FileSystemAdapter, MarkdownView, Notice, Plugin, TFile } from "obsidian";
import { promises as fs } from "fs";
import * as path from "path";
import { fillMessage, notFoundMessage, resultLines, runCli, stderrTail } from "./cli";
import { ModelSuggestModal } from "./modelModal";
import { optedInNotes } from "./notes";
import { DEFAULT_SETTINGS, VitnotesSettings, VitnotesSettingTab } from "./settings";
import { readWatchState, statusText } from "./watchStatus";

const WATCH_POLL_MS = 10_000;

export default class VitnotesPlugin extends Plugin {
	settings: VitnotesSettings = { ...DEFAULT_SETTINGS };
	/** Vault-relative paths with a fill in flight: a second click on the same note waits for the first. */
	private filling = new Set<string>();
	private modelNames: string[] | null = null;
	private statusEl: HTMLElement | null = null;

	async onload(): Promise<void> {
		await this.loadSettings();
		this.addSettingTab(new VitnotesSettingTab(this.app, this));

		this.addRibbonIcon("microscope", "vitnotes: Fill current note", () => {
			const file = this.activeNote();
			if (file) void this.fillNotes([file]);
			else new Notice("vitnotes: open a Markdown note first");
		});
		this.addCommand({
			id: "fill-current-note",
			name: "Fill current note",
			checkCallback: (checking) => {
				const file = this.activeNote();
				if (!file) return false;
				if (!checking) void this.fillNotes([file]);
				return true;
			},
		});
		this.addCommand({
			id: "fill-all-opted-in-notes",
			name: "Fill all opted-in notes",
			callback: () => void this.fillAllOptedIn(),
		});
		this.addCommand({
			id: "insert-frontmatter",
			name: "Insert vitnotes frontmatter",
			checkCallback: (checking) => {
				const file = this.activeNote();
				if (!file) return false;
				if (!checking) void this.chooseModelFor(file);
				return true;
			},
		});

		this.statusEl = this.addStatusBarItem();
		this.statusEl.addClass("vitnotes-watch-status");
		this.registerDomEvent(this.statusEl, "click", () => {
			const tip = this.statusEl?.getAttribute("aria-label");
			if (tip) new Notice(tip, 10000);
		});
		void this.refreshWatchStatus();
		this.registerInterval(window.setInterval(() => void this.refreshWatchStatus(), WATCH_POLL_MS));
	}

	async loadSettings(): Promise<void> {
		this.settings = { ...DEFAULT_SETTINGS, ...((await this.loadData()) ?? {}) };
	}

	async saveSettings(): Promise<void> {
		await this.saveData(this.settings);
	}

	/** The vault's folder on disk; null for a vault that is not a plain folder (mobile, which we do not support). */
	vaultPath(): string | null {
		const adapter = this.app.vault.adapter;
		return adapter instanceof FileSystemAdapter ? adapter.getBasePath() : null;
	}

	private activeNote(): TFile | null {
		const file = this.app.workspace.getActiveFile();
		return file && file.extension === "md" ? file : null;
	}

	/** Flush what the user typed to disk first, so the CLI reads (and keeps) their latest words. */
	private async saveEditors(paths: Set<string>): Promise<void> {
		const views = this.app.workspace
			.getLeavesOfType("markdown")
			.map((leaf) => leaf.view)
			.filter((v): v is MarkdownView => v instanceof MarkdownView);
		const active = this.app.workspace.getActiveViewOfType(MarkdownView);
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
	async fillNotes(files: TFile[]): Promise<void> {
		const base = this.vaultPath();
		if (!base) {
			new Notice("vitnotes: this vault is not a folder on disk; vitnotes works with desktop vaults only");
			return;
		}
		const busy = files.filter((f) => this.filling.has(f.path));
		if (busy.length > 0) {
			new Notice(`vitnotes: already filling ${busy[0].path}; wait for it to finish`);
			return;
		}
		const paths = files.map((f) => f.path);
		paths.forEach((p) => this.filling.add(p));
		const label = files.length === 1 ? files[0].basename : `${files.length} notes`;
		const progress = new Notice(`vitnotes: filling ${label}…`, 0);
		try {
			await this.saveEditors(new Set(paths));
			const exe = this.settings.executable;
			const abs = paths.map((p) => path.join(base, p));
			const res = await runCli(exe, ["fill", "-q", ...abs], base);
			const msg = fillMessage(res, exe);
			if (!msg.ok) console.warn("vitnotes fill failed", { code: res.code, stdout: res.stdout, stderr: res.stderr });
			progress.hide();
			new Notice(msg.text, msg.ok ? 8000 : 20000);
		} finally {
			progress.hide();
			paths.forEach((p) => this.filling.delete(p));
		}
	}

	private async templatesFolder(base: string): Promise<string | null> {
		try {
			const raw = await fs.readFile(path.join(base, this.app.vault.configDir, "templates.json"), "utf8");
			const folder = JSON.parse(raw)?.folder;
			return typeof folder === "string" ? folder : null;
		} catch {
			return null;
		}
	}

	async fillAllOptedIn(): Promise<void> {
		const base = this.vaultPath();
		const notes = this.app.vault.getMarkdownFiles().map((f) => ({
			path: f.path,
			frontmatter: this.app.metadataCache.getFileCache(f)?.frontmatter ?? null,
		}));
		const wanted = optedInNotes(notes, base ? await this.templatesFolder(base) : null);
		const byPath = new Map(this.app.vault.getMarkdownFiles().map((f) => [f.path, f] as const));
		const files = wanted.map((p) => byPath.get(p)).filter((f): f is TFile => f !== undefined);
		if (files.length === 0) {
			new Notice(
				"vitnotes: no note has `vitnotes:` in its frontmatter yet — open a paper note and run " +
					"\"vitnotes: Insert vitnotes frontmatter\"",
			);
			return;
		}
		await this.fillNotes(files);
	}

	/** Model names from `vitnotes models`, asked once per session (it imports timm, which takes seconds). */
	private async loadModelNames(): Promise<string[]> {
		if (this.modelNames) return this.modelNames;
		const base = this.vaultPath() ?? process.cwd();
		const exe = this.settings.executable;
		const res = await runCli(exe, ["models"], base);
		if (res.spawnError) {
			new Notice(notFoundMessage(exe, res.spawnError), 20000);
			return [];
		}
		if (res.code !== 0) {
			new Notice(`vitnotes: could not list models; type a timm name instead.\n${stderrTail(res.stderr, 4)}`, 10000);
			return [];
		}
		this.modelNames = resultLines(res.stdout).filter((l) => /^[\w.\-]+$/.test(l));
		return this.modelNames;
	}

	async chooseModelFor(file: TFile): Promise<void> {
		const loading = this.modelNames ? null : new Notice("vitnotes: loading timm model names…", 0);
		const names = await this.loadModelNames();
		loading?.hide();
		new ModelSuggestModal(this.app, names, (name) => this.setModel(file, name)).open();
	}

	/** Adds `vitnotes: {model: NAME}` (or changes the model of an existing mapping, keeping its other keys). */
	async setModel(file: TFile, name: string): Promise<void> {
		try {
			await this.app.fileManager.processFrontMatter(file, (fm) => {
				const cur = fm.vitnotes;
				if (cur && typeof cur === "object" && !Array.isArray(cur)) cur.model = name;
				else fm.vitnotes = { model: name };
			});
			new Notice(`vitnotes: ${file.basename} now uses ${name}; run "vitnotes: Fill current note" to fill it`);
		} catch (e) {
			new Notice(`vitnotes: could not update the frontmatter of ${file.path}: ${(e as Error).message}`, 15000);
		}
	}

	async refreshWatchStatus(): Promise<void> {
		const base = this.vaultPath();
		if (!this.statusEl || !base) return;
		const { text, tooltip } = statusText(await readWatchState(base));
		this.statusEl.setText(text);
		this.statusEl.setAttr("aria-label", tooltip);
		this.statusEl.setAttr("data-tooltip-position", "top");
	}
}
