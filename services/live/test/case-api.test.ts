import { join } from "node:path";
import type { CaseEvent, PackCaseRollup, SupportCase } from "@bms/shared";
import { openSqliteWebhookOutbox } from "@bms/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/free-port";
import { connected, ENGINEER_TOKEN, emitWithAck, type Harness, openCase, startHarness, TOKEN, VIEWER_TOKEN } from "./live-harness";

/** The engineers' case API: lifecycle, assignment, notes, costs, spare parts, roll-ups; roles; bad input. */
let h: Harness;

function call(method: "GET" | "POST", path: string, token: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${h.live.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
}
const post = (path: string, body: unknown, token = ENGINEER_TOKEN) => call("POST", path, token, body);
const get = (path: string, token = VIEWER_TOKEN) => call("GET", path, token);

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("the after-sales process over REST", () => {
  it("walks a case from open to closed, recording who did what and when, and tells socket.io", async () => {
    const opened = await openCase(h.caseStore, "site-a", "pack-1");
    const socket = h.socket({ token: VIEWER_TOKEN });
    await connected(socket);
    const events: CaseEvent[] = [];
    socket.on("case", (e: CaseEvent) => events.push(e));
    await emitWithAck(socket, "subscribe", { siteId: "site-a" });

    const ack = await post(`/api/cases/${opened.id}/acknowledge`, { note: "On it." });
    expect(ack.status).toBe(200);
    expect(await json<SupportCase>(ack)).toMatchObject({ status: "acknowledged", acknowledgedAt: expect.any(Number) });
    expect((await post(`/api/cases/${opened.id}/assign`, { assignee: "Ada" })).status).toBe(200);
    expect((await post(`/api/cases/${opened.id}/notes`, { text: "Customer reports the inverter shut down at noon." })).status).toBe(200);
    for (const status of ["remote-diagnosis", "on-site-visit", "resolved"]) {
      const res = await post(`/api/cases/${opened.id}/status`, { status, note: `now ${status}` });
      expect(res.status, status).toBe(200);
    }
    const closed = await post(`/api/cases/${opened.id}/status`, { status: "closed", note: "Customer confirmed." }, TOKEN);
    expect(closed.status).toBe(200);
    const done = await json<SupportCase>(closed);
    expect(done).toMatchObject({ status: "closed", assignee: "Ada", closedAt: expect.any(Number), resolvedAt: expect.any(Number) });
    expect(done.timeline?.map((e) => [e.kind, e.actor, e.message])).toEqual([
      ["opened", "rules", expect.stringContaining("Opened (major)")],
      ["status", "Ada", "open → acknowledged: On it."],
      ["assigned", "Ada", "Assigned to Ada."],
      ["note", "Ada", "Customer reports the inverter shut down at noon."],
      ["status", "Ada", "acknowledged → remote-diagnosis: now remote-diagnosis"],
      ["status", "Ada", "remote-diagnosis → on-site-visit: now on-site-visit"],
      ["status", "Ada", "on-site-visit → resolved: now resolved"],
      ["status", "admin", "resolved → closed: Customer confirmed."],
    ]);
    expect(done.timeline?.every((e) => e.at >= opened.openedAt && e.at <= Date.now())).toBe(true);
    const timeline = await get(`/api/cases/${opened.id}/timeline`);
    expect((await json<unknown[]>(timeline)).length).toBe(8);
    // One case event per change, to every socket of the site (a viewer's too).
    await waitFor(() => events.length >= 7, 5000, "a case event per change");
    expect(events.map((e) => [e.type, e.case.status])).toEqual([
      ["updated", "acknowledged"],
      ["updated", "acknowledged"],
      ["updated", "acknowledged"],
      ["updated", "remote-diagnosis"],
      ["updated", "on-site-visit"],
      ["updated", "resolved"],
      ["closed", "closed"],
    ]);
  });

  it("adds cost lines with the warranty's bearer by default, totals them, and records spare parts for the pack's BMS", async () => {
    const c = await openCase(h.caseStore, "site-a", "pack-2");
    const labour = await post(`/api/cases/${c.id}/cost-lines`, {
      category: "labour",
      description: "Remote session",
      quantity: 1.5,
      unitPrice: 80,
      currency: "EUR",
    });
    expect(labour.status).toBe(200);
    await post(`/api/cases/${c.id}/cost-lines`, { category: "personnel-transport", quantity: 120, unitPrice: 0.5, currency: "EUR", bearer: "customer" });
    const parts = await post(`/api/cases/${c.id}/spare-parts`, { part: "BMS-MAIN-48", quantity: 1 });
    const withParts = await json<SupportCase>(parts);
    expect(withParts.costLines.map((l) => [l.category, l.amount, l.bearer, l.addedBy])).toEqual([
      ["labour", 120, "company", "Ada"],
      ["personnel-transport", 60, "customer", "Ada"],
    ]);
    expect(withParts.costTotals).toEqual([{ currency: "EUR", company: 120, customer: 60 }]);
    expect(withParts.spareParts).toEqual([expect.objectContaining({ part: "BMS-MAIN-48", quantity: 1, bmsVersion: "1.2.3", addedBy: "Ada" })]);
    expect(withParts.warranty).toMatchObject({ coverage: "in-warranty", suggestion: "free" });
  });

  it("rolls a pack's cases up, and lists the packs with open cases worst first", async () => {
    await openCase(h.caseStore, "site-r", "pack-1", "cell-imbalance", { severity: "minor" });
    await openCase(h.caseStore, "site-r", "pack-1", "sensor-fault", { severity: "major" });
    await openCase(h.caseStore, "site-r", "pack-2", "no-data", { severity: "critical" });
    const rollup = await json<PackCaseRollup>(await get("/api/packs/site-r/pack-1/cases"));
    expect(rollup).toMatchObject({ siteId: "site-r", packId: "pack-1", worstSeverity: "major", activeCases: 2 });
    expect(rollup.rules.sort()).toEqual(["cell-imbalance", "sensor-fault"]);
    const one = await json<SupportCase>(await get(`/api/cases/${rollup.cases[0]?.id}`));
    expect(one.relatedCaseIds).toEqual([rollup.cases[1]?.id]);
    const all = await json<PackCaseRollup[]>(await get("/api/rollups?siteId=site-r"));
    expect(all.map((r) => [r.packId, r.worstSeverity, r.activeCases])).toEqual([
      ["pack-2", "critical", 1],
      ["pack-1", "major", 2],
    ]);
  });

  it("filters the list by status, severity, site, pack, rule and assignee", async () => {
    const a = await openCase(h.caseStore, "site-f", "pack-1", "over-temperature", { severity: "critical" });
    const b = await openCase(h.caseStore, "site-f", "pack-2", "low-soh", { severity: "warning" });
    await post(`/api/cases/${b.id}/acknowledge`, {});
    await post(`/api/cases/${b.id}/assign`, { assignee: "Grace" });
    const ids = async (query: string) => (await json<SupportCase[]>(await get(`/api/cases?siteId=site-f&${query}`))).map((c) => c.id);
    expect(await ids("severity=critical")).toEqual([a.id]);
    expect(await ids("severity=critical,warning")).toEqual([b.id, a.id]);
    expect(await ids("status=acknowledged")).toEqual([b.id]);
    expect(await ids("status=open,acknowledged")).toEqual([b.id, a.id]);
    expect(await ids("status=active&packId=pack-1")).toEqual([a.id]);
    expect(await ids("ruleId=low-soh")).toEqual([b.id]);
    expect(await ids("assignee=Grace")).toEqual([b.id]);
    const bad = await get("/api/cases?status=open,bogus&severity=huge");
    expect(bad.status).toBe(400);
    expect((await json<{ error: string }>(bad)).error).toMatch(/status/);
  });
});

describe("roles", () => {
  it("lets a viewer read but not change a case", async () => {
    const c = await openCase(h.caseStore, "site-v", "pack-1");
    expect((await get(`/api/cases/${c.id}`, VIEWER_TOKEN)).status).toBe(200);
    expect(await json(await get("/api/me", VIEWER_TOKEN))).toEqual({ name: "Vera", role: "viewer", sites: null, customer: null });
    for (const [path, body] of [
      [`/api/cases/${c.id}/acknowledge`, {}],
      [`/api/cases/${c.id}/status`, { status: "acknowledged" }],
      [`/api/cases/${c.id}/assign`, { assignee: "Vera" }],
      [`/api/cases/${c.id}/notes`, { text: "hi" }],
      [`/api/cases/${c.id}/cost-lines`, { category: "labour", quantity: 1, unitPrice: 1, currency: "EUR" }],
      [`/api/cases/${c.id}/spare-parts`, { part: "X", quantity: 1 }],
      // Even a malformed body: the role is checked first.
      [`/api/cases/${c.id}/status`, { status: 42 }],
    ] as const) {
      const res = await post(path, body, VIEWER_TOKEN);
      expect(res.status, path).toBe(403);
      expect((await json<{ error: string }>(res)).error).toBe("forbidden: this needs an engineer token, and Vera's token is a viewer token");
    }
    const after = await h.caseStore.get(c.id, { details: true });
    expect(after).toMatchObject({ status: "open", assignee: null });
    expect(after?.timeline).toHaveLength(1);
  });

  it("shows the webhook log to admins only", async () => {
    const outbox = openSqliteWebhookOutbox(join(h.dataDir, "cases.db"));
    await outbox.enqueue([{ key: "d1", url: "https://hotline.example/hook", body: '{"secret":"payload"}', createdAt: Date.now() }]);
    await outbox.close();
    expect((await get("/api/webhooks/deliveries", ENGINEER_TOKEN)).status).toBe(403);
    const res = await get("/api/webhooks/deliveries", TOKEN);
    expect(res.status).toBe(200);
    const log = await json<Record<string, unknown>[]>(res);
    expect(log).toEqual([expect.objectContaining({ key: "d1", url: "https://hotline.example/hook", state: "pending", attempts: 0 })]);
    expect(log[0]).not.toHaveProperty("body");
    expect((await get("/api/webhooks/deliveries?state=nope", TOKEN)).status).toBe(400);
  });
});

describe("bad input and bad moves get a 4xx with a clear message", () => {
  it("refuses to close a case that was never acknowledged, naming what it can become", async () => {
    const c = await openCase(h.caseStore, "site-b", "pack-1");
    const res = await post(`/api/cases/${c.id}/status`, { status: "closed" });
    expect(res.status).toBe(409);
    expect((await json<{ error: string }>(res)).error).toBe(`case ${c.id} is open and cannot become closed: from open it can only become acknowledged`);
    await post(`/api/cases/${c.id}/acknowledge`, {});
    const twice = await post(`/api/cases/${c.id}/acknowledge`, {});
    expect(twice.status).toBe(409);
    expect((await json<{ error: string }>(twice)).error).toMatch(
      /is acknowledged and cannot become acknowledged: from acknowledged it can only become remote-diagnosis or resolved/,
    );
  });

  it.each([
    [
      "an unknown state",
      "status",
      { status: "escalated" },
      /status: Invalid option: expected one of "open"\|"acknowledged"\|"remote-diagnosis"\|"on-site-visit"\|"resolved"\|"closed"/,
    ],
    ["a missing state", "status", {}, /^status: Invalid option: .*, got nothing$/],
    ["an empty note", "notes", { text: "" }, /text: a note needs some text/],
    ["a note that is not text", "notes", { text: { html: "<b>" } }, /text: expected string/],
    ["an assignee of the wrong type", "assign", { assignee: 7 }, /assignee/],
    ["an unknown cost category", "cost-lines", { category: "beer", quantity: 1, unitPrice: 1, currency: "EUR" }, /category: Invalid option/],
    ["a negative quantity", "cost-lines", { category: "labour", quantity: -2, unitPrice: 1, currency: "EUR" }, /quantity: Too small/],
    [
      "a currency that is not ISO 4217",
      "cost-lines",
      { category: "labour", quantity: 1, unitPrice: 1, currency: "euro" },
      /currency: a currency code like EUR/,
    ],
    ["an unknown bearer", "cost-lines", { category: "labour", quantity: 1, unitPrice: 1, currency: "EUR", bearer: "insurer" }, /bearer/],
    ["a spare part without a part number", "spare-parts", { quantity: 1 }, /part: expected string/],
    ["half a spare part", "spare-parts", { part: "X", quantity: 0.5 }, /quantity/],
    ["an extra field", "notes", { text: "x", by: "someone else" }, /Unrecognized key: "by"/],
    ["invalid JSON", "notes", "{not json", /JSON/],
  ])("%s", async (what, action, body, message) => {
    const c = await openCase(h.caseStore, "site-b", `pack-${what.replaceAll(/[^a-z0-9]/gi, "-").slice(0, 60)}`);
    const res = await post(`/api/cases/${c.id}/${action}`, body);
    expect(res.status).toBe(400);
    const { error } = await json<{ error: string }>(res);
    expect(error).toMatch(message);
    expect((await h.caseStore.get(c.id, { details: true }))?.timeline).toHaveLength(1);
  });

  it("404 for an unknown case, 400 for an id that cannot be one, 401 without a token", async () => {
    expect((await post("/api/cases/no-such-case/notes", { text: "x" })).status).toBe(404);
    expect((await post("/api/cases/a%2Fb/notes", { text: "x" })).status).toBe(400);
    expect((await call("POST", "/api/cases/x/notes", "not-a-token-at-all-no", { text: "x" })).status).toBe(401);
  });

  it("a cost line on a case whose warranty could not be assessed needs a bearer", async () => {
    const c = await openCase(h.caseStore, "site-b", "pack-nowarranty", "low-soh", { warranty: null });
    const res = await post(`/api/cases/${c.id}/cost-lines`, { category: "freight", quantity: 1, unitPrice: 30, currency: "EUR" });
    expect(res.status).toBe(400);
    expect((await json<{ error: string }>(res)).error).toMatch(/^bearer: the warranty could not be assessed/);
  });
});
