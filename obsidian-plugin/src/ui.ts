/**
 * What the plugin shows: Notices capped to a few lines (the rest one click away in a modal), and
 * the live progress of the running job with a Cancel action (a Notice and, if enabled, the status bar).
 */
import { App, Modal, Notice } from "obsidian";

const MAX_LINES = 4;
const MAX_CHARS = 400;

export class DetailsModal extends Modal {
	constructor(
		app: App,
		private readonly title: string,
		private readonly body: string,
	) {
		super(app);
	}

	onOpen(): void {
		this.titleEl.setText(this.title);
		this.contentEl.createEl("pre", { text: this.body, cls: "vitnotes-details" });
	}

	onClose(): void {
		this.contentEl.empty();
	}
}

/** The first lines of a message, within the caps; `more` is true when something was left out. */
export function cap(text: string): { head: string; more: boolean } {
	const lines = text.split("\n");
	let head = lines.slice(0, MAX_LINES).join("\n");
	if (head.length > MAX_CHARS) head = head.slice(0, MAX_CHARS - 1) + "…";
	return { head, more: head !== text };
}

/** A Notice of at most a few lines; anything longer gets a "details" link to the whole text. */
export function notify(app: App, text: string, durationMs = 8000): Notice {
	const { head, more } = cap(text);
	if (!more) return new Notice(head, durationMs);
	const fragment = createFragment((f) => {
		f.createDiv({ text: head });
		const link = f.createEl("a", { text: "Show details", href: "#" });
		link.addEventListener("click", (evt) => {
			evt.preventDefault();
			new DetailsModal(app, "vitnotes", text).open();
		});
	});
	return new Notice(fragment, durationMs);
}

/** The running job's progress: one Notice that stays until the job ends, and the status bar item. */
export class ProgressDisplay {
	private notice: Notice | null = null;

	constructor(
		private readonly statusEl: () => HTMLElement | null,
		private readonly onCancel: () => void,
	) {}

	show(text: string): void {
		const fragment = createFragment((f) => {
			f.createDiv({ text });
			const button = f.createEl("button", { text: "Cancel" });
			button.addEventListener("click", () => this.onCancel());
		});
		if (this.notice) this.notice.setMessage(fragment);
		else this.notice = new Notice(fragment, 0);
		const el = this.statusEl();
		if (el) {
			el.setText(text);
			el.setAttr("aria-label", "Click to cancel");
			el.toggle(true);
		}
	}

	hide(): void {
		this.notice?.hide();
		this.notice = null;
		this.statusEl()?.toggle(false);
	}
}
