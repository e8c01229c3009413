import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../../../test/support/temp-dir";
import { GroupCommitLevel } from "../src/group-commit-level";

const buf = (text: string) => Buffer.from(text);
const text = (value: Buffer | undefined) => value?.toString();

describe("GroupCommitLevel", () => {
  let dir: TempDir;
  let db: ClassicLevel<string, Buffer>;
  let batches: number;
  let level: GroupCommitLevel;

  beforeEach(async () => {
    dir = makeTempDir("bms-group-commit-");
    db = new ClassicLevel<string, Buffer>(join(dir.path, "db"), { valueEncoding: "buffer" });
    await db.open();
    batches = 0;
    const batch = db.batch.bind(db) as (...args: unknown[]) => unknown;
    // Counts the database's batch calls; the writes themselves go through.
    (db as unknown as { batch: (...args: unknown[]) => unknown }).batch = (...args: unknown[]) => {
      if (args.length > 0) batches++;
      return batch(...args);
    };
    level = new GroupCommitLevel(db, 3);
  });
  afterEach(async () => {
    if (db.status === "open") await level.close();
    dir.remove();
  });

  it("writes what gathers meanwhile as one batch, and a write resolves once it is in the database", async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => level.put(`k${i}`, buf(`v${i}`))));
    expect(batches).toBeLessThanOrEqual(2);
    expect(text(await db.get("k0"))).toBe("v0");
    expect(text(await db.get("k99"))).toBe("v99");
  });

  it("reads a write before it is in the database, and a delete at once", async () => {
    const written = level.put("a", buf("1"));
    expect(text(await level.get("a"))).toBe("1");
    await written;
    const deleted = level.del("a");
    expect(await level.get("a")).toBeUndefined();
    await deleted;
    expect(await db.get("a")).toBeUndefined();
  });

  it("sends only a key's last write: put then delete in one batch leaves nothing", async () => {
    await Promise.all([level.put("x", buf("1")), level.put("x", buf("2")), level.del("x"), level.put("y", buf("3"))]);
    expect(await db.get("x")).toBeUndefined();
    expect(text(await db.get("y"))).toBe("3");
  });

  it("takes array and chained batches", async () => {
    await level.batch([
      { type: "put", key: "p", value: buf("1") },
      { type: "put", key: "q", value: buf("2") },
    ]);
    await level.batch().del("p").put("r", buf("3")).write();
    expect(await db.get("p")).toBeUndefined();
    expect([text(await db.get("q")), text(await db.get("r"))]).toEqual(["2", "3"]);
  });

  it("keeps only the most recent values for reads, and reads the rest from the database", async () => {
    await Promise.all(["a", "b", "c", "d", "e"].map((k) => level.put(k, buf(k.toUpperCase()))));
    await db.put("a", buf("changed behind its back"));
    // `a` left the 3-value cache: the database answers.
    expect(text(await level.get("a"))).toBe("changed behind its back");
    expect(text(await level.get("e"))).toBe("E");
  });

  it("lists and clears ranges only after the writes before them are in", async () => {
    void level.put("s:1", buf("1"));
    void level.put("s:2", buf("2"));
    const listed: string[] = [];
    for await (const v of level.values({ gte: "s:", lt: "s;" })) listed.push(v.toString());
    expect(listed).toEqual(["1", "2"]);
    void level.put("s:3", buf("3"));
    await level.clear({ gte: "s:", lt: "s;" });
    expect(await level.get("s:2")).toBeUndefined();
    expect(await db.get("s:3")).toBeUndefined();
  });

  it("a failed batch rejects its writes, and reads stop seeing them", async () => {
    (db as unknown as { batch: () => Promise<void> }).batch = () => Promise.reject(new Error("disk full"));
    const write = level.put("lost", buf("1"));
    await expect(write).rejects.toThrow("disk full");
    expect(await level.get("lost")).toBeUndefined();
  });

  it("refuses writes once closed, after writing what it had", async () => {
    const last = level.put("last", buf("1"));
    await level.close();
    await last;
    await expect(level.put("late", buf("2"))).rejects.toThrow(/closed/);
    const reopened = new ClassicLevel<string, Buffer>(join(dir.path, "db"), { valueEncoding: "buffer" });
    expect(text(await reopened.get("last"))).toBe("1");
    await reopened.close();
  });
});
