import type { ProfileArrayField, ProfileScalarField } from "@bms/shared/device-profile";
import type { PackSnapshot } from "../pack-model";
import type { PackIdentity } from "../simulated-device";
import { insulationResistanceOf, optionalNumberOf } from "./pack-topology";

/** LFP per-cell voltage limits (docs/protocols.md §5), for snapshots that carry none of their own. */
const FALLBACK_CHARGE_CELL_V = 3.45;
const FALLBACK_DISCHARGE_CELL_V = 2.9;

/** What a non-SunSpec BMS publishes, in pack-sample units (V, A + charging, °C, %, Ah, kΩ). */
export interface PackSampleFields {
  scalars: Record<ProfileScalarField, number | undefined>;
  arrays: Record<ProfileArrayField, readonly number[]>;
  /** Pack charge / discharge voltage limits, V (CAN 0x351 too). */
  chargeVoltageLimit: number;
  dischargeVoltageLimit: number;
}

/**
 * The pack-sample view of a snapshot. Remaining capacity is rated Ah × SOC; the voltage limits are
 * the snapshot's own when it has them, else the LFP cell limits × cells in series.
 */
export function packSampleFieldsOf(snapshot: PackSnapshot, identity: PackIdentity, cellsInSeries = snapshot.cellVoltages.length): PackSampleFields {
  const chargeVoltageLimit = optionalNumberOf(snapshot, "chargeVoltageLimit") ?? FALLBACK_CHARGE_CELL_V * cellsInSeries;
  const dischargeVoltageLimit = optionalNumberOf(snapshot, "dischargeVoltageLimit") ?? FALLBACK_DISCHARGE_CELL_V * cellsInSeries;
  return {
    scalars: {
      packVoltage: snapshot.packVoltage,
      current: snapshot.current,
      soc: snapshot.soc,
      soh: snapshot.soh,
      remainingCapacity: optionalNumberOf(snapshot, "remainingCapacityAh") ?? (identity.capacityAh * snapshot.soc) / 100,
      cycleCount: snapshot.cycles,
      chargeCurrentLimit: snapshot.chargeCurrentLimit,
      dischargeCurrentLimit: snapshot.dischargeCurrentLimit,
      chargeVoltageLimit,
      dischargeVoltageLimit,
      insulationResistance: insulationResistanceOf(snapshot),
      bmsAlarms: snapshot.evt1,
    },
    arrays: { cellVoltages: snapshot.cellVoltages, cellTemperatures: snapshot.cellTemperatures },
    chargeVoltageLimit,
    dischargeVoltageLimit,
  };
}
