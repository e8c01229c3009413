import { isAbsolute, resolve } from "node:path";
import { ConfigError, formatIssues, readConfigFile } from "@bms/shared";
import type { DeviceConfig } from "@bms/shared/config/edge-agent-config";
import { DeviceProfile } from "@bms/shared/device-profile";

/** The profile files of the devices: the register profile they are read with, and a SunSpec device's diagnostics profile. */
export interface LoadedProfiles {
  /** packId → its register profile (`profile: { file }`). */
  profiles: Map<string, DeviceProfile>;
  /** packId → its diagnostics profile (`diagnostics: { file }`, SunSpec devices). */
  diagnostics: Map<string, DeviceProfile>;
}

/**
 * Loads the profile files the devices name (`profile: { file }`, `diagnostics: { file }`), relative
 * to `baseDir` (the config file's directory), each file once. Every problem of every file is one
 * line of one ConfigError, named by the device's field: `devices.2.profile.file (vendor.yaml): points.3.type: ...`.
 */
export function loadProfileFiles(devices: readonly DeviceConfig[], baseDir: string, source = "config"): LoadedProfiles {
  const loaded: LoadedProfiles = { profiles: new Map(), diagnostics: new Map() };
  const problems: string[] = [];
  const byFile = new Map<string, DeviceProfile | null>();
  const load = (given: string, where: string): DeviceProfile | null => {
    const file = isAbsolute(given) ? given : resolve(baseDir, given);
    if (!byFile.has(file)) {
      try {
        const parsed = DeviceProfile.safeParse(readConfigFile(file), { reportInput: true });
        if (parsed.success) byFile.set(file, parsed.data);
        else {
          byFile.set(file, null);
          for (const line of formatIssues(parsed.error.issues)) problems.push(`${where}: ${line}`);
        }
      } catch (err) {
        byFile.set(file, null);
        const lines = err instanceof ConfigError ? err.problems : [(err as Error).message];
        for (const line of lines) problems.push(`${where}: ${line}`);
      }
    }
    return byFile.get(file) ?? null;
  };
  devices.forEach((device, i) => {
    if (typeof device.profile !== "string") {
      const profile = load(device.profile.file, `devices.${i}.profile.file (${device.profile.file})`);
      if (profile) loaded.profiles.set(device.packId, profile);
    }
    if (device.diagnostics) {
      const profile = load(device.diagnostics.file, `devices.${i}.diagnostics.file (${device.diagnostics.file})`);
      if (profile) loaded.diagnostics.set(device.packId, profile);
    }
  });
  if (problems.length > 0) throw new ConfigError(source, problems);
  return loaded;
}

/** The register profiles alone (`profile: { file }`), packId → profile. */
export function loadDeviceProfiles(devices: readonly DeviceConfig[], baseDir: string, source = "config"): Map<string, DeviceProfile> {
  return loadProfileFiles(devices, baseDir, source).profiles;
}
