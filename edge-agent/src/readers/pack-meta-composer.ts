import type { PackMeta } from "@bms/shared";
import type { DeviceConfig } from "@bms/shared/config/edge-agent-config";
import type { PackIdentity } from "./device-reader";

const clip = (s: string | undefined) => (s ?? "").slice(0, 64);

/** What the device config adds to the meta. */
export type MetaDefaults = Partial<Pick<DeviceConfig, "chemistry" | "warrantyStart" | "warrantyEnd" | "cellCount" | "ratedCapacityAh" | "model" | "serial">>;

/**
 * The pack meta from what the BMS said and what the site config adds (not yet validated). The BMS
 * wins for identity it reports; the config gives chemistry, warranty start, and what the BMS leaves
 * out (CAN BMSes report little). A warranty end in the config overrides the BMS's.
 */
export function composePackMeta(identity: PackIdentity, device: MetaDefaults, ts: number): PackMeta {
  const warrantyEnd = device.warrantyEnd ?? identity.warrantyEnd;
  const text = (fromBms: string | undefined, fromConfig: string | undefined) => clip(fromBms !== undefined && fromBms !== "" ? fromBms : fromConfig);
  return {
    v: 1,
    ts,
    manufacturer: clip(identity.manufacturer),
    model: text(identity.model, device.model),
    serial: text(identity.serial, device.serial),
    bmsFirmware: clip(identity.bmsFirmware),
    // SunSpec 802 Typ only says "lithium-ion"; the exact chemistry comes from the site config.
    chemistry: device.chemistry ?? "other",
    cellCount: identity.cellCount || device.cellCount || 0,
    // PackMeta requires a number; 0 = "the BMS does not say".
    ratedCapacity: identity.ratedCapacity ?? device.ratedCapacityAh ?? 0,
    ...(device.warrantyStart ? { warrantyStart: device.warrantyStart } : {}),
    ...(warrantyEnd ? { warrantyEnd } : {}),
  };
}
