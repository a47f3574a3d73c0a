/** A picker of timm model names (from `vitnotes models`) that also accepts any name typed in. */
import { App, SuggestModal } from "obsidian";

/**
 * Names containing every space-separated word of the query, shortest (the base variant) and
 * prefix matches first; the typed text itself comes first when it is not a listed name, so a
 * model the list lacks (a newer timm, a custom registration) can still be chosen.
 */
export function rankModels(names: string[], query: string, limit = 100): string[] {
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

export class ModelSuggestModal extends SuggestModal<string> {
	/** Called when the picker closes, chosen or not. */
	onClosed: () => void = () => undefined;

	constructor(
		app: App,
		private readonly names: string[],
		prompt: string,
		private readonly onChoose: (name: string) => void | Promise<void>,
	) {
		super(app);
		this.setPlaceholder(prompt);
		this.emptyStateText = "Type a timm model name";
	}

	onClose(): void {
		super.onClose();
		this.onClosed();
	}

	getSuggestions(query: string): string[] {
		return rankModels(this.names, query, this.limit || 100);
	}

	renderSuggestion(name: string, el: HTMLElement): void {
		el.setText(this.names.includes(name) ? name : `${name} (not in the list vitnotes reported)`);
	}

	onChooseSuggestion(name: string): void {
		void this.onChoose(name);
	}
}
