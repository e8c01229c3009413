import {
  CaseAssignee,
  type CaseEvent,
  CaseNoteText,
  CaseStatus,
  CostLineInput,
  formatIssues,
  Id,
  type Logger,
  type PackCaseRollup,
  RuleId,
  SEVERITY_RANK,
  Severity,
  SparePartInput,
  type SupportCase,
} from "@bms/shared";
import type { EngineerRole } from "@bms/shared/config/live-config";
import { type CaseStore, CaseTransitionError, StoreInputError, type WebhookOutbox } from "@bms/storage";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { bearerToken, type Engineer, hasRole } from "./engineer-auth";
import type { LiveMetrics } from "./live-metrics";
import type { PackState } from "./pack-state";

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

/** Moves a case through the after-sales process (CASE_TRANSITIONS). */
export const CaseStatusChange = z.object({ status: CaseStatus, note: CaseNoteText.optional() }).strict();
export const CaseAcknowledge = z.object({ note: CaseNoteText.optional() }).strict();
export const CaseAssign = z.object({ assignee: CaseAssignee }).strict();
export const CaseNote = z.object({ text: CaseNoteText }).strict();

const CaseIdParams = z.object({ id: Id }).strict();
const PackParams = z.object({ siteId: Id, packId: Id }).strict();
const RollupQuery = z.object({ siteId: Id.optional() }).strict();
const DeliveryQuery = z
  .object({
    state: z.enum(["pending", "delivered", "failed"]).optional(),
    limit: Limit,
  })
  .strict();

export interface RestDeps {
  caseStore: CaseStore;
  webhookOutbox: WebhookOutbox;
  state: PackState;
  identify: (token: string | undefined) => Engineer | null;
  metrics: LiveMetrics;
  log: Logger;
  /** Tells local subscribers and every other live instance (via MQTT) about a changed case. */
  announceCaseEvent(event: CaseEvent): void;
}

declare module "fastify" {
  interface FastifyRequest {
    engineer: Engineer;
  }
}

function badRequest(reply: FastifyReply, error: z.ZodError): FastifyReply {
  return reply.code(400).send({ error: formatIssues(error.issues).join("\n") });
}

/** Parses or answers 400; `undefined` means the reply was sent. */
function parse<S extends z.ZodType>(schema: S, value: unknown, reply: FastifyReply): z.output<S> | undefined {
  const parsed = schema.safeParse(value ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  badRequest(reply, parsed.error);
  return undefined;
}

/** The bearer-token REST API, registered under `/api`. Roles: viewer reads; engineer works cases; admin also reads the webhook log. */
export async function restRoutes(app: FastifyInstance, deps: RestDeps): Promise<void> {
  const { caseStore, state } = deps;
  app.decorateRequest("engineer", null as unknown as Engineer);

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const engineer = deps.identify(bearerToken(request.headers.authorization));
    if (engineer) {
      request.engineer = engineer;
      return;
    }
    deps.metrics.httpUnauthorized.inc();
    // Same answer for a missing and a wrong token; the header tells clients how to authenticate.
    return reply.code(401).header("www-authenticate", 'Bearer realm="bms-live"').send({ error: "unauthorized: send Authorization: Bearer <engineer token>" });
  });

  const allowed = (request: FastifyRequest, reply: FastifyReply, needed: EngineerRole): boolean => {
    if (hasRole(request.engineer, needed)) return true;
    deps.metrics.httpForbidden.inc();
    reply.code(403).send({ error: `forbidden: this needs an ${needed} token, and ${request.engineer.name}'s token is a ${request.engineer.role} token` });
    return false;
  };

  const notFound = (reply: FastifyReply, id: string) => reply.code(404).send({ error: `no case with id ${id}` });

  /** Runs one engineer's change, maps store errors to 4xx, announces and returns the case with its details. */
  const change = async (
    request: FastifyRequest,
    reply: FastifyReply,
    what: string,
    run: (id: string, actor: string, at: number) => Promise<SupportCase | null>,
  ) => {
    const params = parse(CaseIdParams, request.params, reply);
    if (!params) return reply;
    let changed: SupportCase | null;
    try {
      changed = await run(params.id, request.engineer.name, Date.now());
    } catch (err) {
      if (err instanceof CaseTransitionError) return reply.code(409).send({ error: err.message });
      if (err instanceof StoreInputError) return reply.code(400).send({ error: err.message });
      throw err;
    }
    if (!changed) return notFound(reply, params.id);
    deps.announceCaseEvent({ type: changed.status === "closed" && what === "status" ? "closed" : "updated", case: changed });
    deps.log.info(
      { caseId: changed.id, siteId: changed.siteId, packId: changed.packId, status: changed.status, engineer: request.engineer.name, change: what },
      "case changed by an engineer",
    );
    return (await caseStore.get(changed.id, { details: true })) ?? changed;
  };

  app.get("/me", async (request) => request.engineer);

  app.get("/cases", async (request, reply) => {
    const query = parse(CaseListQuery, request.query, reply);
    if (!query) return reply;
    return caseStore.list(query);
  });

  app.get("/cases/:id", async (request, reply) => {
    const params = parse(CaseIdParams, request.params, reply);
    if (!params) return reply;
    return (await caseStore.get(params.id, { details: true })) ?? notFound(reply, params.id);
  });

  app.get("/cases/:id/timeline", async (request, reply) => {
    const params = parse(CaseIdParams, request.params, reply);
    if (!params) return reply;
    const found = await caseStore.get(params.id, { details: true });
    return found ? found.timeline : notFound(reply, params.id);
  });

  app.post("/cases/:id/status", async (request, reply) => {
    if (!allowed(request, reply, "engineer")) return reply;
    const body = parse(CaseStatusChange, request.body, reply);
    if (!body) return reply;
    return change(request, reply, "status", (id, actor, at) => caseStore.transition(id, body.status, actor, at, body.note));
  });

  app.post("/cases/:id/acknowledge", async (request, reply) => {
    if (!allowed(request, reply, "engineer")) return reply;
    const body = parse(CaseAcknowledge, request.body, reply);
    if (!body) return reply;
    return change(request, reply, "status", (id, actor, at) => caseStore.transition(id, "acknowledged", actor, at, body.note));
  });

  app.post("/cases/:id/assign", async (request, reply) => {
    if (!allowed(request, reply, "engineer")) return reply;
    const body = parse(CaseAssign, request.body, reply);
    if (!body) return reply;
    return change(request, reply, "assign", (id, actor, at) => caseStore.assign(id, body.assignee, actor, at));
  });

  app.post("/cases/:id/notes", async (request, reply) => {
    if (!allowed(request, reply, "engineer")) return reply;
    const body = parse(CaseNote, request.body, reply);
    if (!body) return reply;
    return change(request, reply, "note", (id, actor, at) => caseStore.addNote(id, body.text, actor, at));
  });

  app.post("/cases/:id/cost-lines", async (request, reply) => {
    if (!allowed(request, reply, "engineer")) return reply;
    const body = parse(CostLineInput, request.body, reply);
    if (!body) return reply;
    return change(request, reply, "cost-line", (id, actor, at) => caseStore.addCostLine(id, body, actor, at));
  });

  app.post("/cases/:id/spare-parts", async (request, reply) => {
    if (!allowed(request, reply, "engineer")) return reply;
    const body = parse(SparePartInput, request.body, reply);
    if (!body) return reply;
    return change(request, reply, "spare-part", (id, actor, at) => caseStore.addSparePart(id, body, actor, at));
  });

  app.get("/rollups", async (request, reply) => {
    const query = parse(RollupQuery, request.query, reply);
    if (!query) return reply;
    const active = await caseStore.list({ status: "active", limit: 10_000, ...(query.siteId ? { siteId: query.siteId } : {}) });
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

  app.get("/packs/:siteId/:packId/cases", async (request, reply) => {
    const params = parse(PackParams, request.params, reply);
    if (!params) return reply;
    return caseStore.rollup(params.siteId, params.packId);
  });

  app.get("/webhooks/deliveries", async (request, reply) => {
    if (!allowed(request, reply, "admin")) return reply;
    const query = parse(DeliveryQuery, request.query, reply);
    if (!query) return reply;
    const deliveries = await deps.webhookOutbox.list({ limit: query.limit, ...(query.state ? { state: query.state } : {}) });
    // The log, not the payloads: a body can be large and is the case itself (GET /api/cases/:id).
    return deliveries.map(({ body: _body, ...delivery }) => delivery);
  });

  app.get("/packs", async () => state.views());

  app.get("/packs/:siteId/:packId/history", async (request, reply) => {
    const params = parse(PackParams, request.params, reply);
    if (!params) return reply;
    const history = state.history(params.siteId, params.packId);
    if (!history) return reply.code(404).send({ error: `no pack ${params.siteId}/${params.packId}` });
    return history;
  });
}
