import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CaseEvent, PackView, SitePackSample, SubscribeAck, SupportCase } from "@bms/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configProblems } from "../../../test/support/config-problems";
import { waitFor } from "../../../test/support/free-port";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { loadAccessList } from "../src/access-list";
import { collectFeed, connected, emitWithAck, type Harness, openCase, sample, startHarness, TOKEN } from "./live-harness";
import { startLiveProcess } from "./live-process";

/** Tokens scoped to sites (TOKENS_FILE, customers): REST, socket.io and the start-up checks. */
const ACME_VIEWER = "acme-viewer-token-0123456789";
const B_ENGINEER = "site-b-engineer-token-0123456789";
const B_ADMIN = "site-b-admin-token-0123456789";

const TOKENS_YAML = `
customers:
  - id: acme
    name: ACME Storage
    sites: [site-a1, site-a2]
tokens:
  - { token: ${ACME_VIEWER}, role: viewer, customer: acme }
  - { token: ${B_ENGINEER}, role: engineer, name: Bea, sites: [site-b] }
  - { token: ${B_ADMIN}, role: admin, name: Bob, sites: [site-b] }
`;

let h: Harness;
let dir: TempDir;
const cases: Record<string, SupportCase> = {};

function call(method: "GET" | "POST", path: string, token: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${h.live.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}
async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

beforeAll(async () => {
  dir = makeTempDir("bms-live-access-");
  const tokensFile = join(dir.path, "tokens.yaml");
  writeFileSync(tokensFile, TOKENS_YAML);
  h = await startHarness({ tokensFile });
  for (const siteId of ["site-a1", "site-a2", "site-b", "site-c"]) {
    await h.publish(`bms/${siteId}/pack-1/telemetry`, sample({ seq: 1 }));
    cases[siteId] = await openCase(h.caseStore, siteId, "pack-1");
  }
  await waitFor(async () => (await json<PackView[]>(await call("GET", "/api/packs", TOKEN))).length >= 4, 10_000, "the packs");
});
afterAll(async () => {
  await h?.close();
  dir?.remove();
});

describe("REST with a site-scoped token", () => {
  it("lists only the token's sites: packs, cases, roll-ups", async () => {
    const packs = await json<PackView[]>(await call("GET", "/api/packs", ACME_VIEWER));
    expect(packs.map((p) => p.siteId)).toEqual(["site-a1", "site-a2"]);
    const list = await json<SupportCase[]>(await call("GET", "/api/cases", ACME_VIEWER));
    expect(list.map((c) => c.siteId).sort()).toEqual(["site-a1", "site-a2"]);
    expect(await json(await call("GET", "/api/cases?siteId=site-b", ACME_VIEWER))).toEqual([]);
    expect((await json<SupportCase[]>(await call("GET", "/api/cases?siteId=site-a2", ACME_VIEWER))).map((c) => c.id)).toEqual([cases["site-a2"]?.id]);
    const limited = await json<SupportCase[]>(await call("GET", "/api/cases?limit=1", ACME_VIEWER));
    expect(limited).toHaveLength(1);
    const rollups = await json<Array<{ siteId: string }>>(await call("GET", "/api/rollups", ACME_VIEWER));
    expect(rollups.map((r) => r.siteId).sort()).toEqual(["site-a1", "site-a2"]);
    expect(await json(await call("GET", "/api/rollups?siteId=site-c", ACME_VIEWER))).toEqual([]);
  });

  it("answers another site's case exactly as an unknown one (404), for reads and changes", async () => {
    const other = cases["site-b"];
    if (!other) throw new Error("no case");
    const unknown = await call("GET", "/api/cases/no-such-case", ACME_VIEWER);
    const hidden = await call("GET", `/api/cases/${other.id}`, ACME_VIEWER);
    expect(hidden.status).toBe(404);
    expect((await json<{ error: string }>(hidden)).error).toBe(`no case with id ${other.id}`);
    expect(unknown.status).toBe(404);
    expect((await call("GET", `/api/cases/${other.id}/timeline`, ACME_VIEWER)).status).toBe(404);
    // An engineer of site-b cannot touch site-c's case; site-b's own it can.
    const foreign = cases["site-c"];
    if (!foreign) throw new Error("no case");
    expect((await call("POST", `/api/cases/${foreign.id}/acknowledge`, B_ENGINEER, {})).status).toBe(404);
    expect((await call("POST", `/api/cases/${foreign.id}/notes`, B_ENGINEER, { text: "peek" })).status).toBe(404);
    expect((await h.caseStore.get(foreign.id, { details: true }))?.timeline).toHaveLength(1);
    expect((await call("POST", `/api/cases/${other.id}/acknowledge`, B_ENGINEER, {})).status).toBe(200);
  });

  it("answers another site's pack with 404: history and cases", async () => {
    expect((await call("GET", "/api/packs/site-a1/pack-1/history", ACME_VIEWER)).status).toBe(200);
    const hidden = await call("GET", "/api/packs/site-c/pack-1/history", ACME_VIEWER);
    expect(hidden.status).toBe(404);
    expect(await json(hidden)).toEqual({ error: "no pack site-c/pack-1" });
    expect((await call("GET", "/api/packs/site-c/pack-1/cases", ACME_VIEWER)).status).toBe(404);
    expect((await call("GET", "/api/packs/site-a1/pack-1/cases", ACME_VIEWER)).status).toBe(200);
  });

  it("says who the token is: its sites, its customer, a default name that is not the token", async () => {
    const me = await json<{ name: string; role: string; sites: string[]; customer: unknown }>(await call("GET", "/api/me", ACME_VIEWER));
    expect(me).toEqual({
      name: expect.stringMatching(/^viewer-[0-9a-f]{6}$/),
      role: "viewer",
      sites: ["site-a1", "site-a2"],
      customer: { id: "acme", name: "ACME Storage" },
    });
    expect(me.name).not.toContain(ACME_VIEWER.slice(0, 6));
    expect(await json(await call("GET", "/api/me", B_ENGINEER))).toMatchObject({ name: "Bea", sites: ["site-b"], customer: null });
  });

  it("keeps the webhook log (every site's) for admins of every site", async () => {
    const res = await call("GET", "/api/webhooks/deliveries", B_ADMIN);
    expect(res.status).toBe(403);
    expect((await json<{ error: string }>(res)).error).toContain("of every site");
    expect((await call("GET", "/api/webhooks/deliveries", TOKEN)).status).toBe(200);
  });

  it("still lets the config's tokens (engineerTokens, ENGINEER_TOKEN) see every site", async () => {
    const packs = await json<PackView[]>(await call("GET", "/api/packs", TOKEN));
    expect(new Set(packs.map((p) => p.siteId))).toEqual(new Set(["site-a1", "site-a2", "site-b", "site-c"]));
  });
});

describe("socket.io with a site-scoped token", () => {
  it("refuses a subscribe to another site in its ack and sends nothing of it", async () => {
    const socket = h.socket({ token: ACME_VIEWER });
    await connected(socket);
    const { samples, cases: events } = collectFeed(socket);
    for (const request of [{ siteId: "site-b" }, { siteId: "site-c", packId: "pack-1" }, { siteId: "no-such-site" }]) {
      expect(await emitWithAck<SubscribeAck>(socket, "subscribe", request)).toEqual({ ok: false, error: `no site ${request.siteId} for this token` });
    }
    expect(await emitWithAck<SubscribeAck>(socket, "subscribe", { siteId: "site-a1" })).toEqual({ ok: true, room: "site:site-a1" });
    await waitFor(() => samples.length >= 1, 5000, "the site-a1 snapshot");

    // Samples and case events of every site, then a marker of its own site: only its own arrive.
    await h.publish("bms/site-b/pack-1/telemetry", sample({ seq: 2 }));
    await h.publish("bms/site-c/pack-1/telemetry", sample({ seq: 2 }));
    const bCase = cases["site-b"];
    const a1Case = cases["site-a1"];
    if (!bCase || !a1Case) throw new Error("no case");
    await h.publish("cases/site-b/pack-1", { type: "updated", case: bCase } satisfies CaseEvent);
    await h.publish("cases/site-a1/pack-1", { type: "updated", case: a1Case } satisfies CaseEvent);
    await h.publish("bms/site-a1/pack-1/telemetry", sample({ seq: 3, soc: 12.5 }));
    await waitFor(() => samples.some((s: SitePackSample) => s.soc === 12.5) && events.length >= 1, 5000, "the marker sample and case event");
    expect(samples.every((s) => s.siteId === "site-a1")).toBe(true);
    expect(events.map((e) => e.case.siteId)).toEqual(["site-a1"]);
  });
});

describe("loadAccessList", () => {
  it("resolves a config token's customer from TOKENS_FILE, and names a customer no file defines or a token given twice", () => {
    const tokensFile = join(dir.path, "tokens.yaml");
    const [entry] = loadAccessList({ engineerTokens: [{ token: "config-token-for-acme-01", role: "viewer", customer: "acme" }], tokensFile });
    expect(entry?.engineer).toMatchObject({ role: "viewer", sites: new Set(["site-a1", "site-a2"]), customer: { id: "acme", name: "ACME Storage" } });
    expect(
      configProblems(() =>
        loadAccessList({
          engineerTokens: [{ token: "config-token-for-acme-01", role: "viewer", customer: "acme" }, B_ENGINEER],
          tokensFile: undefined,
        }),
      ),
    ).toEqual(['engineerTokens.0.customer: no customer "acme" (customers are listed in TOKENS_FILE)']);
    expect(configProblems(() => loadAccessList({ engineerTokens: [B_ENGINEER], tokensFile }))).toEqual([
      `${tokensFile}: tokens.1.token: the same token as an earlier entry (engineerTokens, ENGINEER_TOKEN or TOKENS_FILE)`,
    ]);
  });
});

describe("start-up checks of TOKENS_FILE (through the command line)", () => {
  const run = (env: Record<string, string>) =>
    spawnSync(join(process.cwd(), "node_modules/.bin/tsx"), [join(process.cwd(), "services/live/src/main.ts")], {
      env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", HTTP_PORT: "0", MQTT_URL: h.mqttUrl, DATA_DIR: dir.path, ...env },
      encoding: "utf8",
      timeout: 20_000,
    });

  it("exits 2 with one line per problem naming the field, never a token's value", () => {
    const bad = join(dir.path, "bad-tokens.yaml");
    writeFileSync(
      bad,
      `
customers:
  - { id: acme, name: ACME, sites: [site/1] }
  - { id: acme, name: ACME again, sites: [s1] }
tokens:
  - { token: superuser-token-0123456789, role: superuser }
  - { token: unknown-customer-token-0123, role: viewer, customer: nobody }
  - { token: short, role: viewer }
  - { token: both-sites-and-customer-0123, role: viewer, sites: [s1], customer: acme }
  - { token: unknown-customer-token-0123, role: viewer, sites: [] }
  - { token: extra-key-token-0123456789, role: viewer, colour: blue }
`,
    );
    const result = run({ TOKENS_FILE: bad, ENGINEER_TOKEN: "an-admin-token-0123456789" });
    expect(result.status).toBe(2);
    const lines = result.stderr.split("\n").filter((l) => l.startsWith("  - "));
    for (const field of [
      "customers.0.sites.0",
      "customers.1.id",
      "tokens.0.role",
      "tokens.1.customer",
      "tokens.2.token",
      "tokens.3.customer",
      "tokens.4.sites",
      "tokens.4.token",
      "tokens.5",
    ]) {
      expect(
        lines.some((l) => l.startsWith(`  - ${field}`)),
        `${field} in\n${result.stderr}`,
      ).toBe(true);
    }
    expect(result.stderr).toContain(bad);
    expect(result.stderr).not.toMatch(/superuser-token|unknown-customer-token|both-sites-and/);
    expect(result.stderr).not.toContain("    at ");
  });

  it("exits 2 on a missing file, a file that is not YAML, and a file of no tokens without ENGINEER_TOKEN", () => {
    const missing = run({ TOKENS_FILE: join(dir.path, "nope.yaml") });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("cannot read the file");
    const broken = join(dir.path, "broken.yaml");
    writeFileSync(broken, "tokens: [ {");
    expect(run({ TOKENS_FILE: broken }).status).toBe(2);
    const empty = join(dir.path, "empty.yaml");
    writeFileSync(empty, "tokens: []\n");
    const none = run({ TOKENS_FILE: empty });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("no engineer token");
  });

  it("reads TOKENS_FILE from the environment; ENGINEER_TOKEN stays an admin of every site", async () => {
    const tokensFile = join(dir.path, "tokens.yaml");
    const live = await startLiveProcess({}, { TOKENS_FILE: tokensFile, ENGINEER_TOKEN: "env-admin-token-0123456789" });
    try {
      const me = (token: string) => fetch(`${live.url}/api/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json());
      expect(await me("env-admin-token-0123456789")).toEqual({ name: "admin", role: "admin", sites: null, customer: null });
      expect(await me(B_ENGINEER)).toMatchObject({ name: "Bea", role: "engineer", sites: ["site-b"] });
    } finally {
      await live.stop();
    }
  });
});
