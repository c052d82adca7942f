// Runs in the page, next to mermaid.min.js: draws one chart and measures
// what a reader would see, in the page's own coordinates (so rotations,
// transforms and scaling are already applied). draw.mjs judges the numbers.
"use strict";

window.drawAndMeasure = async function (id, source) {
  const holder = document.getElementById("chart");
  holder.innerHTML = "";
  mermaid.initialize({ startOnLoad: false });
  try {
    const { svg } = await mermaid.render(id, source);
    holder.innerHTML = svg;
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
  const root = holder.querySelector("svg");
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height };
  };
  const fill = (element) => getComputedStyle(element).fill;
  const text = (element, role, extra) => ({
    role,
    text: element.textContent,
    box: box(element),
    ...extra,
  });
  const kind = root.getAttribute("aria-roledescription") || "";
  const measured = { kind, svg: box(root) };
  // Mermaid 11 and later prefix element ids with the chart's id.
  const bare = (elementId) => (elementId || "").replace(`${id}-`, "");
  if (kind === "gantt") {
    measured.tasks = [...root.querySelectorAll("rect.task")].map((r) => ({
      id: bare(r.id),
      classes: r.getAttribute("class"),
      milestone: r.classList.contains("milestone"),
      box: box(r),
      fill: fill(r),
    }));
    measured.texts = [
      ...[...root.querySelectorAll("text[id$='-text']")].map((t) =>
        text(t, "task", { task: bare(t.id).replace(/-text$/, "") }),
      ),
      ...[...root.querySelectorAll("text.sectionTitle")].map((t) => text(t, "section")),
      ...[...root.querySelectorAll("g.tick text")].map((t) => text(t, "tick")),
      ...[...root.querySelectorAll("text.titleText")].map((t) => text(t, "title")),
    ];
    measured.ticks = [...root.querySelectorAll("g.tick")].map((g) => ({
      x: box(g.querySelector("line")).x,
      label: g.querySelector("text")?.textContent ?? "",
    }));
  } else if (kind === "pie") {
    measured.slices = [...root.querySelectorAll("path.pieCircle")].map((p) => ({ fill: fill(p) }));
    measured.legend = [...root.querySelectorAll("g.legend")].map((g) => ({
      fill: fill(g.querySelector("rect")),
      ...text(g.querySelector("text"), "legend"),
    }));
    measured.texts = [
      ...measured.legend.map(({ role, text, box }) => ({ role, text, box })),
      ...[...root.querySelectorAll("text.slice")].map((t) => text(t, "slice")),
      ...[...root.querySelectorAll("text.pieTitleText")].map((t) => text(t, "title")),
    ];
  } else if (kind === "xychart") {
    measured.plots = [...root.querySelectorAll("g[class^='bar-plot-']")].map((g) =>
      [...g.querySelectorAll("rect")].map((r) => ({ box: box(r), fill: fill(r) })),
    );
    const axis = (side) => [...root.querySelectorAll(`g.${side}-axis g.label text`)].map((t) => text(t, side));
    measured.texts = [
      ...axis("bottom"),
      ...axis("left"),
      ...axis("top"),
      ...[...root.querySelectorAll("g.chart-title text")].map((t) => text(t, "title")),
    ];
  }
  return measured;
};
