import { Id } from "@bms/shared";
import { z } from "zod";
import { canSee } from "./engineer-auth";
import { HistoryUnavailableError } from "./history/history-source";
import type { RestDeps, ZodApp } from "./rest-types";

const HOUR_MS = 3_600_000;

/** ms since the epoch, as a query string. */
const EpochQuery = z
  .string()
  .regex(/^\d{1,15}$/, "ms since the Unix epoch, a whole number")
  .transform(Number);

const PackParams = z.object({ siteId: Id, packId: Id }).strict();

/** Points one history answer holds at most, 2–5000 (a query string). @default 1000 */
const MaxPoints = z
  .string()
  .regex(/^\d{1,4}$/, "a whole number from 2 to 5000")
  .transform(Number)
  .pipe(z.number().int().min(2).max(5000))
  .default(1000);

/** `?from=&to=&maxPoints=`: default the hour before `to`, and `to` now. */
const HistoryQuery = z
  .object({ from: EpochQuery.optional(), to: EpochQuery.optional(), maxPoints: MaxPoints })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: "from must not be after to", path: ["from"] });

const READ_PACK = { config: { role: "viewer", scope: "site" } } as const;

/** Who the token is, what the console needs to know (limits, case actions), and the live packs the token may see. */
export async function packRoutes(app: ZodApp, deps: RestDeps): Promise<void> {
  const { state, caseStore } = deps;

  app.get("/me", { config: { role: "viewer" } }, async (request) => {
    const { name, role, sites, customer } = request.engineer;
    return { name, role, sites: sites === null ? null : [...sites].sort(), customer };
  });

  app.get("/meta", { config: { role: "viewer" } }, async () => deps.meta);

  app.get("/packs", { config: { role: "viewer" } }, async (request) => state.views((siteId) => canSee(request.engineer, siteId)));

  app.get("/packs/:siteId/:packId", { ...READ_PACK, schema: { params: PackParams } }, async (request, reply) => {
    const { siteId, packId } = request.params;
    return state.view(siteId, packId) ?? reply.code(404).send({ error: `no pack ${siteId}/${packId}` });
  });

  app.get("/packs/:siteId/:packId/history", { ...READ_PACK, schema: { params: PackParams, querystring: HistoryQuery } }, async (request, reply) => {
    const { siteId, packId } = request.params;
    const to = request.query.to ?? Date.now();
    const from = request.query.from ?? to - HOUR_MS;
    const { primary, buffer } = deps.history;
    // Without a time-series server, a pack this service never heard of has no history to show.
    if (primary === buffer && !state.knows(siteId, packId)) return reply.code(404).send({ error: `no pack ${siteId}/${packId}` });
    const asked = { siteId, packId, from, to, maxPoints: request.query.maxPoints };
    const started = performance.now();
    try {
      const answer = await primary.read(asked);
      deps.metrics.historySeconds.observe({ source: primary.kind }, (performance.now() - started) / 1000);
      return { siteId, packId, source: primary.kind, ...answer };
    } catch (err) {
      if (!(err instanceof HistoryUnavailableError)) throw err;
      deps.metrics.historyFailures.inc();
      deps.log.warn({ siteId, packId, err: err.message }, "history from the live buffer: the time-series server did not answer");
      return { siteId, packId, source: buffer.kind, ...(await buffer.read(asked)), warning: `${err.message}; showing the live buffer instead` };
    }
  });

  app.get("/packs/:siteId/:packId/cases", { ...READ_PACK, schema: { params: PackParams } }, async (request) =>
    caseStore.rollup(request.params.siteId, request.params.packId),
  );
}
