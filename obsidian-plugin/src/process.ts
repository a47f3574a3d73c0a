/**
 * One run of the vitnotes program: started without a shell, its stderr streamed line by line, its
 * stdout collected as bytes, stopped by a timeout or a cancel, and never left behind.
 *
 * On POSIX the child leads its own process group (`detached`), so a stop signals the group: the
 * CLI and any analysis worker it started go together. On Windows `taskkill /T` ends the tree.
 */
import { spawn, type ChildProcess } from "child_process";
import type { Program } from "./program";
import { childEnv } from "./program";

export interface RunOptions {
	cwd: string;
	/** Written to the child's stdin, which is then closed (paths for `fill --stdin`). */
	input?: string;
	/** Stop the child after this long; 0 or undefined: no limit. */
	timeoutMs?: number;
	/** Each complete stderr line as it arrives (the CLI's `--progress json` events). */
	onStderrLine?: (line: string) => void;
	/** Lines that start the timeout afresh (a new note of a many-note fill: the limit is per note). */
	restartsTimeout?: (line: string) => boolean;
	signal?: AbortSignal;
}

export interface RunResult {
	/** Exit code; null when the child did not start, or was stopped. */
	code: number | null;
	stdout: Buffer;
	stderr: string;
	/** Set when the program could not be started at all (ENOENT, EACCES, E2BIG, …). */
	spawnError?: NodeJS.ErrnoException;
	/** Why the run was stopped early, when it was. */
	stopped?: "timeout" | "cancelled";
	pid?: number;
}

/** Grace between the polite stop and the forced one. */
const KILL_GRACE_MS = 2000;

/** Children that are running now, so unload can stop every one of them. */
const live = new Set<ChildProcess>();

/** Signal the child and everything it started. */
function signalTree(pid: number, signal: NodeJS.Signals): void {
	if (process.platform === "win32") {
		// /T: the whole tree, /F: at once (Windows has no polite signal for a console program).
		spawn("taskkill", ["/pid", String(pid), "/T", "/F"], { windowsHide: true, stdio: "ignore" }).on("error", () => undefined);
		return;
	}
	try {
		process.kill(-pid, signal); // the process group the child leads: the CLI and its analysis worker
	} catch {
		try {
			process.kill(pid, signal);
		} catch {
			// already gone
		}
	}
}

/** Stop every child this plugin started (plugin unload): at once, no grace. */
export function stopAll(): void {
	for (const child of live) {
		if (child.pid !== undefined) signalTree(child.pid, "SIGKILL");
	}
	live.clear();
}

/** SIGTERM (the CLI cleans its temp files and exits), then SIGKILL for whatever is left of the group. */
function stopLater(child: ChildProcess): void {
	const pid = child.pid;
	if (pid === undefined) return;
	signalTree(pid, "SIGTERM");
	window.setTimeout(() => signalTree(pid, "SIGKILL"), KILL_GRACE_MS);
}

function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
	let rest = "";
	return (chunk) => {
		rest += chunk;
		let nl: number;
		while ((nl = rest.indexOf("\n")) >= 0) {
			onLine(rest.slice(0, nl).replace(/\r$/, ""));
			rest = rest.slice(nl + 1);
		}
	};
}

function startChild(program: Program, args: string[], opts: RunOptions): ChildProcess {
	return spawn(program.command, [...program.prefixArgs, ...args], {
		cwd: opts.cwd,
		env: childEnv(),
		detached: process.platform !== "win32",
		windowsHide: true,
		stdio: ["pipe", "pipe", "pipe"],
	});
}

/** Run `program args…`; resolves once the child has exited (or could not start). Never rejects. */
export function runProgram(program: Program, args: string[], opts: RunOptions): Promise<RunResult> {
	return new Promise((resolve) => {
		let child: ChildProcess;
		try {
			// spawn throws synchronously for some errors (E2BIG on a huge command line, a bad cwd).
			child = startChild(program, args, opts);
		} catch (e) {
			resolve({ code: null, stdout: Buffer.alloc(0), stderr: "", spawnError: e as NodeJS.ErrnoException });
			return;
		}
		live.add(child);
		const out: Buffer[] = [];
		let stderr = "";
		let stopped: RunResult["stopped"];
		let spawnError: NodeJS.ErrnoException | undefined;
		let timer: number | undefined;
		const arm = () => {
			if (timer) window.clearTimeout(timer);
			if (opts.timeoutMs) timer = window.setTimeout(() => stop("timeout"), opts.timeoutMs);
		};
		const onLine = lineSplitter((line) => {
			if (opts.restartsTimeout?.(line)) arm();
			opts.onStderrLine?.(line);
		});
		child.stdout?.on("data", (b: Buffer) => out.push(b));
		child.stderr?.setEncoding("utf8");
		child.stderr?.on("data", (s: string) => {
			stderr += s;
			onLine(s);
		});
		child.stdin?.on("error", () => undefined); // the child may exit before reading all of it
		child.stdin?.end(opts.input ?? "");
		const stop = (why: "timeout" | "cancelled") => {
			stopped ??= why;
			stopLater(child);
		};
		arm();
		const onAbort = () => stop("cancelled");
		if (opts.signal?.aborted) onAbort();
		opts.signal?.addEventListener("abort", onAbort, { once: true });
		let done = false;
		const finish = (code: number | null) => {
			if (done) return;
			done = true;
			live.delete(child);
			if (timer) window.clearTimeout(timer);
			opts.signal?.removeEventListener("abort", onAbort);
			if (stderr && !stderr.endsWith("\n")) onLine("\n");
			resolve({ code: stopped ? null : code, stdout: Buffer.concat(out), stderr, spawnError, stopped, pid: child.pid });
		};
		child.on("error", (e) => {
			spawnError = e;
			if (child.pid === undefined) finish(null); // never started: no "close" to wait for
		});
		child.on("close", (code) => finish(code));
	});
}
