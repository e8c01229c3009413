import type { RuleKind } from "@bms/shared/config/rules-config";
import { bmsAlarmKind } from "./bms-alarm";
import { cellDriftKind } from "./cell-drift";
import type { KindDefinition } from "./kind-module";
import { linkErrorsKind } from "./link-errors";
import { noDataKind } from "./no-data";
import { rateOfChangeKind } from "./rate-of-change";
import { repeatingKind } from "./repeating";
import { sensorFaultKind } from "./sensor-fault";
import { siteOfflineKind } from "./site-offline";
import { thresholdKind } from "./threshold";

/** Every rule kind of the rule file (shared/src/config/rules-config.ts), by name: adding a kind is a module and a line here. */
export const RULE_KINDS: Readonly<Record<RuleKind, KindDefinition>> = {
  threshold: thresholdKind,
  "cell-spread": thresholdKind,
  repeating: repeatingKind,
  "rate-of-change": rateOfChangeKind,
  "cell-drift": cellDriftKind,
  "sensor-fault": sensorFaultKind,
  "bms-alarm": bmsAlarmKind,
  "no-data": noDataKind,
  "site-offline": siteOfflineKind,
  "link-errors": linkErrorsKind,
};
