import { openSqliteCaseStore } from "../src/sqlite-case-store";
import { openSqliteRuleStateStore } from "../src/sqlite-rule-state-store";
import { openSqliteWebhookOutbox } from "../src/sqlite-webhook-outbox";
import { describeCaseStore } from "./case-store.conformance";
import { describeCommandEntries } from "./command-entry.conformance";
import { describeRuleLedger } from "./rule-ledger.conformance";
import { describeRuleStateStore } from "./rule-state-store.conformance";
import { describeWebhookOutbox } from "./webhook-outbox.conformance";

describeCaseStore("SQLite", openSqliteCaseStore);
describeCommandEntries("SQLite", openSqliteCaseStore);
describeRuleLedger("SQLite", openSqliteCaseStore);
describeRuleStateStore("SQLite", openSqliteRuleStateStore);
describeWebhookOutbox("SQLite", openSqliteWebhookOutbox);
