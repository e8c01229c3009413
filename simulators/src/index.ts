export type { ControlServerOptions, RunningControlServer } from "./control/control-server";
export { MAX_CONTROL_BODY_BYTES, startControlServer } from "./control/control-server";
export type { FastRunSummary, RunningSimulator } from "./control/run-simulator";
export { runFast, scenarioFromFlags, startFleet, startSimulator } from "./control/run-simulator";
export type { RuntimeStatus } from "./control/simulator-runtime";
export { DeviceSlot, NotInjectableError, SimulatorRuntime } from "./control/simulator-runtime";
export type { Fault, FaultKind, ResolvedFault } from "./faults";
export { CellOverVoltageFault, FAULT_KINDS, FaultSchema, InvalidFaultError, OverTemperatureFault, resolveFault } from "./faults";
export type { Fleet, FleetManifest, FleetOptions, FleetPackEntry, RunningFleet, ServeFleetOptions } from "./fleet/fleet";
export { buildFleet, FleetOptionsSchema, serveFleet } from "./fleet/fleet";
export type { LoadSetting, ResolvedLoadSetting } from "./load-profile";
export { LoadSettingSchema } from "./load-profile";
export type { ProtectionName } from "./model/bms-protection";
export { ProtectionNameSchema } from "./model/bms-protection";
export type { Chemistry } from "./model/chemistry";
export { CHEMISTRY, ChemistrySchema } from "./model/chemistry";
export { openCircuitVoltage } from "./model/open-circuit-voltage";
export type { AgeingSetting, FastForward, PackModelOptions, PackRatings, PackSnapshot, ResolvedPackModelOptions, Topology } from "./pack-model";
export { PackModel, PackModelOptionsSchema, PROTECTION, TopologySchema } from "./pack-model";
export type { CanFrame, PylontechFrameOptions } from "./protocols/can-frames";
export { formatSlcanFrame, pylontechFrames } from "./protocols/can-frames";
export { loadDeviceProfile } from "./protocols/device-profile-file";
export type { ModbusMapSetting } from "./protocols/modbus-register-map";
export { registerMapFor, SUNSPEC_DIAGNOSTICS_PROFILE } from "./protocols/modbus-register-map";
export type { ModbusRtuServerOptions, RunningModbusRtuServer } from "./protocols/modbus-rtu-server";
export { startModbusRtuServer } from "./protocols/modbus-rtu-server";
export type { ModbusTcpServerOptions, RunningModbusTcpServer } from "./protocols/modbus-tcp-server";
export { startModbusTcpServer } from "./protocols/modbus-tcp-server";
export type { PtyPair } from "./protocols/pty-pair";
export { PtyPairError, startPtyPair } from "./protocols/pty-pair";
export type { RegisterMap } from "./protocols/register-map";
export type { RunningSlcanAdapter, SlcanAdapterOptions } from "./protocols/slcan-adapter";
export { startSlcanAdapter } from "./protocols/slcan-adapter";
export type { ReplayOptions } from "./replay/replay-player";
export { ReplayDevice, ReplayPlayer } from "./replay/replay-player";
export type { ReplayRecording, ReplayStream } from "./replay/replay-recording";
export { parseRecording, RecordedSample, readRecording } from "./replay/replay-recording";
export type { Advanceable, RealTimeDriver, RealTimeOptions } from "./scenario/real-time-driver";
export { driveInRealTime } from "./scenario/real-time-driver";
export type { ExpectedCase, Scenario, ScenarioInput, ScenarioPack as ScenarioPackOptions, TimelineEntry } from "./scenario/scenario-file";
export {
  ExpectedCaseSchema,
  loadScenario,
  parseScenario,
  readScenarioFile,
  resolveScenarioFile,
  ScenarioSchema,
  SHIPPED_SCENARIO_DIR,
  shippedScenarioFile,
  shippedScenarioNames,
  unitIdsOf,
} from "./scenario/scenario-file";
export { ScenarioPack } from "./scenario/scenario-pack";
export type { PackRecord, RecordOptions, ScenarioRecord } from "./scenario/scenario-recorder";
export { hashScenario, iterateScenario, recordScenario, serialiseRecord } from "./scenario/scenario-recorder";
export type { PackStatus, ScenarioStatus } from "./scenario/scenario-runner";
export { ScenarioRunner, UnknownPackError } from "./scenario/scenario-runner";
export { deriveSeed, SeededRandom } from "./seeded-random";
export type { DeviceHistory, LinkCondition, PackIdentity, SimulatedDevice } from "./simulated-device";
export type { SimulatorCliInput, SimulatorCliOptions } from "./simulator-options";
export { SimulatorCliOptionsSchema } from "./simulator-options";
export type { SunSpecLayout } from "./sunspec-register-map";
export { encodePackRegisters, SCALE_FACTORS, sunspecLayout, sunspecLayoutFor } from "./sunspec-register-map";
