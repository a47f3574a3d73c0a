/**
 * The vitnotes CLI's side of the conversation: the JSON-lines events `fill --progress json` writes
 * on stderr, and the Notice text for how a run ended.
 *
 * The plugin is a front, never a second implementation: everything a fill does (parse, analyse,
 * render, merge) happens in the CLI; here we only read what it reported.
 */
import type { RunResult } from "./process";
import { describe, type Program } from "./program";

/** The one-line results `vitnotes fill` reports: `filled …`, `unchanged …`, `refused …: why`, `failed …: why`. */
export const RESULT_WORDS = ["filled", "unchanged", "refused", "failed"] as const;
export type ResultWord = (typeof RESULT_WORDS)[number];

export interface FillEvent {
	event: "start" | "progress" | "result";
	note: string;
	index?: number;
	total?: number;
	message?: string;
	status?: ResultWord;
	line?: string;
	model?: string;
	/** Refused because the note changed after the plugin read it (`--expect-sha`). */
	stale?: boolean;
}

function field<T>(o: Record<string, unknown>, key: string, type: "string" | "number" | "boolean"): T | undefined {
	return typeof o[key] === type ? (o[key] as T) : undefined;
}

/** One stderr line as an event, or null for anything else (a warning, a traceback line). */
export function parseEvent(line: string): FillEvent | null {
	if (!line.startsWith("{")) return null;
	let raw: unknown;
	try {
		raw = JSON.parse(line);
	} catch {
		return null;
	}
	if (typeof raw !== "object" || raw === null) return null;
	const o = raw as Record<string, unknown>;
	const event = field<string>(o, "event", "string");
	if (event !== "start" && event !== "progress" && event !== "result") return null;
	const status = field<string>(o, "status", "string");
	return {
		event,
		note: field<string>(o, "note", "string") ?? "",
		index: field<number>(o, "index", "number"),
		total: field<number>(o, "total", "number"),
		message: field<string>(o, "message", "string"),
		status: (RESULT_WORDS as readonly (string | undefined)[]).includes(status) ? (status as ResultWord) : undefined,
		line: field<string>(o, "line", "string"),
		model: field<string>(o, "model", "string"),
		stale: field<boolean>(o, "stale", "boolean"),
	};
}

/** The last few stderr lines that are not events: where the CLI puts `vitnotes: error: … — hint`. */
export function stderrTail(stderr: string, maxLines = 8): string {
	const lines = stderr
		.split(/\r?\n/)
		.map((l) => l.replace(/\s+$/, ""))
		.filter((l) => l.trim().length > 0 && parseEvent(l) === null);
	return lines.slice(-maxLines).join("\n");
}

/** What to tell a user whose program setting does not start a program. */
export function notFoundMessage(program: Program, err: NodeJS.ErrnoException): string {
	const exe = describe(program);
	const why =
		err.code === "ENOENT"
			? `could not find the program "${exe}"`
			: `could not start "${exe}" (${err.code ?? err.message})`;
	return (
		`vitnotes: ${why}.\n` +
		"Install it (pip install vitnotes), then set its full path in " +
		"Settings → Community plugins → vitnotes → \"vitnotes program\" " +
		"(the output of `which vitnotes`, or `where vitnotes` on Windows) and press Check."
	);
}

/** Why a run gave no result at all: not started, stopped, or crashed. Null when it ran normally. */
export function runProblem(res: RunResult, program: Program, timeoutS: number): string | null {
	if (res.spawnError) return notFoundMessage(program, res.spawnError);
	if (res.stopped === "cancelled") return "vitnotes: cancelled; the note was left as it was";
	if (res.stopped === "timeout") {
		return (
			`vitnotes: stopped after ${timeoutS} s without finishing (Settings → vitnotes → Timeout); ` +
			"the note was left as it was. Run `vitnotes fill NOTE` in a terminal to see where it hangs."
		);
	}
	return null;
}

/**
 * Notice text for the results of one run: each line for a few notes, else a count per result
 * with every line that is not a success; the CLI's error text when it failed.
 */
export function resultsMessage(results: FillEvent[], res: RunResult): { text: string; ok: boolean } {
	const lines = results.map((r) => r.line ?? `${r.status ?? "?"} ${r.note}`);
	const ok = res.code === 0;
	const parts: string[] = [];
	if (lines.length > 3) {
		const counts = RESULT_WORDS.map((w) => [w, results.filter((r) => r.status === w).length] as const);
		parts.push(
			`vitnotes: ${lines.length} notes — ` +
				counts
					.filter(([, n]) => n > 0)
					.map(([w, n]) => `${n} ${w}`)
					.join(", "),
		);
		parts.push(...results.filter((r) => r.status === "refused" || r.status === "failed").map((r) => r.line ?? r.note));
	} else {
		parts.push(...lines.map((l) => `vitnotes: ${l}`));
	}
	if (!ok) {
		const tail = stderrTail(res.stderr);
		if (tail) parts.push(tail);
		if (parts.length === 0) parts.push(`vitnotes: exited with code ${res.code ?? "?"} and printed nothing`);
	} else if (parts.length === 0) {
		parts.push("vitnotes: done");
	}
	return { text: parts.join("\n"), ok };
}
