/**
 * What the SunSpec reader needs from a bus: holding-register reads by unit ID. Modbus TCP today;
 * Modbus RTU and CAN (via a register image) implement the same interface and run the same
 * conformance suite (test/register-transport.conformance.ts).
 *
 * Contract: reads of any length (split into ≤125-register requests inside), callers may call
 * concurrently (requests are serialised per connection), errors are the typed ones of
 * transport-errors.ts, and a transport recovers by itself once the device is back.
 */
export interface RegisterTransport {
  readHoldingRegisters(unitId: number, address: number, count: number): Promise<number[]>;
  close(): Promise<void>;
}

/** Modbus function 3 reads at most 125 registers per request. */
export const MAX_REGISTERS_PER_READ = 125;
