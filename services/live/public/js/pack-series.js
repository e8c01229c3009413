// The quantities the pack page's trends and a case's freeze frame chart, and a sample as one point
// of them (the fields of GET /api/packs/:site/:pack/history).

import { COLORS } from "./charts.js";

/** One chart a quantity, by name; each series names its field of a point. */
export const SERIES_CHARTS = {
  soc: { title: "State of charge", unit: "%", series: [{ label: "SOC", key: "soc", color: COLORS.soc, digits: 1 }] },
  voltage: { title: "Pack voltage", unit: "V", series: [{ label: "Voltage", key: "packVoltage", color: COLORS.voltage, digits: 2 }] },
  current: { title: "Current", unit: "A", series: [{ label: "Current (+ charging)", key: "current", color: COLORS.current, digits: 1 }] },
  temperatures: {
    title: "Temperatures",
    unit: "°C",
    series: [
      { label: "Lowest sensor", key: "temperatureMin", color: COLORS.min, digits: 1 },
      { label: "Highest sensor", key: "temperatureMax", color: COLORS.max, digits: 1 },
    ],
  },
  cells: {
    title: "Lowest and highest cell",
    unit: "V",
    series: [
      { label: "Lowest cell", key: "cellVoltageMin", color: COLORS.min, digits: 3 },
      { label: "Highest cell", key: "cellVoltageMax", color: COLORS.max, digits: 3 },
    ],
  },
};

/** A sample as a history point (the live feed's samples, a freeze frame's samples). */
export function pointOf(s) {
  const cells = s.cellVoltages || [];
  const temps = s.cellTemperatures || [];
  return {
    ts: s.ts,
    soc: s.soc,
    packVoltage: s.packVoltage,
    current: s.current,
    cellVoltageMin: cells.length ? Math.min(...cells) : null,
    cellVoltageMax: cells.length ? Math.max(...cells) : null,
    temperatureMin: temps.length ? Math.min(...temps) : null,
    temperatureMax: temps.length ? Math.max(...temps) : null,
  };
}
