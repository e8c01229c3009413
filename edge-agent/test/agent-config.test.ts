import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configProblems } from "../../test/support/config-problems";
import { makeTempDir } from "../../test/support/temp-dir";
import { loadEdgeAgentConfig } from "../src/agent-config";

const dir = makeTempDir("bms-agent-config-");
afterAll(() => dir.remove());

describe("agent config", () => {
  it("loads the documented example, with defaults filled in and DATA_DIR / MQTT_URL applied", () => {
    const config = loadEdgeAgentConfig(join(import.meta.dirname, "..", "examples", "site.yaml"), { DATA_DIR: "/var/lib/bms", MQTT_URL: "mqtt://broker:1883" });
    expect(config.siteId).toBe("site-demo");
    expect(config.dataDir).toBe("/var/lib/bms");
    expect(config.mqtt.url).toBe("mqtt://broker:1883");
    expect(config.devices.map((d) => [d.packId, d.transport, d.timeoutMs, d.profile])).toEqual([
      ["pack-1", expect.objectContaining({ kind: "modbus-tcp", port: 5020, unitId: 1 }), 1000, "sunspec"],
      ["pack-2", expect.objectContaining({ kind: "modbus-tcp", port: 5020, unitId: 2 }), 1000, "sunspec"],
    ]);
  });

  it("rejects duplicate packs, an inverted backoff and hostile values, one line each", () => {
    const file = join(dir.path, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        siteId: "s1",
        retryMinMs: 5000,
        retryMaxMs: 1000,
        devices: [
          { packId: "p1", transport: { kind: "modbus-tcp", host: "h", unitId: 999 } },
          { packId: "p1", transport: { kind: "modbus-ascii", host: "h" } },
          { packId: "p2", transport: { kind: "modbus-tcp", host: "h" }, timeoutMs: 1e9, chemistry: "lead" },
        ],
      }),
    );
    const lines = configProblems(() => loadEdgeAgentConfig(file, {}));
    expect(lines.some((l) => l.startsWith("devices.0.transport.unitId:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("devices.1.transport.kind:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("devices.2.timeoutMs:"))).toBe(true);
    expect(lines.some((l) => l.startsWith("devices.2.chemistry:"))).toBe(true);
  });

  it("reports refinements once the fields themselves are valid", () => {
    const file = join(dir.path, "refine.json");
    writeFileSync(
      file,
      JSON.stringify({
        siteId: "s1",
        retryMinMs: 5000,
        retryMaxMs: 1000,
        devices: [
          { packId: "p1", transport: { kind: "modbus-tcp", host: "h" } },
          { packId: "p1", transport: { kind: "modbus-tcp", host: "h", unitId: 2 } },
        ],
      }),
    );
    const lines = configProblems(() => loadEdgeAgentConfig(file, {}));
    expect(lines.some((l) => l.startsWith("devices: packIds must be unique"))).toBe(true);
    expect(lines.some((l) => l.startsWith("retryMaxMs: must be at least retryMinMs"))).toBe(true);
  });
});
