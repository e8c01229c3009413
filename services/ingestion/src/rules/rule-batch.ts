import type { FiringInput, RuleCommand } from "@bms/storage";
import type { FrameCollector } from "./freeze-frames";
import type { RuleLane } from "./rule-lane";

/** A firing's lane, so that a frame it did not start stops collecting once the store answered. */
export interface FiredOn {
  index: number;
  lane: RuleLane;
  firingKey: string;
}

/**
 * What the rules changed while they looked at one batch of input, in order: committed in one
 * transaction with the pack states that changed (RuleLedger.commit).
 */
export class RuleBatch {
  readonly commands: RuleCommand[] = [];
  readonly fired: FiredOn[] = [];

  get empty(): boolean {
    return this.commands.length === 0;
  }

  fire(firing: FiringInput, lane: RuleLane): void {
    this.fired.push({ index: this.commands.length, lane, firingKey: firing.firingKey });
    this.commands.push({ kind: "fire", firing });
  }

  clear(siteId: string, packId: string, ruleId: string, at: number): void {
    this.commands.push({ kind: "clear", siteId, packId, ruleId, at });
  }

  /** The condition of a case still holds (evidence-follower.ts). */
  follow(command: Extract<RuleCommand, { kind: "follow" }>): void {
    this.commands.push(command);
  }

  /** The samples after a trigger; `complete` ends the frame. */
  frame(collector: FrameCollector, complete: boolean): void {
    if (!complete && collector.samples.length === 0) return;
    this.commands.push({ kind: "freeze-frame", firingKey: collector.firingKey, after: collector.samples, complete });
  }
}
