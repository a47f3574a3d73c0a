/** The settings tab: where the `vitnotes` program is, with a button that checks it starts. */
import { App, Notice, PluginSettingTab, Setting } from "obsidian";
import { notFoundMessage, runCli, stderrTail } from "./cli";
import type VitnotesPlugin from "./main";

export interface VitnotesSettings {
	/** Program to run: a name looked up on PATH, or a full path. */
	executable: string;
}

export const DEFAULT_SETTINGS: VitnotesSettings = { executable: "vitnotes" };

export class VitnotesSettingTab extends PluginSettingTab {
	constructor(
		app: App,
		private readonly plugin: VitnotesPlugin,
	) {
		super(app, plugin);
	}

	display(): void {
		const { containerEl } = this;
		containerEl.empty();
		new Setting(containerEl)
			.setName("vitnotes executable")
			.setDesc(
				"The vitnotes command-line program: a name found on PATH (default: vitnotes) or its full path, " +
					"e.g. the output of `which vitnotes` (`where vitnotes` on Windows).",
			)
			.addText((text) =>
				text
					.setPlaceholder(DEFAULT_SETTINGS.executable)
					.setValue(this.plugin.settings.executable)
					.onChange(async (value) => {
						this.plugin.settings.executable = value.trim() || DEFAULT_SETTINGS.executable;
						await this.plugin.saveSettings();
					}),
			)
			.addButton((button) =>
				button.setButtonText("Check").onClick(async () => {
					const exe = this.plugin.settings.executable;
					const res = await runCli(exe, ["--version"], this.plugin.vaultPath() ?? process.cwd());
					if (res.spawnError) new Notice(notFoundMessage(exe, res.spawnError), 15000);
					else if (res.code === 0) new Notice(`Found ${res.stdout.trim() || exe}`);
					else new Notice(`"${exe} --version" failed:\n${stderrTail(res.stderr)}`, 15000);
				}),
			);
	}
}
