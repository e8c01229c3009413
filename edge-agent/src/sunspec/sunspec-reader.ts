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

/** The one read that covers models 802, 803, 804 and 805 of a map: worked out once per discovery. */
interface Span {
  start: number;
  count: number;
}

function spanOf(map: SunSpecMap): Span {
  const wanted = [map.battery, ...(map.bank ? [map.bank] : []), ...map.strings, ...map.modules];
  const start = Math.min(...wanted.map((m) => m.address));
  const end = Math.max(...wanted.map((m) => m.address + 2 + m.length));
  return { start, count: end - start };
}

/** Reads one SunSpec battery unit: discovers its map once, then reads 802, 803, 804 and 805 in one span. */
export class SunSpecReader {
  private current: { map: SunSpecMap; span: Span } | undefined;

  constructor(
    private readonly transport: RegisterTransport,
    readonly unitId: number,
    private readonly options: DiscoveryOptions = {},
  ) {}

  get map(): SunSpecMap | undefined {
    return this.current?.map;
  }

  /** Forget the map: the next read discovers again (after a reconnect or a changed map). */
  invalidate(): void {
    this.current = undefined;
  }

  async discover(): Promise<SunSpecMap> {
    return (await this.located()).map;
  }

  private async located(): Promise<{ map: SunSpecMap; span: Span }> {
    const map = await discoverSunSpec(this.transport, this.unitId, this.options);
    this.current = { map, span: spanOf(map) };
    return this.current;
  }

  /** Models 802, 803, 804 and 805 (and 1 when `withCommon`), discovering first when needed. */
  async read(withCommon = false): Promise<ModelSnapshot> {
    const { map, span } = this.current ?? (await this.located());
    // One span from the first to the last wanted model: the transport splits it into 125-register requests.
    const words = await this.transport.readHoldingRegisters(this.unitId, span.start, span.count);
    const ts = Date.now();
    const snapshot: ModelSnapshot = {
      ts,
      battery: this.block(words, span.start, map.battery),
      strings: [],
      modules: [],
    };
    if (map.bank) snapshot.bank = this.block(words, span.start, map.bank);
    for (const m of map.strings) snapshot.strings.push(this.block(words, span.start, m));
    for (const m of map.modules) snapshot.modules.push(this.block(words, span.start, m));
    if (withCommon && map.common) {
      snapshot.common = await this.transport.readHoldingRegisters(this.unitId, map.common.address, 2 + map.common.length);
    }
    return snapshot;
  }

  /** The registers of model `m` in the span read from `start`; a model no longer where discovery found it means discovering again. */
  private block(words: readonly number[], start: number, m: ModelLocation): number[] {
    const regs = words.slice(m.address - start, m.address - start + 2 + m.length);
    if (regs[0] !== m.id || regs[1] !== m.length) {
      this.invalidate();
      throw new SunSpecMapChangedError(`model ${m.id} (L = ${m.length}) is no longer at ${m.address}: found ID ${regs[0]}, L ${regs[1]}; discovering again`);
    }
    return regs;
  }
}
