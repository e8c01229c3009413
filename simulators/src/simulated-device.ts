import type { LinkCondition } from "./link-condition";
import type { PackSnapshot } from "./model/pack-snapshot";

export type { LinkCondition } from "./link-condition";

/**
 * The seam between the simulated packs and the protocol servers: a server (SunSpec TCP, vendor
 * profile TCP, Modbus RTU, SLCAN CAN) serves a list of SimulatedDevices and knows nothing of
 * physics; the model, scenario runner, fleet and replay produce SimulatedDevices and know nothing
 * of registers or frames.
 */

/** What the common model and the ratings say about a pack; fixed for its life. */
export interface PackIdentity {
  unitId: number;
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  /** Warranty end, days since 2000-01-01. */
  warrantyDays: number;
  capacityAh: number;
  cellCount: number;
}

export interface SimulatedDevice {
  readonly unitId: number;
  readonly identity: PackIdentity;
  /** What the BMS reports now. */
  snapshot(): PackSnapshot;
  /** How its link behaves now. */
  link(): LinkCondition;
  /** A deterministic random draw in [0, 1) for link faults (the device's own seeded stream). */
  linkRandom(): number;
  /** Same as writing 1 to SunSpec 802 AlmRst: latched alarms clear once their condition has gone. */
  resetAlarms(): void;
}
