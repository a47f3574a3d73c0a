// Bundles src/main.ts into one CommonJS main.js, the only code file Obsidian loads.
// `node esbuild.config.mjs production` writes the shipped copy into ../vitnotes/plugin/ (with
// manifest.json) so `vitnotes install-plugin` needs no npm; VITNOTES_PLUGIN_OUTDIR overrides where.
import esbuild from "esbuild";
import { builtinModules } from "node:module";
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const production = process.argv[2] === "production";
const outdir = process.env.VITNOTES_PLUGIN_OUTDIR
	? path.resolve(process.env.VITNOTES_PLUGIN_OUTDIR)
	: production
		? path.join(here, "..", "vitnotes", "plugin")
		: here;

const options = {
	banner: { js: "/* vitnotes Obsidian plugin — built from obsidian-plugin/src by esbuild; do not edit. */" },
	// Paths in the bundle's comments are relative to this folder whatever the cwd: a rebuild is byte-identical.
	absWorkingDir: here,
	entryPoints: [path.join(here, "src", "main.ts")],
	bundle: true,
	external: [
		"obsidian",
		"electron",
		"@codemirror/*",
		"@lezer/*",
		...builtinModules,
		...builtinModules.map((m) => `node:${m}`),
	],
	format: "cjs",
	platform: "node",
	target: "es2020",
	logLevel: "info",
	sourcemap: production ? false : "inline",
	treeShaking: true,
	outfile: path.join(outdir, "main.js"),
};

mkdirSync(outdir, { recursive: true });
if (production) {
	await esbuild.build(options);
	copyFileSync(path.join(here, "manifest.json"), path.join(outdir, "manifest.json"));
} else {
	const ctx = await esbuild.context(options);
	await ctx.watch();
}
