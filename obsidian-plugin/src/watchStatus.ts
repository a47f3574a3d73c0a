/**
 * Whether a `vitnotes watch` daemon runs for this vault, from the pid file it writes:
 * `<vault>/.vitnotes/watch.pid` = {"pid": N, "started": ISO time, "vault": absolute path, "host": name}.
 * The same staleness rules as the daemon's own check (vitnotes/watch/pidfile.py).
 */
import { promises as fs, readFileSync, realpathSync } from "fs";
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
export function pidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === "EPERM";
	}
	if (process.platform !== "linux") return true;
	try {
		// A recycled pid that now runs something else is not the daemon.
		return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("vitnotes");
	} catch {
		return true;
	}
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
	let data: { pid?: unknown; started?: unknown; vault?: unknown; host?: unknown };
	try {
		data = JSON.parse(text);
	} catch {
		return { running: false, reason: `${PID_FILE} is not valid JSON` };
	}
	const pid = data?.pid;
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
	if (!pidAlive(pid)) {
		return { running: false, pid, started, reason: `the daemon (pid ${pid}) is no longer running` };
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
