import { describeCaseStore } from "../case-store.conformance";
import { describeCommandEntries } from "../command-entry.conformance";
import { describeCommandStore } from "../command-store.conformance";
import { describeDeadLetterStore } from "../dead-letter-store.conformance";
import { describeRuleLedger } from "../rule-ledger.conformance";
import { describeWebhookOutbox } from "../webhook-outbox.conformance";
import { postgresForFile } from "./pg-stores-support";

const pg = postgresForFile();

describeCaseStore("PostgreSQL", (file) => pg.only(file, "cases"));
describeCommandEntries("PostgreSQL", (file) => pg.only(file, "cases"));
describeCommandStore("PostgreSQL", (file) => pg.only(file, "commands"));
describeRuleLedger("PostgreSQL", (file) => pg.only(file, "cases"));
describeDeadLetterStore("PostgreSQL", (file, options) => pg.only(file, "deadLetters", { deadLetters: options }));
describeWebhookOutbox("PostgreSQL", (file) => pg.only(file, "webhooks"));
