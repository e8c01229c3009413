import { type CaseEvent, type CaseEventType, type Logger, type SupportCase, topics } from "@bms/shared";
import type { CaseStore, FiringResult } from "@bms/storage";
import type { IngestionMetrics } from "./ingestion-metrics";
import type { CaseSink } from "./rules/rule-engine";

/** Publishes one case event (QoS 1); resolves on the broker's PUBACK, rejects when it could not be sent. */
export type CaseEventPublisher = (topic: string, payload: string) => Promise<void>;

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
 * The rule engine's sink: firings into the case store, and `cases/{siteId}/{packId}` events for
 * the live feed. Notifications (the warn/info log lines people alert on) go out on open, reopen,
 * escalation and clear only, never per occurrence.
 */
export function createCaseRecorder(
  caseStore: CaseStore,
  publish: CaseEventPublisher,
  metrics: IngestionMetrics,
  log: Logger,
  /** Called for every event (e.g. to wake the webhook dispatcher). */
  onEvent: (type: CaseEventType) => void = () => {},
): CaseSink {
  // Not awaited: mqtt.js holds QoS 1 messages until the broker acknowledges them, and a broker
  // outage must not stall the case store behind it.
  const emit = (type: CaseEventType, supportCase: SupportCase) => {
    const event: CaseEvent = { type, case: supportCase };
    onEvent(type);
    publish(topics.caseEvents(supportCase.siteId, supportCase.packId), JSON.stringify(event)).then(
      () => metrics.caseEvents.inc({ type }),
      (err: unknown) => {
        // The case itself is stored; the live feed can still list it over REST.
        metrics.caseStoreErrors.inc();
        log.error({ err, siteId: supportCase.siteId, packId: supportCase.packId, caseId: supportCase.id }, "could not publish the case event");
      },
    );
  };
  return {
    async fire(input) {
      const result = await caseStore.recordFiring(input);
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
      return result;
    },
    async clear(siteId, packId, ruleId, at) {
      const cleared = await caseStore.markCleared(siteId, packId, ruleId, at);
      if (cleared) {
        log.info({ siteId, packId, ruleId, caseId: cleared.id }, "case condition cleared");
        emit("cleared", cleared);
      }
    },
    appendFreezeFrame: (caseId, triggerTs, after, complete) => caseStore.appendFreezeFrame(caseId, triggerTs, after, complete),
    openFreezeFrames: () => caseStore.openFreezeFrames(),
  };
}
