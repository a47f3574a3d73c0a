/** Which notes "Fill all opted-in notes" passes to the CLI (DESIGN §3 opt-in, §4 skip list). */

/** Sync tools' conflict copies (DESIGN §4): never filled, the user has to resolve them first. */
const CONFLICT_MARKERS = ["(conflicted copy", ".sync-conflict-", "conflicted copy"];

export function isConflictCopy(path: string): boolean {
	const lower = path.toLowerCase();
	return CONFLICT_MARKERS.some((m) => lower.includes(m));
}

/** A note opts in with a `vitnotes:` key in its frontmatter (a mapping or the bare model name). */
export function optsIn(frontmatter: Record<string, unknown> | undefined | null): boolean {
	return frontmatter != null && Object.prototype.hasOwnProperty.call(frontmatter, "vitnotes");
}

export interface NoteInfo {
	path: string;
	frontmatter?: Record<string, unknown> | null;
}

/**
 * Vault-relative paths of opted-in notes, sorted, skipping the templates folder (a template with
 * `vitnotes:` frontmatter must stay a template) and sync-conflict copies.
 */
export function optedInNotes(notes: NoteInfo[], templatesFolder?: string | null): string[] {
	const tpl = (templatesFolder ?? "").replace(/^\/+|\/+$/g, "");
	return notes
		.filter((n) => optsIn(n.frontmatter))
		.filter((n) => !(tpl && (n.path === tpl || n.path.startsWith(tpl + "/"))))
		.filter((n) => !isConflictCopy(n.path))
		.map((n) => n.path)
		.sort();
}
