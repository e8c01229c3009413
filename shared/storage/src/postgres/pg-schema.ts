import { CaseStatus, CommandStatus, Severity } from "@bms/shared";
import type { PgStoreSchema } from "./pg-migrations";

// The PostgreSQL tables: the same columns as the SQLite stores (times in ms as bigint, JSON documents
// as text: jsonb cannot hold the \u0000 escape), with what concurrency needs on top.

const statuses = CaseStatus.options.map((s) => `'${s}'`).join(", ");
const severities = Severity.options.map((s) => `'${s}'`).join(", ");

/**
 * Cases. `support_cases_one_current` is the rule "one case per (site, pack, rule) that is not
 * closed", held by the database whoever writes. Timeline IDs come from `case_timeline_clock`, a
 * one-row counter that a transaction updates just before it commits: the row lock it takes orders
 * the writers, so IDs become visible in increasing order and a reader following them with a cursor
 * (webhooks) never skips one that commits late, as a sequence would let happen. `pack_state` rows
 * (about 2 KB, rewritten by every batch) leave half of each page free, so that an update stays on
 * its page and needs no index entry (a HOT update: about a quarter faster here).
 */
export const PG_CASE_SCHEMA: PgStoreSchema = {
  store: "cases",
  steps: [
    {
      version: 1,
      does: "support cases, timeline with its commit-ordered clock, firings, freeze frames, clears applied, pack states",
      sql: `
        CREATE TABLE support_cases (
          id text PRIMARY KEY,
          seq bigint GENERATED ALWAYS AS IDENTITY,
          site_id text NOT NULL,
          pack_id text NOT NULL,
          rule_id text NOT NULL,
          severity text NOT NULL CHECK (severity IN (${severities})),
          status text NOT NULL CHECK (status IN (${statuses})),
          title text NOT NULL,
          opened_at bigint NOT NULL,
          updated_at bigint NOT NULL,
          cleared_at bigint,
          acknowledged_at bigint,
          resolved_at bigint,
          closed_at bigint,
          assignee text,
          occurrences integer NOT NULL CHECK (occurrences >= 1),
          last_occurrence_at bigint NOT NULL,
          reopened_count integer NOT NULL DEFAULT 0,
          evidence text NOT NULL,
          warranty text,
          cost_lines text NOT NULL DEFAULT '[]',
          spare_parts text NOT NULL DEFAULT '[]'
        );
        CREATE UNIQUE INDEX support_cases_one_current ON support_cases (site_id, pack_id, rule_id) WHERE status <> 'closed';
        CREATE INDEX support_cases_last_closed ON support_cases (site_id, pack_id, rule_id, closed_at DESC) WHERE status = 'closed';
        CREATE INDEX support_cases_by_opened ON support_cases (opened_at DESC, seq DESC);
        CREATE INDEX support_cases_by_pack ON support_cases (site_id, pack_id, opened_at DESC);
        CREATE TABLE case_firings (
          firing_key text PRIMARY KEY,
          case_id text NOT NULL,
          outcome text NOT NULL,
          at bigint NOT NULL
        );
        CREATE TABLE case_timeline (
          id bigint PRIMARY KEY,
          case_id text NOT NULL,
          at bigint NOT NULL,
          actor text NOT NULL,
          kind text NOT NULL,
          message text NOT NULL,
          status text NOT NULL,
          severity text NOT NULL
        );
        CREATE INDEX case_timeline_by_case ON case_timeline (case_id, id);
        CREATE TABLE case_timeline_clock (
          only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
          last_id bigint NOT NULL
        );
        INSERT INTO case_timeline_clock (last_id) VALUES (0);
        CREATE TABLE case_freeze_frames (
          case_id text NOT NULL,
          trigger_ts bigint NOT NULL,
          rule_id text NOT NULL,
          firing_key text NOT NULL UNIQUE,
          before text NOT NULL,
          after text NOT NULL DEFAULT '[]',
          after_count integer NOT NULL DEFAULT 0,
          last_after_ts bigint,
          complete boolean NOT NULL DEFAULT false,
          PRIMARY KEY (case_id, trigger_ts)
        );
        CREATE INDEX case_freeze_frames_open ON case_freeze_frames (trigger_ts) WHERE NOT complete;
        CREATE TABLE case_clears (
          site_id text NOT NULL,
          pack_id text NOT NULL,
          rule_id text NOT NULL,
          at bigint NOT NULL,
          PRIMARY KEY (site_id, pack_id, rule_id, at)
        );
        CREATE TABLE pack_state (
          site_id text NOT NULL,
          pack_id text NOT NULL,
          state text NOT NULL,
          PRIMARY KEY (site_id, pack_id)
        ) WITH (fillfactor = 50);`,
    },
    {
      version: 2,
      does: "remote commands' entries recorded once per (command, status)",
      // Every live node applies each command result: the key lets the timeline get it once.
      sql: `
        CREATE TABLE case_command_entries (
          command_id text NOT NULL,
          status text NOT NULL,
          case_id text NOT NULL,
          PRIMARY KEY (command_id, status)
        );`,
    },
  ],
};

/** Dead letters: any finite receivedAt, as the interface takes it. */
export const PG_DEAD_LETTER_SCHEMA: PgStoreSchema = {
  store: "dead-letters",
  steps: [
    {
      version: 1,
      does: "dead_letters",
      sql: `
        CREATE TABLE dead_letters (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          received_at double precision NOT NULL,
          topic text NOT NULL,
          payload text NOT NULL,
          reason text NOT NULL
        );`,
    },
  ],
};

export const PG_WEBHOOK_SCHEMA: PgStoreSchema = {
  store: "webhook-outbox",
  steps: [
    {
      version: 1,
      does: "webhook_deliveries and webhook_cursors",
      sql: `
        CREATE TABLE webhook_deliveries (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          key text NOT NULL UNIQUE,
          url text NOT NULL,
          body text NOT NULL,
          created_at double precision NOT NULL,
          attempts integer NOT NULL DEFAULT 0,
          next_attempt_at double precision NOT NULL,
          state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
          last_result text,
          delivered_at double precision
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_by_url ON webhook_deliveries (url, id) WHERE state = 'pending';
        CREATE TABLE webhook_cursors (
          name text PRIMARY KEY,
          value bigint NOT NULL
        );`,
    },
  ],
};

const commandStatuses = CommandStatus.options.map((s) => `'${s}'`).join(", ");

/** Remote commands (the live service's): a record a command, a capture's parts (the same part twice is kept once). */
export const PG_COMMAND_SCHEMA: PgStoreSchema = {
  store: "commands",
  steps: [
    {
      version: 1,
      does: "commands and command_parts",
      sql: `
        CREATE TABLE commands (
          id text PRIMARY KEY,
          seq bigint GENERATED ALWAYS AS IDENTITY,
          site_id text NOT NULL,
          pack_id text NOT NULL,
          status text NOT NULL CHECK (status IN (${commandStatuses})),
          created_at bigint NOT NULL,
          record text NOT NULL
        );
        CREATE INDEX commands_pack ON commands (site_id, pack_id, created_at, seq);
        CREATE INDEX commands_unfinished ON commands (created_at) WHERE status IN ('pending', 'sent');
        CREATE TABLE command_parts (
          id text NOT NULL,
          part integer NOT NULL,
          samples text NOT NULL,
          PRIMARY KEY (id, part)
        );`,
    },
  ],
};
