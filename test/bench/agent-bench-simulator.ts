import { loadDeviceProfile, parseScenario, ScenarioRunner, startModbusTcpServer } from "@bms/simulators";

/**
 * The agent bench's Modbus TCP server in a process of its own, so that its work (encoding the
 * register map on each read) and its garbage do not share the event loop and the heap of the
 * client being measured, the agent's read path or the bare client alike.
 * A frozen site: 16 packs at rest. Prints `port N` once it listens, serves until killed.
 * Usage: agent-bench-simulator.ts PACKS sunspec|PROFILE.yaml
 */
const [packs, map] = process.argv.slice(2);
const devices = new ScenarioRunner(parseScenario({ name: "bench", seed: 3, packs: Number(packs), packDefaults: { load: { kind: "constant", amps: -20 } } }))
  .packs;
const server = await startModbusTcpServer({
  host: "127.0.0.1",
  port: 0,
  devices,
  map: map === undefined || map === "sunspec" ? "sunspec" : loadDeviceProfile(map),
});
process.stdout.write(`port ${server.port}\n`);
process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
