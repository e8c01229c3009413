import { type DeviceProfile, type ProfilePart, profileBlocks, profileFootprint, type RegisterSpace, type RegisterSpan } from "@bms/shared/device-profile";
import { MAX_REGISTERS_PER_READ } from "../transports/register-transport";

/** One Modbus request: function 3 or 4, at most 125 registers. */
export interface PlannedRead {
  space: RegisterSpace;
  address: number;
  count: number;
}

/** What a read serves: the sample (every `field` point and cell array) or the identity (`meta` points). */
export type ReadPurpose = Exclude<ProfilePart, "all">;

/**
 * As few requests as the 125-register limit allows: the registers needed, grouped by the block
 * (declared, or derived across gaps of up to `maxGap`) that holds them, each group covered greedily
 * from its lowest register (for points on a line, the greedy cover is the smallest). A request never
 * leaves its block, so it never asks for registers the device refuses.
 */
export function planReads(profile: DeviceProfile, purpose: ReadPurpose): PlannedRead[] {
  const blocks = profileBlocks(profile);
  const byBlock = new Map<number, RegisterSpan[]>();
  for (const span of profileFootprint(profile, purpose)) {
    const index = blocks.findIndex((b) => b.space === span.space && span.from >= b.from && span.to <= b.to);
    // The schema refuses a point outside every declared block; derived blocks hold every point by construction.
    if (index < 0) throw new RangeError(`registers ${span.from}-${span.to - 1} lie in no block of profile ${profile.name}`);
    const list = byBlock.get(index) ?? [];
    list.push(span);
    byBlock.set(index, list);
  }
  const plan: PlannedRead[] = [];
  for (const [index, spans] of [...byBlock.entries()].sort((a, b) => a[0] - b[0])) {
    const space = blocks[index]?.space ?? profile.registers;
    spans.sort((x, y) => x.from - y.from);
    let start = -1;
    let end = -1;
    for (const span of spans) {
      if (start >= 0 && Math.max(end, span.to) - start <= MAX_REGISTERS_PER_READ) {
        end = Math.max(end, span.to);
        continue;
      }
      if (start >= 0) plan.push({ space, address: start, count: end - start });
      start = span.from;
      end = span.to;
    }
    if (start >= 0) plan.push({ space, address: start, count: end - start });
  }
  return plan;
}
