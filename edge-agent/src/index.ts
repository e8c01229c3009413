export { loadEdgeAgentConfig } from "./agent-config";
export type { DeviceHealth } from "./device-poller";
export { type AgentHealth, type RunningAgent, type StartEdgeAgentOptions, startEdgeAgent } from "./edge-agent";
export { discoverSunSpec, type SunSpecMap } from "./sunspec/sunspec-discovery";
export { ModbusTcpTransport, type ModbusTcpTransportOptions } from "./transports/modbus-tcp-transport";
export type { RegisterTransport } from "./transports/register-transport";
export { BadReplyError, DeviceTimeoutError, DeviceUnreachableError, ModbusExceptionError } from "./transports/transport-errors";
