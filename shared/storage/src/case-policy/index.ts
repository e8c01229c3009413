/**
 * The case policy as pure functions: given the rows a store read, what changes. Store adapters
 * (SQLite now, PostgreSQL later) read, call these and write the plan in one transaction.
 */
export { withBmsLog } from "./bms-log-policy";
export { captureEvidenceOf, mergeCapture } from "./capture-policy";
export { type CaseChanges, type CasePlan, costTotals, RULES_ACTOR, type TimelineDraft } from "./case-plan";
export { type CommandEntry, planAssign, planCommandEntry, planCostLine, planNote, planSparePart, planTransition } from "./engineer-policy";
export {
  type FiringFacts,
  type FiringPlan,
  type FiringReads,
  firingReads,
  MAX_BMS_ALARMS,
  MAX_RULES_FIRED,
  mergeEvidence,
  type NewFreezeFrame,
  planFiring,
} from "./firing-policy";
export { type FreezeFrameAppend, type FreezeFrameState, MAX_FREEZE_FRAME_SAMPLES, planClear, planFollowUp, planFreezeFrameAppend } from "./rule-policy";
