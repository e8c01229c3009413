import { isAbsolute, resolve } from "node:path";
import { ConfigError, formatIssues, readConfigFile } from "@bms/shared";
import type { DeviceConfig } from "@bms/shared/config/edge-agent-config";
import { DeviceProfile } from "@bms/shared/device-profile";

/**
 * Loads the register profile files the devices name (`profile: { file }`), relative to `baseDir`
 * (the config file's directory). Every problem of every file is one line of one ConfigError, named
 * by the device's field: `devices.2.profile.file (vendor.yaml): points.3.type: ...`.
 */
export function loadDeviceProfiles(devices: readonly DeviceConfig[], baseDir: string, source = "config"): Map<string, DeviceProfile> {
  const profiles = new Map<string, DeviceProfile>();
  const problems: string[] = [];
  const byFile = new Map<string, DeviceProfile | null>();
  devices.forEach((device, i) => {
    const setting = device.profile;
    if (typeof setting === "string") return;
    const file = isAbsolute(setting.file) ? setting.file : resolve(baseDir, setting.file);
    const where = `devices.${i}.profile.file (${setting.file})`;
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
    const profile = byFile.get(file);
    if (profile) profiles.set(device.packId, profile);
  });
  if (problems.length > 0) throw new ConfigError(source, problems);
  return profiles;
}
