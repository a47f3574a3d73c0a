/**
 * Whether a `vitnotes watch` daemon runs for this vault, from the pid file it writes:
 * `<vault>/.vitnotes/watch.pid` = {"pid": N, "started": ISO time, "vault": absolute path, "host": name}.
 * The same staleness rules as the daemon's own check (vitnotes/watch/pidfile.py).
 */
import { execFile } from "child_process";
import { promises as fs, realpathSync } from "fs";
import * as os from "os";
import * as path from "path";

export const PID_FILE = path.join(".vitnotes", "watch.pid");

export interface WatchState {
	running: boolean;
	pid?: number;
	started?: string;
	/** Why the daemon counts as not running, for the tooltip. */
	reason?: string;
}

/** process.kill(pid, 0) sends nothing: it only asks whether the process exists (EPERM: it does, as another user). */
function pidExists(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === "EPERM";
	}
}

function output(cmd: string, args: string[]): Promise<string | null> {
	return new Promise((resolve) => {
		execFile(cmd, args, { timeout: 5000, windowsHide: true, encoding: "utf8" }, (err, stdout) =>
			resolve(err ? null : stdout),
		);
	});
}

/**
 * The command line of a running process, or null when it cannot be read: /proc on Linux, `ps` on
 * macOS and the BSDs, CIM (PowerShell) on Windows.
 */
export async function commandLine(pid: number): Promise<string | null> {
	if (process.platform === "linux") {
		try {
			return (await fs.readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ");
		} catch {
			return null;
		}
	}
	if (process.platform === "win32") {
		const query = `(Get-CimInstance Win32_Process -Filter "ProcessId=${pid}").CommandLine`;
		return output("powershell.exe", ["-NoProfile", "-NonInteractive", "-Command", query]);
	}
	return output("ps", ["-p", String(pid), "-o", "command="]);
}

/** What the pid runs now: the daemon, something else (a recycled pid after the daemon died), or nothing. */
export async function whatRuns(pid: number): Promise<"daemon" | "other" | "gone"> {
	if (!pidExists(pid)) return "gone";
	const cmd = await commandLine(pid);
	if (cmd === null) return pidExists(pid) ? "daemon" : "gone"; // unreadable (another user's): trust the pid file
	return /vitnotes/.test(cmd) && /\bwatch\b/.test(cmd) ? "daemon" : "other";
}

function samePath(a: string, b: string): boolean {
	const canon = (p: string) => {
		try {
			return realpathSync(p);
		} catch {
			return path.resolve(p);
		}
	};
	const x = canon(a);
	const y = canon(b);
	return process.platform === "linux" ? x === y : x.toLowerCase() === y.toLowerCase();
}

export async function readWatchState(vaultPath: string): Promise<WatchState> {
	let text: string;
	try {
		text = await fs.readFile(path.join(vaultPath, PID_FILE), "utf8");
	} catch {
		return { running: false, reason: "no watch daemon has started for this vault" };
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return { running: false, reason: `${PID_FILE} is not valid JSON` };
	}
	const data = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
	const pid = data.pid;
	if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) {
		return { running: false, reason: `${PID_FILE} has no valid pid` };
	}
	const started = typeof data.started === "string" ? data.started : undefined;
	// A pid file synced from another computer, or copied from another vault, says nothing about this one.
	if (typeof data.host === "string" && data.host !== os.hostname()) {
		return { running: false, pid, started, reason: `the daemon runs on another computer (${data.host})` };
	}
	if (typeof data.vault === "string" && !samePath(data.vault, vaultPath)) {
		return { running: false, pid, started, reason: `the pid file belongs to another vault (${data.vault})` };
	}
	const runs = await whatRuns(pid);
	if (runs === "gone") return { running: false, pid, started, reason: `the daemon (pid ${pid}) is no longer running` };
	if (runs === "other") {
		return { running: false, pid, started, reason: `the daemon is gone: pid ${pid} now runs another program, not vitnotes watch` };
	}
	return { running: true, pid, started };
}

export function statusText(state: WatchState): { text: string; tooltip: string } {
	if (state.running) {
		return {
			text: "vitnotes: watching",
			tooltip: `vitnotes watch is running for this vault (pid ${state.pid}${
				state.started ? `, since ${state.started}` : ""
			}): opted-in notes are refilled when saved.`,
		};
	}
	return {
		text: "vitnotes: not watching",
		tooltip: `${state.reason ?? "vitnotes watch is not running"}. Start it with: vitnotes watch <vault>`,
	};
}
