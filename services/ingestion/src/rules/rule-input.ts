import type { PackMeta, PackSample, SiteStatus } from "@bms/shared";

/** What the engine is fed, in arrival order. */
export type RuleInput =
  | { kind: "sample"; siteId: string; packId: string; sample: PackSample; arrivedAt: number }
  | { kind: "meta"; siteId: string; packId: string; meta: PackMeta }
  | { kind: "status"; siteId: string; status: SiteStatus; arrivedAt: number };
