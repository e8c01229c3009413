import { join } from "node:path";
import { packageDir } from "@bms/shared";
import type { DeviceProfile } from "@bms/shared/device-profile";
import { loadDeviceProfile } from "./device-profile-file";
import { profileRegisterMap } from "./profile-register-map";
import type { RegisterMap } from "./register-map";
import { sunspecRegisterMap } from "./sunspec-register-map-adapter";

/** Which register map a Modbus server presents: SunSpec at 40000, or a vendor profile's map. */
export type ModbusMapSetting = "sunspec" | DeviceProfile;

/** The vendor registers every simulated SunSpec BMS serves beside its map (event log, counters, settings). */
export const SUNSPEC_DIAGNOSTICS_PROFILE = join(packageDir("@bms/simulators"), "profiles", "sunspec-diagnostics.yaml");

let sunspecDiagnostics: DeviceProfile | undefined;

export function registerMapFor(setting: ModbusMapSetting): RegisterMap {
  if (setting !== "sunspec") return profileRegisterMap(setting);
  sunspecDiagnostics ??= loadDeviceProfile(SUNSPEC_DIAGNOSTICS_PROFILE);
  return sunspecRegisterMap(undefined, sunspecDiagnostics);
}
