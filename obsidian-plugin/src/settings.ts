/** The settings tab: which program to run (with a Check button), the timeout, the status bar. */
import { App, PluginSettingTab, Setting, type SettingDefinitionItem } from "obsidian";
import type VitnotesPlugin from "./main";

export interface VitnotesSettings {
	/** Program to run: a name looked up on PATH and in the usual install folders, or a path. */
	executable: string;
	/** A run that has not finished a note after this many seconds is stopped. */
	timeoutSeconds: number;
	/** The status bar items: whether `vitnotes watch` runs, and the running job. */
	showStatusBar: boolean;
}

export const DEFAULT_SETTINGS: VitnotesSettings = { executable: "vitnotes", timeoutSeconds: 600, showStatusBar: true };

const TEXT = {
	program: {
		name: "Program",
		desc:
			"The vitnotes command-line program: a name (searched on PATH, then in pip, pipx, conda, pyenv and " +
			"Homebrew folders), a full path such as the output of `which vitnotes`, or a command such as " +
			"`python3 -m vitnotes`. Quote a path that has spaces; ~ is your home folder.",
	},
	timeout: {
		name: "Timeout (seconds)",
		desc: "Stop a fill that has not finished a note after this long. A first fill of a large model can take two minutes.",
	},
	statusBar: {
		name: "Show in the status bar",
		desc: "Whether a watch daemon runs for this vault, and the fill in progress (click it to cancel).",
	},
};

export function cleanSetting(key: keyof VitnotesSettings, value: unknown): VitnotesSettings[typeof key] {
	if (key === "executable") return typeof value === "string" && value.trim() ? value.trim() : DEFAULT_SETTINGS.executable;
	if (key === "timeoutSeconds") {
		const n = typeof value === "number" ? value : Number(value);
		return Number.isFinite(n) && n >= 5 ? Math.round(n) : DEFAULT_SETTINGS.timeoutSeconds;
	}
	return value !== false;
}

export class VitnotesSettingTab extends PluginSettingTab {
	constructor(
		app: App,
		private readonly plugin: VitnotesPlugin,
	) {
		super(app, plugin);
	}

	private async set(key: keyof VitnotesSettings, value: unknown): Promise<void> {
		(this.plugin.settings as unknown as Record<string, unknown>)[key] = cleanSetting(key, value);
		await this.plugin.saveSettings();
		if (key === "showStatusBar") this.plugin.applyStatusBarSetting();
	}

	/** Obsidian 1.13+: declarative settings, found by the settings search. */
	getSettingDefinitions(): SettingDefinitionItem[] {
		return [
			{ ...TEXT.program, control: { type: "text", key: "executable", placeholder: DEFAULT_SETTINGS.executable } },
			{ name: "Check the program", desc: "Run it once and say what was found.", action: () => void this.plugin.checkProgram() },
			{ ...TEXT.timeout, control: { type: "number", key: "timeoutSeconds", min: 5 } },
			{ ...TEXT.statusBar, control: { type: "toggle", key: "showStatusBar" } },
		];
	}

	getControlValue(key: string): unknown {
		return (this.plugin.settings as unknown as Record<string, unknown>)[key];
	}

	async setControlValue(key: string, value: unknown): Promise<void> {
		await this.set(key as keyof VitnotesSettings, value);
	}

	/** Obsidian before 1.13. */
	display(): void {
		const { containerEl } = this;
		containerEl.empty();
		const s = this.plugin.settings;
		new Setting(containerEl)
			.setName(TEXT.program.name)
			.setDesc(TEXT.program.desc)
			.addText((text) =>
				text
					.setPlaceholder(DEFAULT_SETTINGS.executable)
					.setValue(s.executable)
					.onChange((value) => this.set("executable", value)),
			)
			.addButton((button) => button.setButtonText("Check").onClick(() => this.plugin.checkProgram()));
		new Setting(containerEl)
			.setName(TEXT.timeout.name)
			.setDesc(TEXT.timeout.desc)
			.addText((text) => text.setValue(String(s.timeoutSeconds)).onChange((value) => this.set("timeoutSeconds", value)));
		new Setting(containerEl)
			.setName(TEXT.statusBar.name)
			.setDesc(TEXT.statusBar.desc)
			.addToggle((toggle) => toggle.setValue(s.showStatusBar).onChange((value) => this.set("showStatusBar", value)));
	}
}
