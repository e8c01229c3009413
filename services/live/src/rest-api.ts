import { formatIssues } from "@bms/shared";
import type { FastifyReply, FastifyRequest, FastifySchemaCompiler } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { z } from "zod";
import { caseRoutes } from "./case-routes";
import { commandRoutes } from "./commands/command-routes";
import { bearerToken, canSee, type Engineer, hasRole } from "./engineer-auth";
import { fleetRoutes } from "./fleet-routes";
import { healthRoutes } from "./health-routes";
import { packRoutes } from "./pack-routes";
import type { RestDeps } from "./rest-types";

/**
 * Validates a request part with the route's zod schema (the type provider types the handler from
 * the same schema). The compiler is ours rather than the provider's only for the message: a 400
 * with one line per problem naming the field, what was expected and what was there.
 */
const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const parsed = schema.safeParse(data, { reportInput: true });
    return parsed.success ? { value: parsed.data } : { error: new Error(formatIssues(parsed.error.issues).join("\n")) };
  };

const article = (word: string) => (/^[aeiou]/.test(word) ? "an" : "a");

function stringParam(params: unknown, name: string): string | undefined {
  if (typeof params !== "object" || params === null || !(name in params)) return undefined;
  const value = (params as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * The bearer-token REST API, registered under `/api`. Three hooks do what every route needs, from
 * what the route declares: `onRequest` refuses a throttled address (429), a missing or wrong token
 * (401, the address's failure counted) and a role below the route's `config.role` (403);
 * `preHandler` (after the route's zod schemas validated params, query and body: 400) answers 404 for a case
 * or site the token may not see. Handlers only do their work.
 */
export const restApi: FastifyPluginAsyncZod<RestDeps> = async (app, deps) => {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.decorateRequest("engineer", null as unknown as Engineer);

  app.addHook("onRoute", (route) => {
    if (route.config?.role === undefined) throw new Error(`route ${route.method} ${route.url} declares no role (config.role)`);
  });

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const now = Date.now();
    const address = deps.clientAddress(request.raw);
    const verdict = deps.throttle.check(address, now);
    if (!verdict.allowed) {
      deps.metrics.loginThrottled.inc({ transport: "rest" });
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      return reply
        .code(429)
        .header("retry-after", String(seconds))
        .send({ error: `too many failed logins from this address; retry in ${seconds} s`, retryAfterMs: verdict.retryAfterMs });
    }
    const token = bearerToken(request.headers.authorization);
    const engineer = deps.identify(token);
    if (!engineer) {
      deps.metrics.httpUnauthorized.inc();
      // Only a presented token is a guess; a request without one is throttled by nothing.
      if (request.headers.authorization !== undefined) {
        const delayMs = deps.throttle.failed(address, now);
        deps.metrics.loginFailures.inc({ transport: "rest" });
        deps.log.info({ address, delayMs, url: request.url.slice(0, 200) }, "REST login failed");
      }
      // Same answer for a missing and a wrong token; the header tells clients how to authenticate.
      return reply.code(401).header("www-authenticate", 'Bearer realm="bms-live"').send({ error: "unauthorized: send Authorization: Bearer <engineer token>" });
    }
    request.engineer = engineer;
    const { role = "admin", allSites = false } = request.routeOptions.config;
    if (!hasRole(engineer, role) || (allSites && engineer.sites !== null)) {
      deps.metrics.httpForbidden.inc();
      const needed = `${article(role)} ${role} token${allSites ? " of every site" : ""}`;
      const has = `${article(engineer.role)} ${engineer.role} token${allSites ? " of some sites" : ""}`;
      return reply.code(403).send({ error: `forbidden: this needs ${needed}, and ${engineer.name}'s token is ${has}` });
    }
  });

  app.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    const scope = request.routeOptions.config.scope;
    if (scope === "site") {
      const siteId = stringParam(request.params, "siteId");
      if (siteId !== undefined && !canSee(request.engineer, siteId)) {
        return reply.code(404).send({ error: `no pack ${siteId}/${stringParam(request.params, "packId") ?? ""}` });
      }
    } else if (scope === "case") {
      const id = stringParam(request.params, "id") ?? "";
      const found = await deps.caseStore.get(id);
      // Another site's case answers exactly as an unknown one.
      if (!found || !canSee(request.engineer, found.siteId)) return reply.code(404).send({ error: `no case with id ${id}` });
    }
  });

  await caseRoutes(app, deps);
  await packRoutes(app, deps);
  await commandRoutes(app, deps);
  await healthRoutes(app, deps);
  await fleetRoutes(app, deps);
};
