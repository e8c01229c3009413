import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/free-port";
import { BadReplyError, DeviceTimeoutError, DeviceUnreachableError } from "../src/transports/transport-errors";

/** The part every transport shares, whatever it carries (registers, CAN frames). */
export interface Transport {
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface TransportConformanceFixture {
  transport: Transport;
  /** One read from the device, through the transport. */
  read(): Promise<unknown>;
  /** Throws (an expect) unless `result` is what the device serves. */
  expectServed(result: unknown): void;
  /** One read of a device that is not on the bus (never answers). */
  readAbsent(): Promise<unknown>;
  /** The device's replies garbled (bad CRC, truncated, wrong address) or clean again. */
  garble(on: boolean): void;
  /** Reads to try while garbled. @default 20 */
  garbledReads?: number;
  /** The device (or the adapter between) gone, and back. */
  stopDevice(): Promise<void>;
  startDevice(): Promise<void>;
  teardown(): Promise<void>;
}

/**
 * Behaviour every transport must show (Modbus TCP, Modbus RTU, SLCAN): it reads what the device
 * sends, reports silence, garbage and a vanished device as typed errors (never a wrong value),
 * keeps working for the others, recovers by itself, and closes cleanly.
 */
export function describeTransport(name: string, setup: () => Promise<TransportConformanceFixture>): void {
  describe(`transport conformance: ${name}`, () => {
    let fx: TransportConformanceFixture;
    beforeEach(async () => {
      fx = await setup();
    });
    afterEach(async () => {
      await fx.transport.close();
      await fx.teardown();
    });

    it("reads what the device serves, and names where it reads", async () => {
      fx.expectServed(await fx.read());
      expect(fx.transport.endpoint).toMatch(/^[a-z-]+:\/\/\S+/);
    });

    it("reports a device that never answers as DeviceTimeoutError, and keeps reading the others", async () => {
      const err = await fx.readAbsent().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceTimeoutError);
      fx.expectServed(await fx.read());
    });

    it("turns garbled replies into BadReplyError or DeviceTimeoutError, never a wrong value, and recovers once clean", async () => {
      fx.expectServed(await fx.read());
      fx.garble(true);
      let failures = 0;
      for (let i = 0; i < (fx.garbledReads ?? 20); i++) {
        try {
          fx.expectServed(await fx.read());
        } catch (err) {
          failures += 1;
          expect(err instanceof BadReplyError || err instanceof DeviceTimeoutError, String(err)).toBe(true);
        }
      }
      expect(failures).toBeGreaterThan(0);
      fx.garble(false);
      await waitFor(
        async () => {
          fx.expectServed(await fx.read());
          return true;
        },
        20_000,
        "clean reads again",
      );
    });

    it("reports a vanished device as DeviceUnreachableError or DeviceTimeoutError, and recovers when it is back", async () => {
      fx.expectServed(await fx.read());
      await fx.stopDevice();
      const err = await fx.read().catch((e: unknown) => e);
      expect(err instanceof DeviceUnreachableError || err instanceof DeviceTimeoutError, String(err)).toBe(true);
      await fx.startDevice();
      await waitFor(
        async () => {
          fx.expectServed(await fx.read());
          return true;
        },
        20_000,
        "the transport to recover",
      );
    });

    it("answers concurrent readers, each with what the device serves", async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => fx.read()));
      for (const result of results) fx.expectServed(result);
    });

    it("closes idempotently; reads after close fail with DeviceUnreachableError", async () => {
      fx.expectServed(await fx.read());
      await fx.transport.close();
      await fx.transport.close();
      await expect(fx.read()).rejects.toBeInstanceOf(DeviceUnreachableError);
    });
  });
}
