/**
 * What register readers (SunSpec discovery, device profiles) need from a bus: holding- and
 * input-register reads by unit ID. Modbus TCP and Modbus RTU implement it; both run the shared
 * transport conformance suite (test/transport.conformance.ts) and the register one
 * (test/register-transport.conformance.ts).
 *
 * Contract: reads of any length (split into ≤125-register requests inside), callers may call
 * concurrently (requests are serialised per connection or serial line), errors are the typed ones
 * of transport-errors.ts, and a transport recovers by itself once the device is back.
 */
export interface RegisterTransport {
  /** Where it reads from, for logs and errors (`modbus-tcp://host:port`, `modbus-rtu:///dev/ttyUSB0`). */
  readonly endpoint: string;
  readHoldingRegisters(unitId: number, address: number, count: number): Promise<number[]>;
  readInputRegisters(unitId: number, address: number, count: number): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * A register transport that also writes holding registers (remote diagnosis: alarm reset, a
 * setting): function 6 for one register, 16 for more. A write takes its turn in the same queue as
 * reads, so on an RS-485 line it holds the line's one lock like a read.
 */
export interface WritableRegisterTransport extends RegisterTransport {
  writeRegisters(unitId: number, address: number, values: readonly number[]): Promise<void>;
}

/** Function 16 writes at most 123 registers per request. */
export const MAX_REGISTERS_PER_WRITE = 123;

/** Function 3 (holding) or 4 (input). */
export type RegisterSpace = "holding" | "input";

export function readRegisters(transport: RegisterTransport, space: RegisterSpace, unitId: number, address: number, count: number): Promise<number[]> {
  return space === "input" ? transport.readInputRegisters(unitId, address, count) : transport.readHoldingRegisters(unitId, address, count);
}

/** Modbus functions 3 and 4 read at most 125 registers per request. */
export const MAX_REGISTERS_PER_READ = 125;
