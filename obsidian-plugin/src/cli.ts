/**
 * Runs the vitnotes command-line tool and turns what it printed into Notice text.
 *
 * The plugin is a front, never a second implementation: everything a fill does (parse, analyse,
 * render, atomic write) happens in the CLI; here we only start it asynchronously and report.
 */
import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";

export interface CliResult {
	/** Exit code; null when the process could not be started or was killed. */
	code: number | null;
	stdout: string;
	stderr: string;
	/** Set when the program could not be started at all (ENOENT, EACCES, …). */
	spawnError?: NodeJS.ErrnoException;
}

/**
 * Obsidian started from a desktop launcher (macOS Dock, a .desktop file) often gets a short PATH
 * without the folders where pip, pipx and Homebrew put scripts. Appending them (the user's own
 * PATH still wins) lets the default `vitnotes` setting work without typing a full path.
 */
export function childEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const home = os.homedir();
	const extra =
		process.platform === "win32"
			? []
			: [path.join(home, ".local", "bin"), "/opt/homebrew/bin", "/usr/local/bin"];
	const key = Object.keys(base).find((k) => k.toUpperCase() === "PATH") ?? "PATH";
	const parts = (base[key] ?? "").split(path.delimiter).filter((p) => p.length > 0);
	for (const dir of extra) if (!parts.includes(dir)) parts.push(dir);
	// UTF-8 output so note names in Chinese (or any script) survive on every platform.
	return { ...base, [key]: parts.join(path.delimiter), PYTHONIOENCODING: "utf-8", PYTHONUTF8: "1" };
}

/** Start `exe args…` in `cwd` without blocking the editor; never rejects. */
export function runCli(exe: string, args: string[], cwd: string): Promise<CliResult> {
	return new Promise((resolve) => {
		execFile(
			exe,
			args,
			{ cwd, env: childEnv(), maxBuffer: 16 * 1024 * 1024, windowsHide: true, encoding: "utf8" },
			(error, stdout, stderr) => {
				if (!error) {
					resolve({ code: 0, stdout, stderr });
					return;
				}
				const err = error as NodeJS.ErrnoException & { code?: number | string };
				if (typeof err.code === "number") {
					resolve({ code: err.code, stdout, stderr });
				} else if (typeof err.code === "string") {
					resolve({ code: null, stdout, stderr, spawnError: err });
				} else {
					// Killed by a signal (or maxBuffer): no exit code, the message says which.
					resolve({ code: null, stdout, stderr: stderr || String(err.message) });
				}
			},
		);
	});
}

/** The one-line results `vitnotes fill` prints: `filled …`, `unchanged …`, `refused …: why`, `failed …: why`. */
export const RESULT_WORDS = ["filled", "unchanged", "refused", "failed"] as const;
export type ResultWord = (typeof RESULT_WORDS)[number];

export function resultLines(stdout: string): string[] {
	return stdout
		.split(/\r?\n/)
		.map((l) => l.trim())
		.filter((l) => l.length > 0);
}

export function resultWord(line: string): ResultWord | null {
	const word = line.split(/\s/, 1)[0] as ResultWord;
	return (RESULT_WORDS as readonly string[]).includes(word) ? word : null;
}

/** The last few lines of stderr: where the CLI puts `vitnotes: error: … — hint`. */
export function stderrTail(stderr: string, maxLines = 8): string {
	const lines = stderr
		.split(/\r?\n/)
		.map((l) => l.replace(/\s+$/, ""))
		.filter((l) => l.trim().length > 0);
	return lines.slice(-maxLines).join("\n");
}

/** What to tell a user whose executable setting does not start a program. */
export function notFoundMessage(exe: string, err: NodeJS.ErrnoException): string {
	const why =
		err.code === "ENOENT"
			? `could not find the program "${exe}"`
			: `could not start "${exe}" (${err.code ?? err.message})`;
	return (
		`vitnotes: ${why}.\n` +
		"Install it (pip install vitnotes), then set its full path in " +
		"Settings → Community plugins → vitnotes → \"vitnotes executable\" " +
		"(the output of `which vitnotes`, or `where vitnotes` on Windows)."
	);
}

/**
 * Notice text for a finished `vitnotes fill`: the CLI's own lines, and on failure its error text.
 * Several notes are summarised by count, with every line that is not a plain success shown.
 */
export function fillMessage(res: CliResult, exe: string): { text: string; ok: boolean } {
	if (res.spawnError) return { text: notFoundMessage(exe, res.spawnError), ok: false };
	const lines = resultLines(res.stdout).filter((l) => resultWord(l) !== null);
	const ok = res.code === 0;
	const parts: string[] = [];
	if (lines.length > 3) {
		const counts = new Map<string, number>();
		for (const l of lines) counts.set(resultWord(l)!, (counts.get(resultWord(l)!) ?? 0) + 1);
		parts.push(
			`vitnotes: ${lines.length} notes — ` +
				RESULT_WORDS.filter((w) => counts.has(w))
					.map((w) => `${counts.get(w)} ${w}`)
					.join(", "),
		);
		parts.push(...lines.filter((l) => resultWord(l) === "refused" || resultWord(l) === "failed"));
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
