// Obsidian's official lint rules (eslint-plugin-obsidianmd, recommended config: ESLint core,
// typescript-eslint type-checked rules and the Obsidian-specific ones), over the plugin's TypeScript.
import { defineConfig } from "eslint/config";
import obsidianmd from "eslint-plugin-obsidianmd";

export default defineConfig([
	{ ignores: ["node_modules/**", "main.js", "test/**", "esbuild.config.mjs"] },
	...obsidianmd.configs.recommended,
	{
		languageOptions: {
			parserOptions: {
				projectService: { allowDefaultProject: ["eslint.config.mjs"] },
				tsconfigRootDir: import.meta.dirname,
			},
		},
	},
]);
