// Draws every Mermaid chart render-pilot writes with the real Mermaid
// library of each version installed next to this script (mermaid-10,
// mermaid-11, mermaid-12), in Debian's headless Chromium, and fails unless
// each picture is right: bars where their times put them, an axis labelled
// with the chart's own window, no overlapping or cut-off labels, nothing
// empty, one colour per state. A PNG of every chart is saved per version.
//
// First it tests itself on fixtures that record how they must fare: the
// old seconds-based gantt must fail on Mermaid 11.12 and later and pass
// on 10.9; a chart with overlapping labels must fail everywhere.
//
// node draw.mjs --out DIR --fixtures DIR [SNAPSHOT_DIR | MARKDOWN_FILE]...
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import { judge, judgeColours, kindOf } from "./judge.mjs";

const here = new URL(".", import.meta.url).pathname;
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const out = option("--out") ?? "target/mermaid-draw";
const fixtures = option("--fixtures");
const started = Date.now();

/** The charts in a snapshot or Markdown file, named after it. */
function chartsIn(file) {
  const text = readFileSync(file, "utf8").replace(/^---\n(source|expression):[\s\S]*?\n---\n/, "");
  const stem = basename(file)
    .replace(/\.(snap|md)$/, "")
    .replace(/^render_pilot__/, "")
    .replace(/__tests__/, "__")
    .replaceAll("__", "-")
    .toLowerCase();
  const whole = ["gantt", "pie", "xychart"].includes(kindOf(text));
  const sources = whole ? [text] : [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
  return sources.map((source, i) => ({
    name: sources.length > 1 ? `${stem}-${i + 1}` : stem,
    source,
    // A fixture says on which Mermaid majors it draws right.
    rightOn: text.match(/<!-- draws right on: ([^>]*) -->/)?.[1].trim().split(/[\s,]+/),
  }));
}

function files(paths) {
  return paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => /\.(snap|md)$/.test(f))
          .sort()
          .map((f) => join(path, f))
      : [path],
  );
}

const versions = readdirSync(join(here, "node_modules"))
  .filter((d) => /^mermaid-\d+$/.test(d))
  .map((d) => ({
    dir: join(here, "node_modules", d),
    version: JSON.parse(readFileSync(join(here, "node_modules", d, "package.json"), "utf8")).version,
  }))
  .sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
const charts = files(args).flatMap(chartsIn);
const selfTest = fixtures ? files([fixtures]).flatMap(chartsIn) : [];
const kinds = new Set(charts.map((c) => kindOf(c.source)));
const missing = ["gantt", "pie", "xychart"].filter((k) => !kinds.has(k));
if (versions.length === 0 || missing.length > 0) {
  console.error(versions.length === 0 ? "no Mermaid installed next to draw.mjs" : `no ${missing} chart found`);
  process.exit(1);
}

const profile = mkdtempSync(join(tmpdir(), "mermaid-draw-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // Debian's Chromium on a machine with a closed network: no sandbox as
  // root, and no calls home that would be refused.
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1000, height: 800 },
  timezoneId: "UTC",
  deviceScaleFactor: 1,
});

const failures = [];
for (const { dir, version } of versions) {
  const major = version.split(".")[0];
  // Only this run's pictures: none left from charts that are gone.
  rmSync(join(out, version), { recursive: true, force: true });
  const page = await browser.newPage();
  // GitHub draws a chart the width of the text column.
  await page.setContent(
    '<!doctype html><html><body style="margin:0;background:#fff"><div id="chart" style="width:800px;padding:8px;background:#fff"></div></body></html>',
  );
  await page.addScriptTag({ path: join(dir, "dist", "mermaid.min.js") });
  await page.addScriptTag({ path: join(here, "measure.js") });
  let n = 0;
  const draw = async (chart, folder) => {
    n += 1;
    const measured = await page.evaluate(([id, source]) => window.drawAndMeasure(id, source), [`chart${n}`, chart.source]);
    mkdirSync(folder, { recursive: true });
    if (!measured.error) await page.locator("#chart").screenshot({ path: join(folder, `${chart.name}.png`) });
    return judge(chart.source, measured);
  };

  for (const chart of selfTest) {
    const { problems, fills } = await draw(chart, join(out, version, "self-test"));
    problems.push(...judgeColours({ [chart.name]: fills }));
    const right = problems.length === 0;
    const expected = chart.rightOn.includes(major);
    const verdict = right ? "passes" : `fails (${problems[0]})`;
    console.log(`self-test ${chart.name} on ${version}: ${verdict}${right === expected ? "" : ", which it must not"}`);
    if (right !== expected) failures.push(`the checker misjudged ${chart.name} on Mermaid ${version}`);
  }

  const fills = {};
  let right = 0;
  for (const chart of charts) {
    const judged = await draw(chart, join(out, version));
    fills[chart.name] = judged.fills;
    if (judged.problems.length === 0) right += 1;
    const [first, ...more] = judged.problems;
    if (first) failures.push(`Mermaid ${version}, ${chart.name}: ${first}${more.length ? ` (and ${more.length} more)` : ""}`);
  }
  for (const problem of judgeColours(fills)) failures.push(`Mermaid ${version}: ${problem}`);
  console.log(`Mermaid ${version}: ${right} of ${charts.length} charts drawn right (PNGs in ${join(out, version)})`);
  await page.close();
}
await browser.close();
rmSync(profile, { recursive: true, force: true });

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  console.error(`\n${failures.length} problems:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log(`Every chart draws right on Mermaid ${versions.map((v) => v.version).join(", ")} (${seconds} s)`);
