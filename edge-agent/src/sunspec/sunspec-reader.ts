import type { RegisterTransport } from "../transports/register-transport";
import { type DiscoveryOptions, discoverSunSpec, type ModelLocation, type SunSpecMap } from "./sunspec-discovery";
import { SunSpecMapChangedError } from "./sunspec-errors";

export interface ModelSnapshot {
  /** When the reply arrived (ms since the epoch): the sample's `ts`. */
  ts: number;
  common?: number[];
  battery: number[];
  /** Model 803, on a bank of several strings. */
  bank?: number[];
  /** Models 804, in chain order. */
  strings: number[][];
  modules: number[][];
}

/** Reads one SunSpec battery unit: discovers its map once, then reads 802, 803, 804 and 805 in one span. */
export class SunSpecReader {
  private current: SunSpecMap | undefined;

  constructor(
    private readonly transport: RegisterTransport,
    readonly unitId: number,
    private readonly options: DiscoveryOptions = {},
  ) {}

  get map(): SunSpecMap | undefined {
    return this.current;
  }

  /** Forget the map: the next read discovers again (after a reconnect or a changed map). */
  invalidate(): void {
    this.current = undefined;
  }

  async discover(): Promise<SunSpecMap> {
    this.current = await discoverSunSpec(this.transport, this.unitId, this.options);
    return this.current;
  }

  /** Models 802, 803, 804 and 805 (and 1 when `withCommon`), discovering first when needed. */
  async read(withCommon = false): Promise<ModelSnapshot> {
    const map = this.current ?? (await this.discover());
    const wanted = [map.battery, ...(map.bank ? [map.bank] : []), ...map.strings, ...map.modules];
    // One span from the first to the last wanted model: the transport splits it into 125-register requests.
    const start = Math.min(...wanted.map((m) => m.address));
    const end = Math.max(...wanted.map((m) => m.address + 2 + m.length));
    const words = await this.transport.readHoldingRegisters(this.unitId, start, end - start);
    const ts = Date.now();
    const block = (m: ModelLocation) => {
      const regs = words.slice(m.address - start, m.address - start + 2 + m.length);
      if (regs[0] !== m.id || regs[1] !== m.length) {
        this.invalidate();
        throw new SunSpecMapChangedError(`model ${m.id} (L = ${m.length}) is no longer at ${m.address}: found ID ${regs[0]}, L ${regs[1]}; discovering again`);
      }
      return regs;
    };
    const snapshot: ModelSnapshot = {
      ts,
      battery: block(map.battery),
      ...(map.bank ? { bank: block(map.bank) } : {}),
      strings: map.strings.map(block),
      modules: map.modules.map(block),
    };
    if (withCommon && map.common) {
      snapshot.common = await this.transport.readHoldingRegisters(this.unitId, map.common.address, 2 + map.common.length);
    }
    return snapshot;
  }
}
