import { type CaseEvent, type CaseEventType, type Logger, type SupportCase, topics } from "@bms/shared";
import type { FiringResult, RuleCommand, RuleCommandResult } from "@bms/storage";
import type { IngestionMetrics } from "./ingestion-metrics";

/** Publishes one case event (QoS 1); resolves on the broker's PUBACK, rejects when it could not be sent. */
export type CaseEventPublisher = (topic: string, payload: string) => Promise<void>;

/** What the rules' committed changes tell the world: metrics, log lines, case events. */
export type CaseAnnouncer = (command: RuleCommand, result: RuleCommandResult) => void;

/** The case event a firing's outcome announces (none for a duplicate). */
function eventOf(result: FiringResult): CaseEventType | null {
  switch (result.outcome) {
    case "opened":
      return "opened";
    case "reopened":
      return "reopened";
    case "duplicate":
      return null;
    default:
      return result.severityRaised || result.outcome === "escalated" ? "escalated" : "updated";
  }
}

/**
 * Announces what a committed batch did to cases: `cases/{siteId}/{packId}` events for the live
 * feed, and log lines people alert on ("case opened", "case reopened", "case escalated", "case
 * condition cleared") for those only, never per occurrence.
 */
export function createCaseAnnouncer(
  publish: CaseEventPublisher,
  metrics: IngestionMetrics,
  log: Logger,
  /** Called for every event (e.g. to wake the webhook dispatcher). */
  onEvent: (type: CaseEventType) => void = () => {},
): CaseAnnouncer {
  // Not awaited: mqtt.js holds QoS 1 messages until the broker acknowledges them, and a broker
  // outage must not stall the rules behind it. The case itself is stored; REST lists it.
  const emit = (type: CaseEventType, supportCase: SupportCase) => {
    const event: CaseEvent = { type, case: supportCase };
    onEvent(type);
    publish(topics.caseEvents(supportCase.siteId, supportCase.packId), JSON.stringify(event)).then(
      () => metrics.caseEvents.inc({ type }),
      (err: unknown) => {
        metrics.caseStoreErrors.inc();
        log.error({ err, siteId: supportCase.siteId, packId: supportCase.packId, caseId: supportCase.id }, "could not publish the case event");
      },
    );
  };
  return (command, answer) => {
    if (command.kind === "fire" && answer.kind === "fire") {
      const { result } = answer;
      const input = command.firing;
      metrics.caseOutcomes.inc({ outcome: result.outcome });
      const c = result.case;
      const fields = { siteId: c.siteId, packId: c.packId, ruleId: input.ruleId, caseId: c.id, severity: c.severity, outcome: result.outcome };
      switch (result.outcome) {
        case "opened":
          metrics.casesOpened.inc({ rule: input.ruleId });
          log.warn(fields, `case opened: ${input.evidence.detail}`);
          break;
        case "reopened":
          log.warn(fields, `case reopened: ${input.evidence.detail}`);
          break;
        case "duplicate":
          log.debug(fields, "rule firing already recorded");
          break;
        default:
          if (result.severityRaised) log.warn(fields, `case escalated to ${c.severity}: ${input.evidence.detail}`);
          else log.debug(fields, `case ${result.outcome}: ${input.evidence.detail}`);
      }
      const type = eventOf(result);
      if (type) emit(type, c);
    } else if (command.kind === "follow" && answer.kind === "follow" && answer.case) {
      // The evidence followed the condition (worst value, time held, warranty): no alert, no log line above debug.
      log.debug({ siteId: command.siteId, packId: command.packId, ruleId: command.ruleId, caseId: answer.case.id }, "case evidence followed");
      emit("followed", answer.case);
    } else if (command.kind === "clear" && answer.kind === "clear" && answer.case) {
      log.info({ siteId: command.siteId, packId: command.packId, ruleId: command.ruleId, caseId: answer.case.id }, "case condition cleared");
      emit("cleared", answer.case);
    }
  };
}
