/**
 * vitnotes for Obsidian: a front for the `vitnotes` command-line tool.
 *
 * Every fill is the CLI's work; the plugin decides only where its result goes. A note open in an
 * editor gets the merged text back (`fill --print --expect-sha`) and applies it with
 * `app.vault.process`, only if the note is still exactly what was read — so typing that was not
 * saved yet is never merged away. A closed note keeps the CLI's own atomic write. A note that has
 * not opted in is never filled with a default: the model picker opens instead.
 */
import { FileSystemAdapter, MarkdownView, Notice, Plugin, TFile } from "obsidian";
import { createHash } from "crypto";
import * as path from "path";
import { parseEvent, resultsMessage, runProblem, stderrTail, type FillEvent } from "./cli";
import { ModelSuggestModal } from "./modelModal";
import { optsIn } from "./notes";
import { runProgram, stopAll, type RunOptions, type RunResult } from "./process";
import { describe, findProgram } from "./program";
import { JobQueue } from "./queue";
import { DEFAULT_SETTINGS, VitnotesSettings, VitnotesSettingTab, cleanSetting } from "./settings";
import { notify, ProgressDisplay } from "./ui";
import { readWatchState, statusText } from "./watchStatus";

const WATCH_POLL_MS = 10_000;
/** How often an open note is read, filled and applied again when the user keeps typing meanwhile. */
const APPLY_TRIES = 3;

interface Outcome {
	results: FillEvent[];
	res: RunResult;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

export default class VitnotesPlugin extends Plugin {
	settings: VitnotesSettings = { ...DEFAULT_SETTINGS };
	private modelNames: string[] | null = null;
	private pickerOpen = false;
	private watchEl: HTMLElement | null = null;
	private jobEl: HTMLElement | null = null;
	private readonly progress = new ProgressDisplay(
		() => (this.settings.showStatusBar ? this.jobEl : null),
		() => this.queue.cancelAll(),
	);
	readonly queue = new JobQueue(() => this.onQueueChange());

	async onload(): Promise<void> {
		await this.loadSettings();
		this.addSettingTab(new VitnotesSettingTab(this.app, this));
		this.addRibbonIcon("microscope", "Fill current note", () => {
			const file = this.activeNote();
			if (file) void this.fillCurrent(file);
			else new Notice("Open a Markdown note first");
		});
		this.addNoteCommand("fill-current-note", "Fill current note", (file) => void this.fillCurrent(file));
		this.addCommand({ id: "fill-all-opted-in-notes", name: "Fill all opted-in notes", callback: () => void this.fillAll() });
		this.addNoteCommand("insert-frontmatter", "Choose the model for this note", (file) => this.openPicker(file, false));
		this.addCommand({ id: "cancel", name: "Cancel the running fill", callback: () => this.queue.cancelAll() });
		this.setUpStatusBar();
		// Unload (plugin disabled, Obsidian closed): no child process outlives the plugin.
		this.register(() => {
			this.queue.close();
			stopAll();
		});
	}

	onunload(): void {
		this.progress.hide();
	}

	private addNoteCommand(id: string, name: string, run: (file: TFile) => void): void {
		this.addCommand({
			id,
			name,
			checkCallback: (checking) => {
				const file = this.activeNote();
				if (!file) return false;
				if (!checking) run(file);
				return true;
			},
		});
	}

	private setUpStatusBar(): void {
		this.watchEl = this.addStatusBarItem();
		this.watchEl.addClass("vitnotes-watch-status");
		this.registerDomEvent(this.watchEl, "click", () => {
			const tip = this.watchEl?.getAttribute("aria-label");
			if (tip) notify(this.app, tip, 10000);
		});
		this.jobEl = this.addStatusBarItem();
		this.jobEl.addClass("vitnotes-job-status");
		this.jobEl.toggle(false);
		this.registerDomEvent(this.jobEl, "click", () => this.queue.cancelAll());
		this.applyStatusBarSetting();
		this.registerInterval(window.setInterval(() => void this.refreshWatchStatus(), WATCH_POLL_MS));
	}

	applyStatusBarSetting(): void {
		this.watchEl?.toggle(this.settings.showStatusBar);
		if (!this.settings.showStatusBar) this.jobEl?.toggle(false);
		if (this.settings.showStatusBar) void this.refreshWatchStatus();
	}

	async loadSettings(): Promise<void> {
		const saved = ((await this.loadData()) ?? {}) as Record<string, unknown>;
		const keys = Object.keys(DEFAULT_SETTINGS) as (keyof VitnotesSettings)[];
		const s = { ...DEFAULT_SETTINGS } as unknown as Record<string, unknown>;
		for (const k of keys) if (k in saved) s[k] = cleanSetting(k, saved[k]);
		this.settings = s as unknown as VitnotesSettings;
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

	private onQueueChange(): void {
		const job = this.queue.running;
		if (!job) this.progress.hide();
	}

	private showProgress(label: string, detail = ""): void {
		const waiting = this.queue.waiting ? ` (${this.queue.waiting} more queued)` : "";
		this.progress.show(`vitnotes: ${label}${detail ? " — " + detail : ""}${waiting}`);
	}

	/** One run of the CLI, with the timeout from the settings; resolves when the child has exited. */
	async runCli(args: string[], opts: Partial<RunOptions> = {}): Promise<RunResult> {
		const program = findProgram(this.settings.executable);
		return runProgram(program, args, {
			cwd: this.vaultPath() ?? process.cwd(),
			timeoutMs: this.settings.timeoutSeconds * 1000,
			...opts,
		});
	}

	/** `fill --progress json …`: the result events, with each progress event shown as it comes. */
	private async runFill(label: string, args: string[], signal: AbortSignal, input?: string): Promise<Outcome> {
		const results: FillEvent[] = [];
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
			},
		});
		return { results, res };
	}

	/** The outcome as a Notice: the CLI's lines, or why there were none. */
	private report(outcome: Outcome): void {
		const problem = runProblem(outcome.res, findProgram(this.settings.executable), this.settings.timeoutSeconds);
		if (problem) {
			notify(this.app, problem, 20000);
			return;
		}
		const msg = resultsMessage(outcome.results, outcome.res);
		if (!msg.ok) console.warn("vitnotes fill failed", { code: outcome.res.code, stderr: outcome.res.stderr });
		notify(this.app, msg.text, msg.ok ? 8000 : 20000);
	}

	/** Markdown editors showing these notes. */
	private openViews(paths: Set<string>): MarkdownView[] {
		const views = this.app.workspace
			.getLeavesOfType("markdown")
			.map((leaf) => leaf.view)
			.filter((v): v is MarkdownView => v instanceof MarkdownView && v.file !== null && paths.has(v.file.path));
		return [...new Set(views)];
	}

	/** Flush what the user typed to disk, so the CLI reads (and keeps) their latest words. */
	private async saveEditors(paths: Set<string>): Promise<void> {
		for (const view of this.openViews(paths)) {
			try {
				await view.save();
			} catch (e) {
				console.warn("vitnotes: could not save", view.file?.path, e);
			}
		}
	}

	/** "Fill current note": an opted-in note is queued for a fill; any other note gets the model picker. */
	async fillCurrent(file: TFile): Promise<void> {
		if (!this.vaultPath()) {
			new Notice("This vault is not a folder on disk; vitnotes works with desktop vaults only");
			return;
		}
		await this.saveEditors(new Set([file.path]));
		let text: string;
		try {
			text = await this.app.vault.read(file);
		} catch (e) {
			notify(this.app, `vitnotes: cannot read ${file.path}: ${(e as Error).message}`, 15000);
			return;
		}
		if (!optsIn(text)) {
			this.openPicker(file, true);
			return;
		}
		await this.queueFill(file);
	}

	/** Queue one note's fill; asking again while it is queued or running joins that fill. */
	queueFill(file: TFile): Promise<void> {
		const label = `filling ${file.basename}`;
		const { done, joined } = this.queue.add({ key: `fill:${file.path}`, label, run: (signal) => this.fillOne(file, label, signal) });
		if (joined) new Notice(`vitnotes: ${file.basename} is already being filled; it will not be filled twice`);
		return done;
	}

	private async fillOne(file: TFile, label: string, signal: AbortSignal): Promise<void> {
		this.showProgress(label);
		const open = this.openViews(new Set([file.path])).length > 0;
		const outcome = open ? await this.fillOpen(file, label, signal) : await this.runFill(label, [this.abs(file.path)], signal);
		this.report(outcome);
	}

	private abs(rel: string): string {
		return path.join(this.vaultPath() ?? "", rel);
	}

	/**
	 * An open note: save the editor, read the bytes, let the CLI merge them (`--print --expect-sha`),
	 * and apply its text only if the note still is what was read; else read and merge again.
	 */
	private async fillOpen(file: TFile, label: string, signal: AbortSignal): Promise<Outcome> {
		let outcome: Outcome | null = null;
		for (let attempt = 0; attempt < APPLY_TRIES && !signal.aborted; attempt++) {
			await this.saveEditors(new Set([file.path]));
			const raw = Buffer.from(await this.app.vault.adapter.readBinary(file.path));
			outcome = await this.runFill(label, ["--print", "--expect-sha", sha256(raw), this.abs(file.path)], signal);
			const result = outcome.results[0];
			if (result?.stale) continue; // saved between our read and the CLI's: read again
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
	private async applyIfUnchanged(file: TFile, raw: Buffer, merged: Buffer): Promise<boolean> {
		await this.saveEditors(new Set([file.path]));
		const base = raw.toString("utf8");
		let applied = false;
		await this.app.vault.process(file, (data) => {
			if (data !== base && "\ufeff" + data !== base) return data; // the user's newer text wins
			applied = true;
			const text = merged.toString("utf8");
			return data.startsWith("\ufeff") ? text : text.replace(/^\ufeff/, "");
		});
		return applied;
	}

	/** "Fill all opted-in notes": the CLI finds them (the daemon's rules); paths go through stdin. */
	async fillAll(): Promise<void> {
		const base = this.vaultPath();
		if (!base) {
			new Notice("This vault is not a folder on disk; vitnotes works with desktop vaults only");
			return;
		}
		const label = "filling all opted-in notes";
		const { joined, done } = this.queue.add({ key: "fill-all", label, run: (signal) => this.fillAllJob(base, label, signal) });
		if (joined) notify(this.app, "vitnotes: a fill of all notes is already queued");
		await done;
	}

	private async fillAllJob(base: string, label: string, signal: AbortSignal): Promise<void> {
		this.showProgress(label, "finding opted-in notes");
		const listed = await this.runCli(["fill", "--vault", base, "--list"], { signal });
		const problem = runProblem(listed, findProgram(this.settings.executable), this.settings.timeoutSeconds);
		if (problem || listed.code !== 0) {
			notify(this.app, problem ?? `vitnotes: could not list the vault's notes\n${stderrTail(listed.stderr)}`, 20000);
			return;
		}
		const paths = listed.stdout.toString("utf8").split(/\r?\n/).filter((p) => p.length > 0);
		if (paths.length === 0) {
			notify(this.app, 'vitnotes: no note has `vitnotes:` in its frontmatter yet — open a paper note and run "Fill current note"');
			return;
		}
		const byAbs = new Map(this.app.vault.getMarkdownFiles().map((f) => [this.abs(f.path), f] as const));
		const openPaths = new Set(this.openViews(new Set([...byAbs.values()].map((f) => f.path))).map((v) => v.file?.path));
		const open = paths.map((p) => byAbs.get(p)).filter((f): f is TFile => f !== undefined && openPaths.has(f.path));
		const closed = paths.filter((p) => !open.some((f) => this.abs(f.path) === p));
		const outcome = closed.length
			? await this.runFill(label, ["--stdin"], signal, closed.join("\n") + "\n")
			: { results: [], res: { code: 0, stdout: Buffer.alloc(0), stderr: "" } };
		for (const file of open) {
			if (signal.aborted || outcome.res.stopped) break;
			const one = await this.fillOpen(file, label, signal);
			outcome.results.push(...one.results);
			outcome.res = { ...one.res, code: Math.max(outcome.res.code ?? 0, one.res.code ?? 0), stderr: outcome.res.stderr + one.res.stderr };
		}
		this.report(outcome);
	}

	/** Model names from `vitnotes models`, asked once per session (it imports timm, which takes seconds). */
	private async loadModelNames(signal: AbortSignal): Promise<string[]> {
		if (this.modelNames) return this.modelNames;
		this.showProgress("loading timm model names");
		const res = await this.runCli(["models"], { signal });
		const problem = runProblem(res, findProgram(this.settings.executable), this.settings.timeoutSeconds);
		if (problem || res.code !== 0) {
			notify(this.app, problem ?? `vitnotes: could not list models; type a timm name instead.\n${stderrTail(res.stderr, 4)}`, 10000);
			return [];
		}
		this.modelNames = res.stdout.toString("utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => /^[\w.-]+$/.test(l));
		return this.modelNames;
	}

	/**
	 * The model picker, one at a time. `thenFill`: the note asked to be filled has no model yet, so
	 * nothing is written until the user picks one; then it gets the frontmatter and is filled.
	 */
	openPicker(file: TFile, thenFill: boolean): void {
		if (this.pickerOpen) {
			notify(this.app, "vitnotes: the model picker is already open");
			return;
		}
		this.pickerOpen = true;
		const prompt = thenFill
			? `${file.basename} has no vitnotes model yet: pick the paper's timm model (Esc leaves the note as it is)`
			: "Timm model name, e.g. vit_base_patch16_224";
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
					if ((await this.setModel(file, name)) && thenFill) void this.queueFill(file);
				});
				modal.onClosed = () => (this.pickerOpen = false);
				modal.open();
			},
		});
	}

	/** Adds `vitnotes: {model: NAME}` (or changes the model of an existing mapping, keeping its other keys). */
	async setModel(file: TFile, name: string): Promise<boolean> {
		try {
			await this.app.fileManager.processFrontMatter(file, (fm: Record<string, unknown>) => {
				const cur = fm.vitnotes;
				if (cur && typeof cur === "object" && !Array.isArray(cur)) (cur as Record<string, unknown>).model = name;
				else fm.vitnotes = { model: name };
			});
			new Notice(`vitnotes: ${file.basename} now uses ${name}`);
			return true;
		} catch (e) {
			notify(this.app, `vitnotes: could not update the frontmatter of ${file.path}: ${(e as Error).message}`, 15000);
			return false;
		}
	}

	/** The settings' Check button: which program was found, and the version it reports. */
	async checkProgram(): Promise<void> {
		const program = findProgram(this.settings.executable);
		const res = await this.runCli(["--version"], { timeoutMs: 30_000 });
		const problem = runProblem(res, program, 30);
		if (problem) notify(this.app, problem, 15000);
		else if (res.code === 0) {
			notify(this.app, `vitnotes: found ${res.stdout.toString("utf8").trim()} — ${describe(program)} (from ${program.foundIn})`, 10000);
		} else notify(this.app, `vitnotes: "${describe(program)} --version" failed:\n${stderrTail(res.stderr)}`, 15000);
	}

	async refreshWatchStatus(): Promise<void> {
		const base = this.vaultPath();
		if (!this.watchEl || !base || !this.settings.showStatusBar) return;
		const { text, tooltip } = statusText(await readWatchState(base));
		this.watchEl.setText(text);
		this.watchEl.setAttr("aria-label", tooltip);
		this.watchEl.setAttr("data-tooltip-position", "top");
	}
}
