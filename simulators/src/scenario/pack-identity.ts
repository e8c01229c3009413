import { warrantyDaysOf } from "@bms/shared/sunspec/register-codec";
import type { PackIdentity } from "../simulated-device";

/**
 * The nameplate of a simulated pack, drawn from its seed so it repeats: manufacturer, model,
 * firmware, a serial unique per seed and unit, and a warranty end ten years after a
 * commissioning date in 2022–2024. (A fixed calendar date, not a clock read.)
 */
export function packIdentity(unitId: number, packSeed: number, cellCount: number, capacityAh: number, chemistry = "LFP"): PackIdentity {
  const warrantyEnd = Date.UTC(2032 + (packSeed % 3), packSeed % 12, 1 + (packSeed % 28));
  return {
    unitId,
    manufacturer: "SimBattery",
    model: `SIM-${chemistry}-${cellCount}S-${capacityAh}`,
    firmware: "1.4.2",
    serial: `SIM${packSeed.toString(16).toUpperCase().padStart(8, "0")}-${String(unitId).padStart(3, "0")}`,
    warrantyDays: warrantyDaysOf(warrantyEnd),
    capacityAh,
    cellCount,
  };
}
