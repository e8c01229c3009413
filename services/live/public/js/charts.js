// Charts on uPlot (a chart library made for time series), served from node_modules by the live service.

import uPlot from "/vendor/uplot/uPlot.esm.js";
import { el, h } from "./dom.js";

export const COLORS = {
  soc: "#2f6fdb",
  voltage: "#7048c8",
  current: "#0f8a6a",
  min: "#1f77b4",
  max: "#d1492e",
  weak: "#d1492e",
  cell: "#6b8fd6",
  trigger: "#a32118",
};

const roomFor = (node) => Math.max(260, Math.floor(node.getBoundingClientRect().width || node.clientWidth || 600));

/**
 * Keeps a chart as wide as its own figure (the page is used from 420 px phones to wide screens):
 * the figure, not the grid of charts around it, which holds two charts side by side when wide.
 */
function fitWidth(plot, figure, height) {
  const observer = new ResizeObserver(() => plot.setSize({ width: roomFor(figure), height }));
  observer.observe(figure);
  return () => observer.disconnect();
}

/**
 * A time-series chart: `series` are { label, color, digits, dash? } and share one y axis (`unit`).
 * `markers`: vertical lines { ts, label } (a freeze frame's trigger). Returns { setData(ts[], ...columns), destroy }.
 */
export function timeChart(box, { title, unit, series, height = 180, sync = "pack", markers = [] }) {
  const summary = el("figcaption", null, "chart-summary");
  const plotBox = h("div", { class: "chart", role: "img", "aria-label": `${title} (${unit}) over time` });
  const figure = h("figure", { class: "chart-figure", dataset: { chart: title } }, h("div", { class: "chart-title" }, `${title} (${unit})`), plotBox, summary);
  box.append(figure);
  const opts = {
    width: roomFor(figure),
    height,
    ms: 1,
    cursor: { sync: { key: sync }, drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true } },
    series: [
      { label: "time" },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 1.5,
        dash: s.dash,
        spanGaps: false,
        value: (_u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(s.digits ?? 2)} ${unit}`),
      })),
    ],
    axes: [{}, { size: 56, values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(3)}`) }],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          for (const m of markers) {
            const x = Math.round(u.valToPos(m.ts, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.save();
            ctx.strokeStyle = COLORS.trigger;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillStyle = COLORS.trigger;
            ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
            ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
            ctx.restore();
          }
        },
      ],
    },
  };
  const empty = [[], ...series.map(() => [])];
  const plot = new uPlot(opts, empty, plotBox);
  const stopFit = fitWidth(plot, figure, height);
  let data = empty;
  const describe = () => {
    const n = data[0].length;
    if (n === 0) return "No data in this range.";
    const parts = series.map((s, i) => {
      const values = data[i + 1].filter((v) => typeof v === "number");
      if (values.length === 0) return `${s.label}: no values`;
      return `${s.label} ${Math.min(...values).toFixed(s.digits ?? 2)}–${Math.max(...values).toFixed(s.digits ?? 2)} ${unit}`;
    });
    return `${n} points. ${parts.join("; ")}.`;
  };
  return {
    plot,
    figure,
    setData(columns) {
      data = columns;
      plot.setData(columns);
      summary.textContent = describe();
      figure.dataset.points = String(columns[0].length);
    },
    destroy() {
      stopFit();
      plot.destroy();
      figure.remove();
    },
  };
}

/**
 * One bar per cell or sensor, numbered from 1 as on the device label; the bar at `markIndex` (the
 * weak cell, the case's sensor) in its own colour and named in the legend.
 */
export function barChart(box, { title, unit, values, markIndex, markLabel, digits = 3, height = 200, prefix = "" }) {
  const plotBox = h("div", { class: "chart", role: "img", "aria-label": `${title}, ${values.length} bars` });
  const figure = h("figure", { class: "chart-figure", dataset: { chart: title } }, h("div", { class: "chart-title" }, `${title} (${unit})`), plotBox);
  box.append(figure);
  const xs = values.map((_, i) => i + 1);
  const marked = values.map((v, i) => (i === markIndex ? v : null));
  const rest = values.map((v, i) => (i === markIndex ? null : v));
  const finite = values.filter((v) => Number.isFinite(v));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = Math.max((hi - lo) * 0.4, hi * 0.002, 0.01);
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  const fmt = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(digits)} ${unit}`);
  const plot = new uPlot(
    {
      width: roomFor(figure),
      height,
      scales: { x: { time: false, range: [0.4, values.length + 0.6] }, y: { range: [lo - pad, hi + pad] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: prefix || "#", value: (_u, v) => (v === null || v === undefined ? "–" : `${prefix}${v}`) },
        { label: title, fill: COLORS.cell, stroke: COLORS.cell, paths: bars, points: { show: false }, value: (_u, v) => fmt(v) },
        { label: markLabel || "marked", fill: COLORS.weak, stroke: COLORS.weak, paths: bars, points: { show: false }, value: (_u, v) => fmt(v) },
      ],
      axes: [
        { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? `${prefix}${t}` : "")), space: 24 },
        { size: 56, values: (_u, ticks) => ticks.map((t) => t.toFixed(digits)) },
      ],
    },
    [xs, rest, marked],
    plotBox,
  );
  const stopFit = fitWidth(plot, figure, height);
  return {
    plot,
    figure,
    destroy() {
      stopFit();
      plot.destroy();
      figure.remove();
    },
  };
}
