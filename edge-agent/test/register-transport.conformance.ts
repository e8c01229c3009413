import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/free-port";
import type { RegisterTransport } from "../src/transports/register-transport";
import { DeviceTimeoutError, DeviceUnreachableError, ModbusExceptionError } from "../src/transports/transport-errors";

export interface TransportFixture {
  /** A transport to unit 1 of the fixture, with a short reply timeout (≤ 1 s). */
  transport: RegisterTransport;
  /**
   * What the fixture serves at unit 1: contiguous addresses 0..N-1 (N ≥ 300) answer with these
   * values; any address outside answers with Modbus exception 2; unit 2 never answers.
   */
  registers: Map<number, number>;
  /** Input registers of unit 1 (function 4): addresses 0..9 at least, values unlike the holding ones. */
  inputRegisters: Map<number, number>;
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** After each test, once the transport is closed. */
  teardown?(): Promise<void>;
}

/** What every RegisterTransport must show on top of transport.conformance.ts: Modbus TCP and RTU. */
export function describeRegisterTransport(name: string, setup: () => Promise<TransportFixture>): void {
  describe(`RegisterTransport conformance: ${name}`, () => {
    let fx: TransportFixture;
    beforeEach(async () => {
      fx = await setup();
    });
    afterEach(async () => {
      await fx.transport.close();
      await fx.stopServer();
      await fx.teardown?.();
    });

    const expected = (address: number, count: number) => Array.from({ length: count }, (_, i) => fx.registers.get(address + i));

    it("reads the values the device serves", async () => {
      expect(await fx.transport.readHoldingRegisters(1, 0, 10)).toEqual(expected(0, 10));
      expect(await fx.transport.readHoldingRegisters(1, 7, 1)).toEqual(expected(7, 1));
    });

    it("reads input registers with function 4, apart from the holding ones", async () => {
      const want = Array.from({ length: 10 }, (_, i) => fx.inputRegisters.get(i));
      expect(await fx.transport.readInputRegisters(1, 0, 10)).toEqual(want);
      expect(want).not.toEqual(expected(0, 10));
      const err = await fx.transport.readInputRegisters(1, Math.max(...fx.inputRegisters.keys()) + 1, 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModbusExceptionError);
    });

    it("splits reads over 125 registers and returns them in order", async () => {
      expect(await fx.transport.readHoldingRegisters(1, 3, 290)).toEqual(expected(3, 290));
    });

    it("turns an exception response into ModbusExceptionError with its code, and keeps working", async () => {
      const beyond = Math.max(...fx.registers.keys()) + 10;
      const err = await fx.transport.readHoldingRegisters(1, beyond, 2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModbusExceptionError);
      expect((err as ModbusExceptionError).exceptionCode).toBe(2);
      expect(await fx.transport.readHoldingRegisters(1, 0, 2)).toEqual(expected(0, 2));
    });

    it("turns silence into DeviceTimeoutError, and keeps working", async () => {
      await expect(fx.transport.readHoldingRegisters(2, 0, 2)).rejects.toBeInstanceOf(DeviceTimeoutError);
      expect(await fx.transport.readHoldingRegisters(1, 0, 2)).toEqual(expected(0, 2));
    });

    it("rejects nonsense arguments without touching the bus", async () => {
      await expect(fx.transport.readHoldingRegisters(1, -1, 2)).rejects.toBeInstanceOf(RangeError);
      await expect(fx.transport.readHoldingRegisters(1, 65535, 2)).rejects.toBeInstanceOf(RangeError);
      await expect(fx.transport.readHoldingRegisters(1, 0, 0)).rejects.toBeInstanceOf(RangeError);
      await expect(fx.transport.readHoldingRegisters(300, 0, 1)).rejects.toBeInstanceOf(RangeError);
    });

    it("reports a vanished device and recovers when it is back", async () => {
      expect(await fx.transport.readHoldingRegisters(1, 0, 2)).toEqual(expected(0, 2));
      await fx.stopServer();
      const err = await fx.transport.readHoldingRegisters(1, 0, 2).catch((e: unknown) => e);
      expect(err instanceof DeviceUnreachableError || err instanceof DeviceTimeoutError).toBe(true);
      await fx.startServer();
      await waitFor(
        async () => {
          const words = await fx.transport.readHoldingRegisters(1, 0, 2);
          return words[0] === fx.registers.get(0);
        },
        10_000,
        "the transport to recover",
      );
    });

    it("serialises concurrent callers: every caller gets its own answer", async () => {
      const reads = Array.from({ length: 20 }, (_, i) => fx.transport.readHoldingRegisters(1, i * 7, 3 + (i % 5) * 40));
      const results = await Promise.all(reads);
      expect(results).toEqual(results.map((_, i) => expected(i * 7, 3 + (i % 5) * 40)));
    });

    it("serialises many concurrent callers (more than 256 Modbus TCP transaction IDs)", async () => {
      const reads = Array.from({ length: 300 }, (_, i) => fx.transport.readHoldingRegisters(1, i % 290, 1 + (i % 3)));
      const results = await Promise.all(reads);
      expect(results).toEqual(results.map((_, i) => expected(i % 290, 1 + (i % 3))));
    });

    it("serialises callers of different units: a silent unit never disturbs another unit's multi-request read", async () => {
      const good = [0, 1, 2].map((i) => fx.transport.readHoldingRegisters(1, i, 280));
      const silent = [0, 1].map(() => fx.transport.readHoldingRegisters(2, 0, 2).catch((e: unknown) => e));
      const more = fx.transport.readHoldingRegisters(1, 5, 260);
      expect(await Promise.all(good)).toEqual([0, 1, 2].map((i) => expected(i, 280)));
      for (const err of await Promise.all(silent)) expect(err).toBeInstanceOf(DeviceTimeoutError);
      expect(await more).toEqual(expected(5, 260));
    });
  });
}
