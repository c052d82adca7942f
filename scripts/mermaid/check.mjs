// Parses every Mermaid diagram render-pilot writes, as kept in the insta
// snapshots (whole-chart snapshots and ```mermaid blocks inside summaries
// and pages) and in the README's examples, with the real Mermaid library
// under jsdom. Fails on the first syntax error, when a kind of chart
// render-pilot writes is missing, and when a deliberately broken chart
// would pass.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["navigator", "Element", "HTMLElement", "SVGElement", "DOMParser", "Node"]) {
  if (!(name in globalThis)) globalThis[name] = dom.window[name];
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

// A snapshot starts with insta's header; a chart may start with its own
// front matter (`---` … `---`) before its kind.
function diagrams(text) {
  const body = text.replace(/^---\n(source|expression):[\s\S]*?\n---\n/, "");
  const chart = body.replace(/^---\n[\s\S]*?\n---\n/, "");
  if (/^(gantt|xychart-beta|pie)\b/.test(chart)) return [body];
  return [...body.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
}

// Directories of snapshots, and Markdown files (the README's examples).
const files = process.argv.slice(2).flatMap((path) =>
  statSync(path).isDirectory()
    ? readdirSync(path).filter((f) => f.endsWith(".snap")).sort().map((f) => join(path, f))
    : [path],
);
let checked = 0;
const kinds = new Set();
for (const file of files) {
  for (const chart of diagrams(readFileSync(file, "utf8"))) {
    try {
      const result = await mermaid.parse(chart);
      kinds.add(result.diagramType);
      checked += 1;
    } catch (error) {
      console.error(`${file}: Mermaid cannot parse this chart:\n${chart}\n${error.message}`);
      process.exit(1);
    }
  }
}
const missing = ["gantt", "pie", "xychart"].filter((kind) => !kinds.has(kind));
if (missing.length > 0) {
  console.error(`no ${missing.join(", ")} chart found: every kind render-pilot writes must be checked`);
  process.exit(1);
}
let brokenPassed = true;
try {
  await mermaid.parse("gantt\n    dateFormat X\n    section a\n    task :crit, x, 0, 5s, extra: bad\n    %%{\n");
} catch {
  brokenPassed = false;
}
if (brokenPassed) {
  console.error("a broken chart parsed: the check would prove nothing");
  process.exit(1);
}
console.log(`Mermaid parsed ${checked} charts (${[...kinds].sort().join(", ")})`);
