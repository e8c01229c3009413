import { parseConfig, readConfigFile } from "@bms/shared";
import { DeviceProfile } from "@bms/shared/device-profile";

/**
 * Reads a YAML or JSON register profile and validates it; a missing file, a syntax error or a bad
 * field is a ConfigError naming each problem.
 */
export function loadDeviceProfile(path: string): DeviceProfile {
  return parseConfig(DeviceProfile, readConfigFile(path), path);
}
