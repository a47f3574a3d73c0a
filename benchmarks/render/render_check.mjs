// Render Obsidian notes the way the reading view shows them and measure them, in headless Chromium.
//
//   node render_check.mjs [--expanded] [--properties] [--out DIR] [--width 700] NOTE.md [NOTE.md ...]
//
// Obsidian's reading view is approximated with the libraries it is built from or equivalent to:
// markdown-it (CommonMark + GFM tables, single newlines as line breaks, HTML comments hidden),
// callouts (`> [!type]- title` folded unless --expanded), KaTeX for $…$ / $$…$$ (Obsidian uses
// MathJax; both lay out TeX the same width within a few px), Mermaid for ```mermaid fences, task
// lists, and wikilink embeds `![[file.png|W]]` resolved in the vault. The note column is Obsidian's
// "readable line length": 700 px (its --file-line-width), 16 px text, line height 1.5.
// --properties draws the frontmatter the way Obsidian's "Properties in document: visible" does: a
// "Properties" heading and one 30 px row per top-level key (without it, properties are left out).
//
// Prints one JSON object per note on stdout: height (px), elements wider than their column, KaTeX
// and Mermaid errors, each diagram's size and whether an edge crosses a subgraph title. Writes
// <out>/<name>.png (the whole column) and <name>.<k>.png tiles of 1,600 px.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import MarkdownIt from "markdown-it";
import { katex } from "@mdit/plugin-katex";
import { tasklist } from "@mdit/plugin-tasklist";
import puppeteer from "puppeteer-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULES = path.join(HERE, "node_modules");
const TILE = 1600;

function parseArgs(argv) {
  const opts = { expanded: false, properties: false, out: path.join(HERE, "out"), width: 700, notes: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--expanded") opts.expanded = true;
    else if (a === "--properties") opts.properties = true;
    else if (a === "--out") opts.out = argv[++i];
    else if (a === "--width") opts.width = Number(argv[++i]);
    else opts.notes.push(a);
  }
  return opts;
}

function vaultRoot(note) {
  let dir = path.dirname(path.resolve(note));
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, ".obsidian"))) return d;
    if (path.dirname(d) === d) break;
  }
  // No .obsidian: the example vault is the note's folder's parent (Papers/, Attachments/).
  return path.dirname(dir);
}

function findFile(root, name) {
  const direct = path.join(root, name);
  if (fs.existsSync(direct)) return direct;
  const base = path.basename(name);
  const stack = [root];
  while (stack.length) {
    const d = stack.pop();
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name === base) return p;
    }
  }
  return null;
}

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;

// Obsidian-only inline syntax -> HTML, outside code fences and inline code.
function obsidianInline(text, root) {
  return text.replace(/(!?)\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]/g, (m, bang, target, alias) => {
    target = target.trim();
    if (bang && IMAGE.test(target)) {
      const file = findFile(root, target);
      if (!file) return `<span class="internal-embed is-unresolved">${target}</span>`;
      const width = alias && /^\d+(x\d+)?$/.test(alias) ? ` width="${alias.split("x")[0]}"` : "";
      return `<img class="internal-embed" src="${pathToFileURL(file).href}"${width}>`;
    }
    if (bang) return `<span class="internal-embed file-embed">${target}</span>`;
    return `<a class="internal-link">${alias || target}</a>`;
  });
}

function propertiesHtml(yaml) {
  const keys = yaml.split("\n").map((l) => l.match(/^([^\s#:][^:]*):(.*)$/)).filter(Boolean);
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const rows = keys.map((m) => `<div class="metadata-property"><span class="metadata-key">${esc(m[1])}</span>${esc(m[2].trim())}</div>`);
  return `<div class="metadata-container"><div class="metadata-heading">Properties</div>${rows.join("")}</div>\n\n`;
}

function preprocess(md, root, properties = false) {
  md = md.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const fm = md.match(/^---\n([\s\S]*?)\n(---|\.\.\.)\n/);
  md = md.replace(/^---\n[\s\S]*?\n(---|\.\.\.)\n/, ""); // properties are shown apart (--properties)
  if (properties && fm) md = propertiesHtml(fm[1]) + md;
  md = md.replace(/%%[\s\S]*?%%/g, "");
  const out = [];
  let fence = null;
  for (let line of md.split("\n")) {
    // Leading tabs to 4-column stops, as CommonMark reads them (the KaTeX plugin counts a tab as 1).
    line = line.replace(/^[ \t]+/, (ws) => { let col = 0; for (const c of ws) col = c === "\t" ? col + 4 - (col % 4) : col + 1; return " ".repeat(col); });
    const f = line.match(/^\s*(`{3,}|~{3,})/);
    if (f) {
      if (fence === null) fence = f[1];
      else if (f[1].startsWith(fence)) fence = null;
      out.push(line);
      continue;
    }
    if (fence !== null) { out.push(line); continue; }
    out.push(line.split(/(`[^`]*`)/).map((part, i) => (i % 2 ? part : obsidianInline(part, root))).join(""));
  }
  return out.join("\n");
}

function markdown() {
  const md = new MarkdownIt({ html: true, breaks: true, linkify: false });
  md.use(katex, { throwOnError: false, output: "html" });
  md.use(tasklist);
  const fence = md.renderer.rules.fence;
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const t = tokens[idx];
    if (t.info.trim() === "mermaid") return `<pre class="vn-mermaid">${md.utils.escapeHtml(t.content)}</pre>\n`;
    return fence(tokens, idx, options, env, self);
  };
  return md;
}

const CSS = (width) => `
body { margin: 0; background: #fff; color: #222; font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif;
       font-size: 16px; line-height: 1.5; }
.markdown-preview-view { width: ${width}px; margin: 0 auto; padding: 16px 0 32px; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; }
pre { background: #f5f5f5; padding: 8px 12px; overflow-x: auto; }
pre.vn-mermaid { background: none; padding: 0; overflow: visible; text-align: center; }
code { font-size: 0.875em; }
img { max-width: 100%; }
ul, ol { padding-inline-start: 1.6em; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
.internal-embed.is-unresolved, .file-embed { display: inline-block; color: #888; border: 1px dashed #ccc; padding: 2px 6px; }
.metadata-container { margin: 0 0 16px; font-size: 14px; }
.metadata-heading { height: 32px; line-height: 32px; font-weight: 600; }
.metadata-property { height: 30px; line-height: 30px; white-space: nowrap; overflow: hidden; }
.metadata-key { display: inline-block; width: 160px; color: #666; }
.callout { border-left: 4px solid #448aff; background: rgba(68,138,255,0.08); padding: 12px 12px 12px 20px; margin: 1em 0; border-radius: 4px; }
.callout[data-callout=warning] { border-color: #ec7500; background: rgba(236,117,0,0.08); }
.callout-title { font-weight: 600; }
.callout.is-collapsed > .callout-content { display: none; }
.callout-content > :first-child { margin-top: 0.5em; }
.callout-content > :last-child { margin-bottom: 0; }
`;

// Runs in the page: callouts from blockquotes (as Obsidian's reading view does), then Mermaid.
async function pageSetup(expanded) {
  for (const bq of [...document.querySelectorAll("blockquote")].reverse()) {
    const p = bq.firstElementChild;
    if (!p || p.tagName !== "P") continue;
    const m = p.innerHTML.match(/^\s*\[!([\w-]+)\]([+-]?)\s*/);
    if (!m) continue;
    const rest = p.innerHTML.slice(m[0].length);
    const br = rest.search(/<br\s*\/?>/);
    const title = br < 0 ? rest : rest.slice(0, br);
    const body = br < 0 ? "" : rest.slice(br).replace(/^<br\s*\/?>\s*/, "");
    const div = document.createElement("div");
    div.className = "callout" + (m[2] === "-" && !expanded ? " is-collapsed" : "");
    div.dataset.callout = m[1].toLowerCase();
    div.innerHTML = `<div class="callout-title">${title || m[1]}</div><div class="callout-content"></div>`;
    const content = div.lastElementChild;
    if (body.trim()) { const q = document.createElement("p"); q.innerHTML = body; content.appendChild(q); }
    p.remove();
    while (bq.firstChild) content.appendChild(bq.firstChild);
    bq.replaceWith(div);
  }
  const errors = [];
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
  let k = 0;
  for (const el of document.querySelectorAll("pre.vn-mermaid")) {
    const id = `mmd${k++}`;
    try {
      const { svg } = await window.mermaid.render(id, el.textContent);
      el.innerHTML = svg;
    } catch (err) {
      errors.push(String(err && err.message || err).split("\n")[0]);
      el.dataset.error = "1";
    }
  }
  return errors;
}

// Runs in the page: what a reader would see as broken.
function pageMeasure() {
  const col = document.querySelector(".markdown-preview-view");
  const colRect = col.getBoundingClientRect();
  const snippet = (el) => (el.textContent || el.getAttribute("src") || "").trim().replace(/\s+/g, " ").slice(0, 80);
  const visible = (el) => el.offsetParent !== null || el.tagName === "svg";
  const wide = [];
  for (const el of col.querySelectorAll("table, pre, .katex-display, img, p, li, .callout, svg, h1, h2, h3")) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    const over = Math.max(r.right - colRect.right, el.scrollWidth - el.clientWidth);
    if (over > 1 && !(el.tagName === "svg" && el.closest("pre.vn-mermaid") === null)) {
      wide.push({ tag: el.tagName.toLowerCase(), width: Math.round(Math.max(r.width, el.scrollWidth)), over: Math.round(over), text: snippet(el) });
    }
  }
  // Wide children of a scroll box count once: keep the outermost.
  const katexErrors = [...col.querySelectorAll(".katex-error")].map((e) => (e.getAttribute("title") || e.textContent).slice(0, 120));
  const diagrams = [];
  for (const pre of col.querySelectorAll("pre.vn-mermaid")) {
    const svg = pre.querySelector("svg");
    if (!svg) { diagrams.push({ error: true }); continue; }
    const r = svg.getBoundingClientRect();
    const natural = parseFloat((svg.style.maxWidth || "").replace("px", "")) || r.width;
    // An edge crosses a title when a point of its path lies inside a subgraph label's box.
    const labels = [...svg.querySelectorAll(".cluster-label, .cluster text")].map((l) => l.getBoundingClientRect());
    let crossings = 0;
    for (const p of svg.querySelectorAll("path.flowchart-link, .edgePath path, path[data-edge]")) {
      const len = p.getTotalLength ? p.getTotalLength() : 0;
      const m = p.getScreenCTM();
      for (let s = 0; s <= 40 && len; s++) {
        const pt = p.getPointAtLength((len * s) / 40);
        const x = m.a * pt.x + m.c * pt.y + m.e, y = m.b * pt.x + m.d * pt.y + m.f;
        if (labels.some((b) => x >= b.left && x <= b.right && y >= b.top && y <= b.bottom)) { crossings++; break; }
      }
    }
    diagrams.push({ height: Math.round(r.height), width: Math.round(r.width), natural_width: Math.round(natural),
                    title_crossings: crossings, error: !!pre.dataset.error });
  }
  // Each vitnotes region's height: the elements between its begin and end comments.
  const regions = {};
  const walker = document.createTreeWalker(col, NodeFilter.SHOW_COMMENT);
  for (let c = walker.nextNode(); c; c = walker.nextNode()) {
    const m = c.data.match(/^\s*vitnotes:begin (\S+)/);
    if (!m) continue;
    let top = Infinity, bottom = -Infinity;
    for (let n = c.nextSibling; n; n = n.nextSibling) {
      if (n.nodeType === 8 && n.data.includes(`vitnotes:end ${m[1]}`)) break;
      if (n.nodeType !== 1) continue;
      const r = n.getBoundingClientRect();
      if (r.height) { top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom); }
    }
    regions[m[1]] = bottom > top ? Math.round(bottom - top) : 0;
  }
  return { height: Math.round(col.getBoundingClientRect().height), wide, katex_errors: katexErrors, diagrams, regions };
}

async function checkNote(browser, note, opts, md) {
  const root = vaultRoot(note);
  const html = md.render(preprocess(fs.readFileSync(note, "utf8"), root, opts.properties));
  const name = path.basename(note, ".md").replace(/[^\w.-]+/g, "_") + (opts.expanded ? ".expanded" : "");
  const page_html = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="${pathToFileURL(path.join(MODULES, "katex/dist/katex.min.css")).href}">
<style>${CSS(opts.width)}</style>
<script src="${pathToFileURL(path.join(MODULES, "mermaid/dist/mermaid.min.js")).href}"></script>
</head><body><div class="markdown-preview-view">${html}</div></body></html>`;
  const file = path.join(opts.out, name + ".html");
  fs.writeFileSync(file, page_html);
  const page = await browser.newPage();
  await page.setViewport({ width: opts.width + 60, height: 1000 });
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  const mermaidErrors = await page.evaluate(pageSetup, opts.expanded);
  await page.evaluate(() => document.fonts.ready);
  const result = await page.evaluate(pageMeasure);
  const col = await page.$(".markdown-preview-view");
  const shot = path.join(opts.out, name + ".png");
  await col.screenshot({ path: shot });
  const box = await col.boundingBox();
  const tiles = [];
  for (let y = 0, k = 0; y < box.height; y += TILE, k++) {
    const tile = path.join(opts.out, `${name}.${k}.png`);
    await page.screenshot({ path: tile, clip: { x: box.x, y: box.y + y, width: box.width, height: Math.min(TILE, box.height - y) }, captureBeyondViewport: true });
    tiles.push(tile);
  }
  await page.close();
  return { note, expanded: opts.expanded, ...result, mermaid_errors: mermaidErrors, screenshot: shot, tiles };
}

export function chromiumPath() {
  for (const p of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const exe = chromiumPath();
  if (!exe) { console.error("render_check: no Chromium found (set CHROMIUM=/path/to/chromium)"); process.exit(3); }
  fs.mkdirSync(opts.out, { recursive: true });
  const browser = await puppeteer.launch({ executablePath: exe, headless: true,
                                          args: ["--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"] });
  const md = markdown();
  try {
    for (const note of opts.notes) console.log(JSON.stringify(await checkNote(browser, note, opts, md)));
  } finally {
    await browser.close();
  }
}

main().catch((err) => { console.error(`render_check: ${err && err.stack || err}`); process.exit(1); });
