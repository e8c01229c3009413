import type { Logger } from "@bms/shared";
import { Backoff } from "@bms/shared";
import { type PackStateRow, type RuleCommand, type RuleCommandResult, type RuleLedger, StoreInputError } from "@bms/storage";
import type { IngestionMetrics } from "../ingestion-metrics";

/**
 * Commits a batch of rule changes, retrying a store that fails for a while (a locked or full
 * database) with backoff until it works: the batch's messages stay unacknowledged meanwhile, so
 * intake waits and nothing is lost. A command the store refuses as invalid (StoreInputError: a bug,
 * never a passing fault) would fail every retry: the batch is then committed without it, the
 * command logged and counted, so one bad firing cannot stop the rules.
 */
export class LedgerCommitter {
  private readonly backoff = new Backoff({ minMs: 100, maxMs: 5000 });
  private stopping = false;

  constructor(
    private readonly ledger: RuleLedger,
    private readonly metrics: IngestionMetrics,
    private readonly log: Logger,
  ) {}

  async commit(commands: readonly RuleCommand[], states: readonly PackStateRow[]): Promise<(RuleCommandResult | undefined)[]> {
    for (;;) {
      try {
        const results = await this.ledger.commit(commands, states);
        if (this.backoff.failures > 0) this.log.info({ failures: this.backoff.failures }, "the case store takes rule changes again");
        this.backoff.reset();
        return results;
      } catch (err) {
        this.metrics.caseStoreErrors.inc();
        if (err instanceof StoreInputError) return this.commitWithout(commands, states);
        if (this.stopping) throw err;
        const waitMs = this.backoff.next();
        this.log.error(
          { err, commands: commands.length, states: states.length, retryInMs: waitMs },
          "could not commit the rules' changes; retrying (intake waits)",
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** Stops retrying (close): a store that still fails leaves the batch uncommitted and its messages unacknowledged. */
  stop(): void {
    this.stopping = true;
  }

  /** One command at a time after the states, leaving out the ones the store refuses. */
  private async commitWithout(commands: readonly RuleCommand[], states: readonly PackStateRow[]): Promise<(RuleCommandResult | undefined)[]> {
    await this.commit([], states);
    const results: (RuleCommandResult | undefined)[] = [];
    for (const command of commands) {
      try {
        results.push((await this.ledger.commit([command], []))[0]);
      } catch (err) {
        if (!(err instanceof StoreInputError)) throw err;
        results.push(undefined);
        this.log.error({ err, command: command.kind }, "the case store refused a rule change as invalid; it is left out");
      }
    }
    return results;
  }
}
