// A pack's cells and sensors: the voltage of each cell as a bar (the weak one marked), the
// temperature of each sensor as a strip, with lowest, highest and spread. Numbered from 1.

import { barChart } from "./charts.js";
import { el, h } from "./dom.js";
import { fixed } from "./format.js";
import { levelled, levelOf, notice } from "./widgets.js";

/** Lowest, highest (with their positions from 0), spread and mean. */
export function cellStats(values) {
  if (!values?.length) return null;
  let lo = 0;
  let hi = 0;
  values.forEach((v, i) => {
    if (v < values[lo]) lo = i;
    if (v > values[hi]) hi = i;
  });
  return { lo, hi, min: values[lo], max: values[hi], spread: values[hi] - values[lo], mean: values.reduce((a, b) => a + b, 0) / values.length };
}

/**
 * Draws `sample`'s cells and sensors into `box`. `mark`: { kind: "cell" | "sensor", index } to
 * mark instead of the weakest cell (a case's cell or sensor).
 */
export function drawCells(box, sample, limits, mark = null) {
  for (const figure of box.querySelectorAll("figure")) figure._destroy?.();
  box.replaceChildren();
  if (!sample) {
    box.append(notice("No sample yet."));
    return;
  }
  const cells = sample.cellVoltages || [];
  const temps = sample.cellTemperatures || [];
  const cs = cellStats(cells);
  if (cs) {
    const markIndex = mark?.kind === "cell" ? mark.index : cs.lo;
    const markLabel = mark?.kind === "cell" ? `Cell ${mark.index + 1} (the case's)` : `Weakest: cell ${cs.lo + 1}`;
    box.append(
      h(
        "p",
        { class: "stats", dataset: { cells: String(cells.length) } },
        `${cells.length} cells · lowest `,
        levelled(`cell ${cs.lo + 1} at ${fixed(cs.min, 3)} V`, levelOf(cs.min, limits["cell-voltage-min"]), "strong"),
        " · highest ",
        levelled(`cell ${cs.hi + 1} at ${fixed(cs.max, 3)} V`, levelOf(cs.max, limits["cell-voltage-max"]), "strong"),
        ` · spread ${fixed(cs.spread * 1000, 0)} mV · mean ${fixed(cs.mean, 3)} V`,
      ),
    );
    const chartBox = el("div", null, "chart-box");
    box.append(chartBox);
    const chart = barChart(chartBox, { title: "Cell voltages", unit: "V", values: cells, markIndex, markLabel, digits: 3, prefix: "C" });
    chart.figure._destroy = chart.destroy;
    chart.figure.dataset.marked = String(markIndex + 1);
  } else {
    box.append(notice("This BMS reports no cell voltages (a CAN BMS sends pack values only)."));
  }
  const ts = cellStats(temps);
  if (ts) {
    const hot = mark?.kind === "sensor" ? mark.index : ts.hi;
    box.append(
      h(
        "p",
        { class: "stats" },
        `${temps.length} sensors · lowest sensor ${ts.lo + 1} at ${fixed(ts.min, 1)} °C · highest `,
        levelled(`sensor ${ts.hi + 1} at ${fixed(ts.max, 1)} °C`, levelOf(ts.max, limits["temperature-max"]), "strong"),
        ` · spread ${fixed(ts.spread, 1)} °C`,
      ),
      h(
        "ol",
        { class: "strip", "aria-label": "Temperature of each sensor" },
        temps.map((t, i) => {
          const level = levelOf(t, limits["temperature-max"]) || levelOf(t, limits["temperature-min"]);
          return h(
            "li",
            { class: `tile ${level} ${i === hot ? "marked" : ""}`, dataset: { sensor: String(i + 1) } },
            el("span", `T${i + 1}`, "tile-name"),
            levelled(`${fixed(t, 1)} °C`, level),
            i === hot ? el("span", mark?.kind === "sensor" ? "the case's" : "hottest", "tile-note") : null,
          );
        }),
      ),
    );
  }
}
