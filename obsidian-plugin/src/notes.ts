/** Whether a note opted in to vitnotes: a top-level `vitnotes:` key in its frontmatter (docs/DESIGN.md §3). */
import { getFrontMatterInfo, parseYaml } from "obsidian";

/**
 * Decided from the note's text with Obsidian's own frontmatter parser, never from the metadata
 * cache alone (it lags behind an edit that was just saved). Frontmatter that does not parse counts
 * as opted in: the CLI then refuses the note and says where its YAML is broken.
 */
export function optsIn(text: string): boolean {
	const info = getFrontMatterInfo(text);
	if (!info.exists) return false;
	let data: unknown;
	try {
		data = parseYaml(info.frontmatter);
	} catch {
		return true;
	}
	return typeof data === "object" && data !== null && Object.prototype.hasOwnProperty.call(data, "vitnotes");
}
