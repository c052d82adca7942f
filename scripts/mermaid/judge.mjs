// Judges what measure.js measured of a drawn chart against the chart's own
// source: a list of problems, empty when the picture is right. Pure
// functions, so the checker's own test (draw.mjs --self-test) exercises the
// same code as the real check.

/** Leeway, in pixels, for positions and sizes read off the drawing. */
const PX = 2;

/** The colour a reader expects for each state word, by hue and lightness. */
const STATE_COLOURS = {
  healthy: (c) => hue(c, 90, 160),
  deploying: (c) => hue(c, 195, 235),
  degraded: (c) => hue(c, 30, 50),
  failed: (c) => hue(c, 345, 360) || hue(c, 0, 10),
  suspended: (c) => saturation(c) < 0.15 && lightness(c) < 0.75,
  unknown: (c) => lightness(c) > 0.9,
};

/** The Mermaid source without front matter and init directives. */
export function body(source) {
  return source.replace(/^---\n[\s\S]*?\n---\n/, "").replace(/^\s*%%\{[\s\S]*?\}%%\s*\n/gm, "");
}

/** The kind of chart a source declares. */
export function kindOf(source) {
  const first = body(source).trimStart().split(/\s/)[0];
  return { gantt: "gantt", pie: "pie", "xychart-beta": "xychart", xychart: "xychart" }[first] ?? first;
}

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A gantt chart's settings and tasks, times in milliseconds. */
export function parseGantt(source) {
  const chart = { dateFormat: "", axisFormat: "%Y-%m-%d", tasks: [] };
  for (const raw of body(source).split("\n").slice(1)) {
    const line = raw.trim();
    const keyword = line.match(/^(dateFormat|axisFormat|tickInterval|title|section|todayMarker)\s+(.*)$/);
    if (keyword) {
      chart[keyword[1]] = keyword[2];
      continue;
    }
    const colon = line.indexOf(":");
    if (!line || colon < 0) continue;
    const parts = line.slice(colon + 1).split(",").map((p) => p.trim());
    const tags = [];
    while (["active", "done", "crit", "milestone"].includes(parts[0])) tags.push(parts.shift());
    const [id, start, length] = parts.length >= 3 ? parts : [undefined, ...parts];
    const unit = length.match(/^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/);
    const at = Number(start) * (chart.dateFormat === "X" ? 1000 : 1);
    chart.tasks.push({
      name: line.slice(0, colon).trim(),
      id,
      tags,
      start: at,
      end: at + (unit ? Number(unit[1]) * UNITS[unit[2]] : NaN),
    });
  }
  return chart;
}

/** d3's time formats, as Mermaid's axis uses them, in local time. */
export function strftime(format, date) {
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const fields = {
    Y: () => String(date.getFullYear()),
    y: () => pad(date.getFullYear() % 100),
    m: () => pad(date.getMonth() + 1),
    d: () => pad(date.getDate()),
    e: () => String(date.getDate()).padStart(2, " "),
    b: () => months[date.getMonth()],
    H: () => pad(date.getHours()),
    M: () => pad(date.getMinutes()),
    S: () => pad(date.getSeconds()),
    L: () => pad(date.getMilliseconds(), 3),
    "%": () => "%",
  };
  return format.replace(/%([a-zA-Z%])/g, (all, f) => (fields[f] ? fields[f]() : all));
}

/** Problems of a gantt chart's drawing, and the fill of each state word. */
export function judgeGantt(source, measured) {
  const chart = parseGantt(source);
  const problems = [];
  const drawn = new Map(measured.tasks.map((t) => [t.id, t]));
  const points = [];
  for (const task of chart.tasks) {
    const rect = drawn.get(task.id);
    if (!rect) {
      problems.push(`task ${task.id} (${task.name}) is not drawn`);
      continue;
    }
    if (rect.milestone) {
      points.push([task.start, rect.box.x + rect.box.w / 2, task]);
    } else {
      if (!(rect.box.w > 0)) problems.push(`task ${task.id} (${task.name}) is drawn empty`);
      points.push([task.start, rect.box.x, task], [task.end, rect.box.x + rect.box.w, task]);
    }
  }
  const fit = line(points.map(([t, x]) => [t, x]));
  if (!fit || !(fit.slope > 0)) {
    problems.push("the bars do not spread along the time axis");
  } else {
    for (const [t, x, task] of points) {
      const off = x - fit.at(t);
      if (Math.abs(off) > PX) {
        problems.push(
          `task ${task.id} (${task.name}) is ${off.toFixed(0)} px from where its times put it: bars do not follow one another along the axis`,
        );
      }
    }
    problems.push(...judgeTicks(chart, measured.ticks, fit));
  }
  problems.push(...overlaps(measured.texts.filter((t) => t.role !== "task" || visible(t.text))));
  problems.push(...textsOnBars(measured));
  problems.push(...outside(measured));
  const fills = {};
  for (const rect of measured.tasks) {
    const state = stateWord(rect.id);
    if (state) fills[state] = rect.fill;
  }
  return { problems, fills };
}

/** Each tick's label must be the time at its place on the axis. */
function judgeTicks(chart, ticks, fit) {
  const problems = [];
  const labels = ticks.map((t) => t.label);
  if (ticks.length < 2) problems.push(`the axis has ${ticks.length} tick labels`);
  const repeated = labels.filter((l, i) => labels.indexOf(l) !== i);
  if (repeated.length > 0) problems.push(`tick labels repeat: ${[...new Set(repeated)].join(", ")}`);
  // The time at a tick is known to within PX + 1 pixels: its label must
  // be the time of some instant that close.
  const leeway = (PX + 1) / fit.slope;
  for (const tick of ticks) {
    const t = fit.time(tick.x);
    const near = Array.from({ length: 401 }, (_, i) => t - leeway + (i * leeway) / 200);
    if (!near.some((x) => strftime(chart.axisFormat, new Date(x)) === tick.label)) {
      const there = strftime(chart.axisFormat, new Date(t));
      problems.push(
        `the tick labelled ${JSON.stringify(tick.label)} stands where the axis is ${JSON.stringify(there)} (${new Date(t).toISOString()}): the axis does not span the chart's window`,
      );
    }
  }
  return problems;
}

/** A task label outside its bar must not cover another bar. */
function textsOnBars(measured) {
  const problems = [];
  for (const label of measured.texts) {
    if (!["task", "section"].includes(label.role) || !visible(label.text)) continue;
    for (const rect of measured.tasks) {
      if (rect.id !== label.task && intersect(label.box, rect.box)) {
        problems.push(`the label ${JSON.stringify(label.text)} covers the bar ${rect.id}`);
      }
    }
  }
  return problems;
}

/** Problems of a pie chart's drawing, and the fill of each state word. */
export function judgePie(source, measured) {
  const problems = [];
  const slices = [...body(source).matchAll(/^\s*"([^"]*)"\s*:\s*([\d.]+)\s*$/gm)].map((m) => ({
    name: m[1],
    value: Number(m[2]),
  }));
  const total = slices.reduce((sum, s) => sum + s.value, 0);
  if (measured.legend.length !== slices.length) {
    problems.push(`${slices.length} slices in the source, ${measured.legend.length} in the legend`);
  }
  const fills = {};
  for (const slice of slices) {
    // Mermaid 10 orders the legend by size, later versions as written.
    const entry = measured.legend.find((e) => e.text.replace(/ \[[\d.]+\]$/, "") === slice.name);
    if (!entry) {
      problems.push(`the legend has no entry for ${slice.name}`);
      continue;
    }
    const state = stateWord(slice.name);
    if (state) fills[state] = entry.fill;
    const shown = Math.round((100 * slice.value) / total) > 0;
    if (shown && !measured.slices.some((s) => s.fill === entry.fill)) {
      problems.push(`no slice has the legend's colour for ${slice.name}`);
    }
  }
  problems.push(...overlaps(measured.texts), ...outside(measured));
  return { problems, fills };
}

/** Problems of a bar chart's drawing. */
export function judgeXy(source, measured) {
  const problems = [];
  const text = body(source);
  const categories = [...(text.match(/x-axis[^[]*\[(.*)\]/)?.[1] ?? "").matchAll(/"([^"]*)"|([^,\s][^,]*)/g)].map(
    (m) => (m[1] ?? m[2]).trim(),
  );
  const series = [...text.matchAll(/^\s*bar\s*\[(.*)\]\s*$/gm)].map((m) => m[1].split(",").map(Number));
  if (measured.plots.length !== series.length) {
    problems.push(`${series.length} bar series in the source, ${measured.plots.length} drawn`);
  }
  // A bar's length is its height, or its width in a horizontal chart,
  // whose labels are on the left.
  const horizontal = /^xychart(-beta)?\s+horizontal/m.test(text);
  const length = horizontal ? (b) => b.box.w : (b) => b.box.h;
  const points = [];
  series.forEach((values, s) => {
    const bars = measured.plots[s] ?? [];
    if (bars.length !== values.length) problems.push(`series ${s + 1}: ${values.length} values, ${bars.length} bars`);
    values.forEach((v, i) => bars[i] && points.push([v, length(bars[i])]));
  });
  // Equal values must give equal bars; others a bar length per value.
  const fit = line(points);
  const alike = points.every(([v, h]) => v === points[0][0] && Math.abs(h - points[0][1]) <= PX);
  if (!alike && !(fit?.slope > 0)) problems.push("bar lengths do not follow their values");
  for (const [v, h] of alike || !fit ? [] : points) {
    if (Math.abs(h - fit.at(v)) > PX) problems.push(`a bar of ${v} is ${h.toFixed(0)} px long, off the scale`);
  }
  const side = horizontal ? "left" : "bottom";
  const labels = measured.texts.filter((t) => t.role === side).map((t) => t.text);
  if (labels.join("\n") !== categories.join("\n")) {
    problems.push(`x-axis labels ${JSON.stringify(labels)} are not the source's ${JSON.stringify(categories)}`);
  }
  problems.push(...overlaps(measured.texts), ...outside(measured));
  return { problems, fills: {} };
}

/** Every pair of labels that overlap. */
function overlaps(texts) {
  const problems = [];
  const shown = texts.filter((t) => visible(t.text) && t.box.w > 0);
  for (let i = 0; i < shown.length; i += 1) {
    for (let j = i + 1; j < shown.length; j += 1) {
      if (intersect(shown[i].box, shown[j].box)) {
        problems.push(`labels overlap: ${JSON.stringify(shown[i].text)} and ${JSON.stringify(shown[j].text)}`);
      }
    }
  }
  return problems;
}

/** Labels cut off by the picture's edge (hidden ones have no size). */
function outside(measured) {
  const frame = measured.svg;
  return measured.texts
    .filter((t) => visible(t.text) && t.box.w > 0)
    .filter((t) => t.box.x < frame.x - PX || t.box.x + t.box.w > frame.x + frame.w + PX)
    .map((t) => `the label ${JSON.stringify(t.text)} is cut off by the picture's edge`);
}

/** The problems of one measured chart, by its kind. */
export function judge(source, measured) {
  if (measured.error) return { problems: [`Mermaid did not draw it: ${measured.error}`], fills: {} };
  const kind = kindOf(source);
  if (measured.kind !== kind) return { problems: [`drawn as ${measured.kind}, not ${kind}`], fills: {} };
  if (!(measured.svg.w > 0 && measured.svg.h > 0)) return { problems: ["the picture is empty"], fills: {} };
  return { gantt: judgeGantt, pie: judgePie, xychart: judgeXy }[kind](source, measured);
}

/**
 * One colour per state across every chart of a version, each the colour
 * a reader expects (failed red, degraded amber, …). `fills` maps a chart's
 * name to its state words' fills.
 */
export function judgeColours(fills) {
  const problems = [];
  const seen = {};
  for (const [chart, states] of Object.entries(fills)) {
    for (const [state, colour] of Object.entries(states)) {
      if (!STATE_COLOURS[state](colour)) problems.push(`${chart}: ${state} is drawn ${colour}`);
      (seen[state] ??= new Set()).add(colour);
    }
  }
  for (const [state, colours] of Object.entries(seen)) {
    if (colours.size > 1) problems.push(`${state} has ${colours.size} colours: ${[...colours].join(", ")}`);
  }
  return problems;
}

/** The state a task id or slice name stands for (`failed3` → failed). */
function stateWord(name) {
  const word = String(name).replace(/\d+$/, "");
  return Object.hasOwn(STATE_COLOURS, word) ? word : undefined;
}

function visible(text) {
  return text.replace(/[\s\u200b]/g, "").length > 0;
}

function intersect(a, b) {
  return a.x + 1 < b.x + b.w && b.x + 1 < a.x + a.w && a.y + 1 < b.y + b.h && b.y + 1 < a.y + a.h;
}

/** A least-squares line through (x, y) points, or null without two xs. */
function line(points) {
  if (points.length < 2) return null;
  const x0 = Math.min(...points.map(([x]) => x));
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + (x - x0), 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - x0 - mx) ** 2, 0);
  if (sxx === 0) return null;
  const slope = points.reduce((s, [x, y]) => s + (x - x0 - mx) * (y - my), 0) / sxx;
  const at = (x) => my + slope * (x - x0 - mx);
  return { slope, at, time: (y) => x0 + mx + (y - my) / slope };
}

function rgb(colour) {
  const [r, g, b] = (colour.match(/[\d.]+/g) ?? []).map(Number);
  return [r / 255, g / 255, b / 255];
}

function lightness(colour) {
  const c = rgb(colour);
  return (Math.max(...c) + Math.min(...c)) / 2;
}

function saturation(colour) {
  const c = rgb(colour);
  const [max, min] = [Math.max(...c), Math.min(...c)];
  const l = (max + min) / 2;
  return max === min ? 0 : (max - min) / (1 - Math.abs(2 * l - 1));
}

function hue(colour, from, to) {
  const [r, g, b] = rgb(colour);
  const [max, min] = [Math.max(r, g, b), Math.min(r, g, b)];
  if (max - min < 0.15) return false;
  const d = max - min;
  let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  h = (h * 60 + 360) % 360;
  return h >= from && h <= to;
}
