import { describe, expect, it } from "vitest";
import type { WebhookOutbox } from "../src/webhook-outbox";
import { storeBed } from "./store-bed";

const T0 = 1_750_000_000_000;

/** The behaviour every WebhookOutbox implementation must have. */
export function describeWebhookOutbox(name: string, open: (file: string) => WebhookOutbox | Promise<WebhookOutbox>): void {
  describe(`WebhookOutbox conformance: ${name}`, () => {
    const openStore = storeBed("bms-webhooks-", ["cases.db"], open);

    it("queues each key once and hands out due deliveries oldest first", async () => {
      const outbox = await openStore();
      expect(await outbox.enqueue([{ key: "a", url: "http://x/1", body: "{}", createdAt: T0 + 1 }])).toBe(1);
      expect(
        await outbox.enqueue([
          { key: "a", url: "http://x/1", body: "{}", createdAt: T0 + 5 },
          { key: "b", url: "http://x/2", body: '{"b":1}', createdAt: T0 },
        ]),
      ).toBe(1);
      expect((await outbox.due(T0 + 10, 10)).map((d) => d.key)).toEqual(["b", "a"]);
      expect(await outbox.due(T0 - 1, 10)).toEqual([]);
      expect(await outbox.nextDueAt()).toBe(T0);
    });

    it("keeps one endpoint's deliveries in order: a later one waits for the earlier one's retries", async () => {
      const outbox = await openStore();
      await outbox.enqueue([
        { key: "first", url: "http://x/same", body: "{}", createdAt: T0 },
        { key: "second", url: "http://x/same", body: "{}", createdAt: T0 + 1 },
        { key: "elsewhere", url: "http://x/other", body: "{}", createdAt: T0 + 2 },
      ]);
      const [first] = await outbox.due(T0 + 10, 10);
      expect((await outbox.due(T0 + 10, 10)).map((d) => d.key)).toEqual(["first", "elsewhere"]);
      await outbox.markFailed(first!.id, T0 + 10, "HTTP 503", T0 + 500);
      expect((await outbox.due(T0 + 20, 10)).map((d) => d.key)).toEqual(["elsewhere"]);
      await outbox.markDelivered(first!.id, T0 + 500, "HTTP 200");
      expect((await outbox.due(T0 + 500, 10)).map((d) => d.key)).toEqual(["second", "elsewhere"]);
    });

    it("records attempts: retries later, gives up, or delivers; and keeps the log across a reopen", async () => {
      const outbox = await openStore();
      await outbox.enqueue([
        { key: "a", url: "http://x/1", body: "{}", createdAt: T0 },
        { key: "b", url: "http://x/2", body: "{}", createdAt: T0 },
      ]);
      const [a, b] = await outbox.due(T0, 10);
      await outbox.markFailed(a!.id, T0 + 1, "HTTP 503", T0 + 1000);
      await outbox.markFailed(b!.id, T0 + 1, "connection refused", null);
      expect((await outbox.due(T0 + 999, 10)).map((d) => d.key)).toEqual([]);
      const retry = await outbox.due(T0 + 1000, 10);
      expect(retry.map((d) => [d.key, d.attempts, d.lastResult])).toEqual([["a", 1, "HTTP 503"]]);
      await outbox.markDelivered(a!.id, T0 + 1001, "HTTP 200");
      await outbox.close();
      const again = await openStore();
      expect(await again.due(T0 + 10_000, 10)).toEqual([]);
      expect(await again.nextDueAt()).toBeNull();
      const log = await again.list();
      expect(log.map((d) => [d.key, d.state, d.attempts, d.lastResult, d.deliveredAt])).toEqual([
        ["b", "failed", 1, "connection refused", null],
        ["a", "delivered", 2, "HTTP 200", T0 + 1001],
      ]);
      expect((await again.list({ state: "failed" })).map((d) => d.key)).toEqual(["b"]);
      await expect(again.list({ limit: 0 })).rejects.toThrow(/limit/);
    });

    it("keeps named cursors", async () => {
      const outbox = await openStore();
      expect(await outbox.getCursor("timeline")).toBe(0);
      await outbox.setCursor("timeline", 42);
      expect(await outbox.getCursor("timeline")).toBe(42);
      await expect(outbox.setCursor("timeline", -1)).rejects.toThrow(/cursor/);
    });

    it("refuses a malformed delivery", async () => {
      const outbox = await openStore();
      await expect(outbox.enqueue([{ key: "", url: "http://x", body: "{}", createdAt: T0 }])).rejects.toThrow(/key/);
      await expect(outbox.enqueue([{ key: "k", url: "http://x", body: "{}", createdAt: Number.NaN }])).rejects.toThrow();
    });
  });
}
