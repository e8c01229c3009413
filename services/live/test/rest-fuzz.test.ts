import type { SupportCase } from "@bms/shared";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINEER_TOKEN, type Harness, openCase, sample, startHarness, TOKEN } from "./live-harness";

/**
 * Property-based tests over what a client can send the REST API: random and adversarial JSON
 * bodies (deep nesting, huge strings, prototype keys, wrong types, any unicode) and query strings.
 * Whatever comes in: a clear 4xx (JSON `{ error }`) or a success, never a 500, never a hang.
 */
let h: Harness;
let target: SupportCase;

/** A request that must answer within 5 s (a hang fails the property). */
async function send(method: "GET" | "POST", path: string, body?: string, contentType = "application/json") {
  const headers: Record<string, string> = { authorization: `Bearer ${method === "GET" ? TOKEN : ENGINEER_TOKEN}` };
  if (body !== undefined) headers["content-type"] = contentType;
  const res = await fetch(`${h.live.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, text };
}

/** Never a 5xx; a 4xx is JSON with a readable `error` and no stack trace. */
function expectClear(answer: { status: number; text: string }, what: string): void {
  expect(answer.status, `${what} → ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  if (answer.status >= 400) {
    const parsed = JSON.parse(answer.text) as { error?: unknown };
    expect(typeof parsed.error, what).toBe("string");
    expect(answer.text, what).not.toContain("    at ");
  }
}

const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "__defineGetter__"];
const FIELDS = ["status", "note", "text", "assignee", "category", "quantity", "unitPrice", "currency", "bearer", "part", "bmsVersion", "description"];

/** Any JSON value, with the field names the API knows and prototype keys among the keys. */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 0.5, 2 ** 53 + 1),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom("open", "acknowledged", "closed", "labour", "EUR", "customer", "", " ", "\u0000", "\u202e", "😀".repeat(20)),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS, ...PROTO_KEYS), fc.string({ maxLength: 10 })), tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** Bodies no generator makes by chance: deep nesting, huge strings, prototype pollution in raw JSON. `true`: refused on every route. */
const ADVERSARIAL_BODIES: ReadonlyArray<[string, boolean]> = [
  [`${"[".repeat(5000)}${"]".repeat(5000)}`, true],
  [`{"note":${"[".repeat(5000)}${"]".repeat(5000)}}`, true],
  [`{"status":${'{"a":'.repeat(2000)}1${"}".repeat(2000)}}`, true],
  [`{"text":"${"x".repeat(15_000)}"}`, true],
  [`{"text":"${"x".repeat(100_000)}"}`, true],
  ['{"__proto__":{"role":"admin"},"text":"x"}', true],
  ['{"constructor":{"prototype":{"role":"admin"}},"text":"x"}', true],
  ["[]", true],
  ['"just a string"', true],
  ["12345", true],
  ["true", true],
  ["{", true],
  ["\u0000", true],
  ["{}".repeat(5000), true],
  // Text a note may hold (the last of duplicate keys wins, as in JSON.parse): accepted there, refused elsewhere.
  [`{"text":"${"\\u0000".repeat(2000)}"}`, false],
  [`{"text":"${"\\ud800".repeat(100)}"}`, false],
  ['{"text":"x","text":"y"}', false],
];

const ROUTES = ["status", "acknowledge", "assign", "notes", "cost-lines", "spare-parts"] as const;

beforeAll(async () => {
  h = await startHarness();
  target = await openCase(h.caseStore, "site-f", "pack-1");
  await h.publish("bms/site-f/pack-1/telemetry", sample());
});
afterAll(async () => {
  await h?.close();
});

describe("REST bodies", () => {
  it("any JSON body on any case route: a clear 4xx or a success, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), hostileJson, async (route, body) => {
        expectClear(await send("POST", `/api/cases/${target.id}/${route}`, JSON.stringify(body)), `${route} ${JSON.stringify(body).slice(0, 200)}`);
      }),
      { numRuns: 400 },
    );
  }, 120_000);

  it("any bytes as a body, with any content type: a clear 4xx, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.string({ unit: "binary", maxLength: 200 }),
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-16",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "",
        ),
        async (route, body, contentType) => {
          expectClear(
            await send("POST", `/api/cases/${target.id}/${route}`, body, contentType),
            `${route} ${contentType} ${JSON.stringify(body).slice(0, 100)}`,
          );
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);

  it.each(ADVERSARIAL_BODIES.map(([body, refused]) => [body.length > 60 ? `${body.slice(0, 60)}… (${body.length} chars)` : body, body, refused]))(
    "the adversarial body %s: a clear 4xx",
    async (_what, body, refused) => {
      for (const route of ROUTES) {
        const answer = await send("POST", `/api/cases/${target.id}/${route}`, body);
        expectClear(answer, route);
        if (refused) expect(answer.status, `${route} ${answer.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      }
    },
  );

  it("leaves no trace of pollution: the service keeps working and objects keep their prototype", async () => {
    await send("POST", `/api/cases/${target.id}/notes`, '{"__proto__":{"polluted":true},"text":"x"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const me = await send("GET", "/api/me");
    expect(JSON.parse(me.text)).toMatchObject({ role: "admin" });
    // The case only took what was valid (the note of the fuzzing runs that were valid).
    expect((await send("GET", `/api/cases/${target.id}`)).status).toBe(200);
  });
});

describe("REST query strings and paths", () => {
  const QUERY_ROUTES = ["/api/cases", "/api/rollups", "/api/packs/site-f/pack-1/history", "/api/webhooks/deliveries", "/api/packs", "/api/me", "/api/meta"];
  const key = fc.oneof(
    fc.constantFrom("status", "severity", "siteId", "packId", "ruleId", "assignee", "limit", "from", "to", "state", ...PROTO_KEYS),
    fc.string({ unit: "grapheme", maxLength: 12 }),
  );
  const value = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 30 }),
    fc.constantFrom(
      "",
      "active",
      "open,closed",
      "0",
      "-1",
      "1e3",
      "99999999999999999999",
      "NaN",
      "%",
      "%zz",
      "%00",
      "%ff%fe",
      "a".repeat(5000),
      "1,".repeat(500),
    ),
    fc.bigInt().map(String),
  );

  it("any query string: 200 or a clear 4xx, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...QUERY_ROUTES), fc.array(fc.tuple(key, value), { maxLength: 6 }), fc.boolean(), async (route, pairs, raw) => {
        // Half the time the pairs are sent unencoded, so broken escapes reach the parser as they are.
        const query = pairs.map(([k, v]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join("&");
        let path = `${route}?${query}`;
        try {
          path = new URL(path, h.live.url).pathname + new URL(path, h.live.url).search;
        } catch {
          return;
        }
        expectClear(await send("GET", path), path.slice(0, 200));
      }),
      { numRuns: 500 },
    );
  }, 120_000);

  it("any path parameter: a clear 4xx or an answer, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 80 }), fc.string({ unit: "grapheme", maxLength: 80 }), async (a, b) => {
        for (const path of [
          `/api/cases/${encodeURIComponent(a)}`,
          `/api/cases/${encodeURIComponent(a)}/timeline`,
          `/api/packs/${encodeURIComponent(a)}/${encodeURIComponent(b)}/history`,
        ]) {
          expectClear(await send("GET", path), path.slice(0, 200));
        }
        expectClear(await send("POST", `/api/cases/${encodeURIComponent(a)}/notes`, '{"text":"x"}'), a);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
