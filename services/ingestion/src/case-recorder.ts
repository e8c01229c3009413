import { type CaseEvent, type Logger, type SupportCase, topics } from "@bms/shared";
import type { CaseStore } from "@bms/storage";
import type { IngestionMetrics } from "./ingestion-metrics";
import type { CaseTransition, CaseTransitionSink } from "./rules/rule-engine";

/** Publishes one case event (QoS 1); resolves on the broker's PUBACK, rejects when it could not be sent. */
export type CaseEventPublisher = (topic: string, payload: string) => Promise<void>;

/**
 * Turns rule transitions into case-store calls and `cases/{siteId}/{packId}` events.
 * Notifications (the warn/info log lines people alert on) go out on open and clear only.
 */
export function createCaseRecorder(caseStore: CaseStore, publish: CaseEventPublisher, metrics: IngestionMetrics, log: Logger): CaseTransitionSink {
  // Not awaited: mqtt.js holds QoS 1 messages until the broker acknowledges them, and a broker
  // outage must not stall the case store behind it.
  const emit = (type: CaseEvent["type"], supportCase: SupportCase) => {
    const event: CaseEvent = { type, case: supportCase };
    publish(topics.caseEvents(supportCase.siteId, supportCase.packId), JSON.stringify(event)).then(
      () => metrics.caseEvents.inc({ type }),
      (err: unknown) => {
        // The case itself is stored; the live feed can still list it over REST.
        metrics.caseStoreErrors.inc();
        log.error({ err, siteId: supportCase.siteId, packId: supportCase.packId, caseId: supportCase.id }, "could not publish the case event");
      },
    );
  };
  return async (transition: CaseTransition) => {
    const { siteId, packId, ruleId } = transition;
    if (transition.type === "fired") {
      const result = await caseStore.openOrUpdate({
        siteId,
        packId,
        ruleId,
        severity: transition.severity,
        title: transition.title,
        evidence: transition.evidence,
        at: transition.at,
      });
      if (result.created) {
        metrics.casesOpened.inc({ rule: ruleId });
        log.warn({ siteId, packId, ruleId, caseId: result.case.id, severity: result.case.severity }, `case opened: ${transition.evidence.detail}`);
      } else {
        log.debug({ siteId, packId, ruleId, caseId: result.case.id, occurrences: result.case.occurrences }, "case condition fired again");
      }
      emit(result.created ? "opened" : "updated", result.case);
      return;
    }
    const cleared = await caseStore.markCleared(siteId, packId, ruleId, transition.at);
    if (cleared) {
      log.info({ siteId, packId, ruleId, caseId: cleared.id }, "case condition cleared");
      emit("cleared", cleared);
    }
  };
}
