import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { openSqliteDeadLetterStore } from "../src/sqlite-dead-letter-store";
import { describeDeadLetterStore } from "./dead-letter-store.conformance";

describeDeadLetterStore("SQLite", openSqliteDeadLetterStore);

describe("SQLite dead letters: size caps", () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir("bms-dead-cap-");
  });
  afterEach(() => dir.remove());

  it("cuts an oversized payload and says so in the reason", async () => {
    const store = openSqliteDeadLetterStore(join(dir.path, "dl.db"), { maxPayloadChars: 10 });
    try {
      await store.add({ receivedAt: 1, topic: "t", payload: "0123456789abcdef", reason: "too long" });
      const [entry] = await store.list();
      expect(entry?.payload).toBe("0123456789");
      expect(entry?.reason).toMatch(/^too long \(payload of 16 characters cut to the first 10\)$/);
    } finally {
      await store.close();
    }
  });

  it("rejects nonsense options", () => {
    expect(() => openSqliteDeadLetterStore(join(dir.path, "x.db"), { maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => openSqliteDeadLetterStore(join(dir.path, "y.db"), { maxPayloadChars: -1 })).toThrow(/maxPayloadChars/);
  });
});
