import {
  CaseAssignee,
  CaseNoteText,
  CaseStatus,
  CostLineInput,
  Id,
  type PackCaseRollup,
  RuleId,
  SEVERITY_RANK,
  Severity,
  SparePartInput,
  type SupportCase,
} from "@bms/shared";
import { type CaseFilter, CaseTransitionError, StoreInputError } from "@bms/storage";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Engineer } from "./engineer-auth";
import type { RestDeps, ZodApp } from "./rest-types";

/** A list's length, 1–1000 (a query string). @default 100 */
const Limit = z
  .string()
  .regex(/^\d{1,4}$/, "a whole number from 1 to 1000")
  .transform(Number)
  .pipe(z.number().int().min(1).max(1000))
  .default(100);

/** `a,b,c` → [a, b, c]. */
const words = z
  .string()
  .max(500)
  .transform((text) => text.split(","));

/** `GET /api/cases` query. Unknown keys are refused so that a typo is not silently ignored. */
export const CaseListQuery = z
  .object({
    /** One status, several separated by commas, or `active` (every status but closed). */
    status: z.union([z.literal("active"), words.pipe(z.array(CaseStatus).min(1))]).optional(),
    /** One severity or several separated by commas. */
    severity: words.pipe(z.array(Severity).min(1)).optional(),
    siteId: Id.optional(),
    packId: Id.optional(),
    ruleId: RuleId.optional(),
    assignee: z.string().min(1).max(128).optional(),
    limit: Limit,
  })
  .strict();

/** A body that may be left out (fastify hands a missing body over as null). */
const optionalBody = <S extends z.ZodType>(schema: S) => z.preprocess((body) => body ?? {}, schema);

/** Moves a case through the after-sales process (CASE_TRANSITIONS). */
export const CaseStatusChange = z.object({ status: CaseStatus, note: CaseNoteText.optional() }).strict();
export const CaseAcknowledge = z.object({ note: CaseNoteText.optional() }).strict();
export const CaseAssign = z.object({ assignee: CaseAssignee }).strict();
export const CaseNote = z.object({ text: CaseNoteText }).strict();

const CaseIdParams = z.object({ id: Id }).strict();
const RollupQuery = z.object({ siteId: Id.optional() }).strict();
const DeliveryQuery = z
  .object({
    state: z.enum(["pending", "delivered", "failed"]).optional(),
    limit: Limit,
  })
  .strict();

/** What each kind of route declares: who may call it and what it is about. */
const READ_CASE = { config: { role: "viewer", scope: "case" } } as const;
const WORK_CASE = { config: { role: "engineer", scope: "case" } } as const;

/**
 * Cases through the after-sales process: lists (only the token's sites), one case, its timeline,
 * the engineer's changes, roll-ups, and the ingestion's webhook log for admins of every site.
 */
export async function caseRoutes(app: ZodApp, deps: RestDeps): Promise<void> {
  const { caseStore } = deps;

  /** The store's list, limited to the token's sites (one query per site for a site-scoped token). */
  const listVisible = async (engineer: Engineer, filter: CaseFilter & { limit: number }): Promise<SupportCase[]> => {
    if (engineer.sites === null) return caseStore.list(filter);
    const sites = filter.siteId === undefined ? [...engineer.sites] : engineer.sites.has(filter.siteId) ? [filter.siteId] : [];
    const lists = await Promise.all(sites.map((siteId) => caseStore.list({ ...filter, siteId })));
    return lists
      .flat()
      .sort((a, b) => b.openedAt - a.openedAt)
      .slice(0, filter.limit);
  };

  /** Runs one engineer's change, maps store errors to 4xx, announces and returns the case with its details. */
  const change = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    what: string,
    run: (actor: string, at: number) => Promise<SupportCase | null>,
  ) => {
    let changed: SupportCase | null;
    try {
      changed = await run(request.engineer.name, Date.now());
    } catch (err) {
      if (err instanceof CaseTransitionError) return reply.code(409).send({ error: err.message });
      if (err instanceof StoreInputError) return reply.code(400).send({ error: err.message });
      throw err;
    }
    if (!changed) return reply.code(404).send({ error: `no case with id ${id}` });
    deps.announceCaseEvent({ type: changed.status === "closed" && what === "status" ? "closed" : "updated", case: changed });
    deps.log.info(
      { caseId: changed.id, siteId: changed.siteId, packId: changed.packId, status: changed.status, engineer: request.engineer.name, change: what },
      "case changed by an engineer",
    );
    return (await caseStore.get(changed.id, { details: true })) ?? changed;
  };

  app.get("/cases", { config: { role: "viewer" }, schema: { querystring: CaseListQuery } }, async (request) => listVisible(request.engineer, request.query));

  app.get("/cases/:id", { ...READ_CASE, schema: { params: CaseIdParams } }, async (request, reply) => {
    return (await caseStore.get(request.params.id, { details: true })) ?? reply.code(404).send({ error: `no case with id ${request.params.id}` });
  });

  app.get("/cases/:id/timeline", { ...READ_CASE, schema: { params: CaseIdParams } }, async (request) => {
    const found = await caseStore.get(request.params.id, { details: true });
    return found?.timeline ?? [];
  });

  app.post("/cases/:id/status", { ...WORK_CASE, schema: { params: CaseIdParams, body: CaseStatusChange } }, async (request, reply) => {
    const { status, note } = request.body;
    return change(request, reply, request.params.id, "status", (actor, at) => caseStore.transition(request.params.id, status, actor, at, note));
  });

  app.post("/cases/:id/acknowledge", { ...WORK_CASE, schema: { params: CaseIdParams, body: optionalBody(CaseAcknowledge) } }, async (request, reply) =>
    change(request, reply, request.params.id, "status", (actor, at) => caseStore.transition(request.params.id, "acknowledged", actor, at, request.body.note)),
  );

  app.post("/cases/:id/assign", { ...WORK_CASE, schema: { params: CaseIdParams, body: CaseAssign } }, async (request, reply) =>
    change(request, reply, request.params.id, "assign", (actor, at) => caseStore.assign(request.params.id, request.body.assignee, actor, at)),
  );

  app.post("/cases/:id/notes", { ...WORK_CASE, schema: { params: CaseIdParams, body: CaseNote } }, async (request, reply) =>
    change(request, reply, request.params.id, "note", (actor, at) => caseStore.addNote(request.params.id, request.body.text, actor, at)),
  );

  app.post("/cases/:id/cost-lines", { ...WORK_CASE, schema: { params: CaseIdParams, body: CostLineInput } }, async (request, reply) =>
    change(request, reply, request.params.id, "cost-line", (actor, at) => caseStore.addCostLine(request.params.id, request.body, actor, at)),
  );

  app.post("/cases/:id/spare-parts", { ...WORK_CASE, schema: { params: CaseIdParams, body: SparePartInput } }, async (request, reply) =>
    change(request, reply, request.params.id, "spare-part", (actor, at) => caseStore.addSparePart(request.params.id, request.body, actor, at)),
  );

  app.get("/rollups", { config: { role: "viewer" }, schema: { querystring: RollupQuery } }, async (request) => {
    const active = await listVisible(request.engineer, { status: "active", limit: 10_000, ...(request.query.siteId ? { siteId: request.query.siteId } : {}) });
    const packs = new Map<string, PackCaseRollup>();
    for (const c of active) {
      const key = `${c.siteId}/${c.packId}`;
      const rollup = packs.get(key) ?? { siteId: c.siteId, packId: c.packId, worstSeverity: null, activeCases: 0, rules: [], cases: [] };
      rollup.cases.push(c);
      rollup.activeCases++;
      if (!rollup.rules.includes(c.ruleId)) rollup.rules.push(c.ruleId);
      if (rollup.worstSeverity === null || SEVERITY_RANK[c.severity] > SEVERITY_RANK[rollup.worstSeverity]) rollup.worstSeverity = c.severity;
      packs.set(key, rollup);
    }
    return [...packs.values()].sort(
      (a, b) => SEVERITY_RANK[b.worstSeverity ?? "warning"] - SEVERITY_RANK[a.worstSeverity ?? "warning"] || b.activeCases - a.activeCases,
    );
  });

  app.get("/webhooks/deliveries", { config: { role: "admin", allSites: true }, schema: { querystring: DeliveryQuery } }, async (request) => {
    const deliveries = await deps.webhookOutbox.list({ limit: request.query.limit, ...(request.query.state ? { state: request.query.state } : {}) });
    // The log, not the payloads: a body can be large and is the case itself (GET /api/cases/:id).
    return deliveries.map(({ body: _body, ...delivery }) => delivery);
  });
}
