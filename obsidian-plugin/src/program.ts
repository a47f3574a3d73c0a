/**
 * Which program "vitnotes" means. Obsidian started from a desktop launcher (macOS Dock, a .desktop
 * file, the Windows Start menu) often gets a short PATH without the folders where pip, pipx, conda,
 * pyenv and Homebrew put scripts, so those folders are searched too (the user's own PATH first).
 *
 * The setting may be a bare name (`vitnotes`), a path (`~/venvs/v/bin/vitnotes`, quoted if it has
 * spaces), or a command with arguments (`"C:\Program Files\Python311\python.exe" -m vitnotes`).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface Program {
	command: string;
	prefixArgs: string[];
	/** How it was found, for the "Check" button: "PATH", "~/miniconda3/bin", "the py launcher", … */
	foundIn: string;
}

export interface Host {
	platform: NodeJS.Platform;
	env: NodeJS.ProcessEnv;
	home: string;
	isFile: (p: string) => boolean;
	listDir: (p: string) => string[];
}

export const HOST: Host = {
	platform: process.platform,
	env: process.env,
	home: os.homedir(),
	isFile: (p) => {
		try {
			return fs.statSync(p).isFile();
		} catch {
			return false;
		}
	},
	listDir: (p) => {
		try {
			return fs.readdirSync(p).sort().reverse(); // newest version folders first
		} catch {
			return [];
		}
	},
};

/** Path rules of the host's platform (the discovery is tested for every platform on any one). */
function pathsOf(host: Pick<Host, "platform">): path.PlatformPath {
	return host.platform === "win32" ? path.win32 : path.posix;
}

function pathKey(env: NodeJS.ProcessEnv): string {
	return Object.keys(env).find((k) => k.toUpperCase() === "PATH") ?? "PATH";
}

/** `~` → the home folder; surrounding quotes removed; the rest split into words (quotes group). */
export function parseSetting(value: string, host: Pick<Host, "home" | "platform"> = HOST): { command: string; args: string[] } {
	const home = host.home;
	const words = value.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
	const unquote = (w: string) => (/^(["']).*\1$/.test(w) ? w.slice(1, -1) : w);
	const expand = (w: string) => (w === "~" ? home : /^~[/\\]/.test(w) ? pathsOf(host).join(home, w.slice(2)) : w);
	const [first = "vitnotes", ...rest] = words.map(unquote);
	return { command: expand(first), args: rest };
}

/** Folders with conda environments' programs: the base env and every env under it. */
function condaDirs(host: Host, bin: string): string[] {
	const roots = ["miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba"].map((r) => pathsOf(host).join(host.home, r));
	if (host.platform !== "win32") roots.push("/opt/conda", "/opt/miniconda3", "/opt/homebrew/Caskroom/miniconda/base");
	const out: string[] = [];
	for (const root of roots) {
		out.push(pathsOf(host).join(root, bin));
		for (const env of host.listDir(pathsOf(host).join(root, "envs"))) out.push(pathsOf(host).join(root, "envs", env, bin));
	}
	return out;
}

/** Extra folders searched after PATH, most specific first. */
export function extraDirs(host: Host): string[] {
	const { home, env } = host;
	if (host.platform === "win32") {
		const appData = env.APPDATA ?? pathsOf(host).join(home, "AppData", "Roaming");
		const local = env.LOCALAPPDATA ?? pathsOf(host).join(home, "AppData", "Local");
		const versions = (root: string) => host.listDir(root).filter((v) => /^Python3\d+/i.test(v)).map((v) => pathsOf(host).join(root, v, "Scripts"));
		return [
			...versions(pathsOf(host).join(appData, "Python")), // pip install --user
			...versions(pathsOf(host).join(local, "Programs", "Python")), // python.org installer
			pathsOf(host).join(home, ".local", "bin"), // pipx
			pathsOf(host).join(home, ".pyenv", "pyenv-win", "shims"),
			...condaDirs(host, "Scripts"),
		];
	}
	const userSite = pathsOf(host).join(home, "Library", "Python");
	const framework = "/Library/Frameworks/Python.framework/Versions";
	return [
		pathsOf(host).join(home, ".local", "bin"), // pip install --user (Linux), pipx
		...host.listDir(userSite).map((v) => pathsOf(host).join(userSite, v, "bin")), // pip --user (macOS)
		pathsOf(host).join(home, ".pyenv", "shims"),
		...condaDirs(host, "bin"),
		"/opt/homebrew/bin",
		"/usr/local/bin",
		...host.listDir(framework).map((v) => pathsOf(host).join(framework, v, "bin")), // python.org installer
	];
}

function searchDirs(host: Host): { dir: string; label: string }[] {
	const own = (host.env[pathKey(host.env)] ?? "").split(pathsOf(host).delimiter).filter((d) => d.length > 0);
	const tilde = (d: string) => (d.startsWith(host.home) ? "~" + d.slice(host.home.length) : d);
	return [...own.map((dir) => ({ dir, label: "PATH" })), ...extraDirs(host).map((dir) => ({ dir, label: tilde(dir) }))];
}

function executableNames(name: string, host: Host): string[] {
	if (host.platform !== "win32" || pathsOf(host).extname(name)) return [name];
	return [name + ".exe"]; // pip's console scripts; .cmd files cannot be started without a shell
}

/** The program the setting names, as an absolute path where one was found. */
export function findProgram(setting: string, host: Host = HOST): Program {
	const { command, args } = parseSetting(setting, host);
	if (/[/\\]/.test(command)) return { command, prefixArgs: args, foundIn: "the setting" };
	for (const { dir, label } of searchDirs(host)) {
		for (const name of executableNames(command, host)) {
			const full = pathsOf(host).join(dir, name);
			if (host.isFile(full)) return { command: full, prefixArgs: args, foundIn: label };
		}
	}
	if (host.platform === "win32" && command === "vitnotes") {
		// No vitnotes.exe anywhere: Python's launcher runs the newest installed Python's module.
		return { command: "py", prefixArgs: ["-m", "vitnotes", ...args], foundIn: "the py launcher" };
	}
	return { command, prefixArgs: args, foundIn: "nowhere (not on PATH)" };
}

/** The child's environment: UTF-8 output (note names in any script) and the searched folders on PATH. */
export function childEnv(host: Host = HOST): NodeJS.ProcessEnv {
	const key = pathKey(host.env);
	const parts = (host.env[key] ?? "").split(pathsOf(host).delimiter).filter((p) => p.length > 0);
	for (const dir of extraDirs(host)) if (!parts.includes(dir)) parts.push(dir);
	return { ...host.env, [key]: parts.join(pathsOf(host).delimiter), PYTHONIOENCODING: "utf-8", PYTHONUTF8: "1" };
}

export function describe(program: Program): string {
	return [program.command, ...program.prefixArgs].map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(" ");
}
