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

describe("agent config: buses, profiles and TLS", () => {
  const write = (name: string, content: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
    return path;
  };
  const site = (devices: unknown[], extra: Record<string, unknown> = {}) => ({ siteId: "s1", ...extra, devices });

  it("loads the gateway example: RTU line, a profile relative to the config file, CAN", () => {
    const config = loadEdgeAgentConfig(join(import.meta.dirname, "..", "examples", "gateway.yaml"), {});
    expect(config.devices.map((d) => [d.packId, d.transport.kind, d.timeoutMs])).toEqual([
      ["rack-1", "modbus-rtu", 1000],
      ["rack-2", "modbus-rtu", 1000],
      ["rack-3", "modbus-rtu", 1000],
      ["vendor-1", "modbus-tcp", 1000],
      ["can-1", "can-slcan", 3000],
    ]);
    expect(config.devices[3]?.profile).toEqual({ file: join(import.meta.dirname, "..", "..", "simulators", "profiles", "vendor-example.yaml") });
    expect(config.devices[4]?.profile).toBe("pylontech-can");
  });

  it("refuses devices that cannot share their bus", () => {
    const lines = configProblems(() =>
      loadEdgeAgentConfig(
        write(
          "buses.json",
          site([
            { packId: "a", transport: { kind: "modbus-rtu", path: "/dev/ttyUSB0", baudRate: 9600, unitId: 1 } },
            { packId: "b", transport: { kind: "modbus-rtu", path: "/dev/ttyUSB0", baudRate: 19200, unitId: 1 } },
            { packId: "c", transport: { kind: "can-slcan", path: "/dev/ttyUSB0" }, cellCount: 16 },
          ]),
        ),
        {},
      ),
    );
    expect(lines).toContainEqual("devices.1.transport.unitId: devices.0 is already this device, got 1");
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.1\.transport\.baudRate: devices\.0 on the same port has 9600.*, got 19200$/));
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.2\.transport\.kind: devices\.0 on the same port has modbus-rtu/));
  });

  it("refuses a CAN device without what CAN does not carry, and profiles that do not fit the transport", () => {
    const lines = configProblems(() =>
      loadEdgeAgentConfig(
        write(
          "kinds.json",
          site([
            { packId: "d", transport: { kind: "can-slcan", path: "/dev/ttyACM0", bitRate: 333000 }, profile: "sunspec" },
            { packId: "e", transport: { kind: "modbus-tcp", host: "h" }, profile: "pylontech-can" },
            { packId: "f", transport: { kind: "modbus-rtu", path: "/dev/ttyUSB1", unitId: 0 } },
            { packId: "g", transport: { kind: "modbus-tcp", host: "h" }, profile: "modbus" },
          ]),
        ),
        {},
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.0\.transport\.bitRate: one of 10000/));
    expect(lines).toContainEqual('devices.0.profile: a CAN device speaks "pylontech-can", got "sunspec"');
    expect(lines).toContainEqual("devices.0.cellCount: the CAN frames do not carry the cell count: give it (published in meta), got nothing");
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.1\.profile: "pylontech-can" needs a can-slcan transport/));
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.2\.transport\.unitId: .*got 0/));
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.3\.profile: expected "sunspec", "pylontech-can" or \{ file: PATH \}/));
  });

  it("names each problem of a profile file under the device that uses it", () => {
    write("bad-profile.yaml", "name: bad\npoints:\n  - { field: soc, address: 70000, type: uint16 }\n  - { meta: serial, address: 1, type: uint16 }\n");
    const lines = configProblems(() =>
      loadEdgeAgentConfig(
        write(
          "with-profile.json",
          site([
            { packId: "a", transport: { kind: "modbus-tcp", host: "h" }, profile: { file: "bad-profile.yaml" } },
            { packId: "b", transport: { kind: "modbus-tcp", host: "h", unitId: 2 }, profile: { file: "missing.yaml" } },
          ]),
        ),
        {},
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.0\.profile\.file \(bad-profile\.yaml\): points\.0\.address: /));
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.0\.profile\.file \(bad-profile\.yaml\): points\.1\.type: meta serial is text/));
    expect(lines).toContainEqual(expect.stringMatching(/^devices\.1\.profile\.file \(missing\.yaml\): cannot read the file/));
  });

  it("checks TLS: an mqtts URL, both halves of a client certificate, files that can be read", () => {
    const device = [{ packId: "a", transport: { kind: "modbus-tcp", host: "h" } }];
    const plain = configProblems(() =>
      loadEdgeAgentConfig(write("tls1.json", site(device, { mqtt: { url: "mqtt://b:1883", tls: { caFile: "ca.crt" } } })), {}),
    );
    expect(plain).toContainEqual(expect.stringMatching(/^mqtt\.tls: TLS needs an mqtts:\/\/ or wss:\/\/ URL/));
    const half = configProblems(() =>
      loadEdgeAgentConfig(write("tls2.json", site(device, { mqtt: { url: "mqtts://b:8883", tls: { certFile: "c.crt" } } })), {}),
    );
    expect(half).toContainEqual(expect.stringMatching(/^mqtt\.tls\.keyFile: give certFile and keyFile together/));
    const missing = configProblems(() =>
      loadEdgeAgentConfig(write("tls3.json", site(device, { mqtt: { url: "mqtts://b:8883", tls: { caFile: "nope.crt" } } })), {}),
    );
    expect(missing).toContainEqual(expect.stringMatching(/^mqtt\.tls\.caFile: cannot read .*nope\.crt/));
  });
});
