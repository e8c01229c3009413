import { describe, expect, it } from "vitest";
import { IntakeBatcher } from "../src/intake/intake-batcher";

describe("the intake batcher (group commit)", () => {
  it("takes messages at once while there is room, and makes the taker wait past maxPending until a commit frees room", async () => {
    const commits: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new IntakeBatcher<number>({ maxBatch: 3, maxDelayMs: 0, maxPending: 5 }, async (batch) => {
      commits.push(batch);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    // Four fit; the fifth fills the room, so the taker waits for it.
    for (let i = 1; i <= 4; i++) expect(batcher.take(i)).toBeUndefined();
    const waiting = batcher.take(5);
    expect(waiting).toBeInstanceOf(Promise);
    let free = false;
    void waiting?.then(() => {
      free = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    // The first batch (a full one, at most maxBatch) is committing; nothing is freed yet.
    expect(commits).toEqual([[1, 2, 3]]);
    expect(free).toBe(false);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(free).toBe(true);
    expect(commits).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    release();
    await batcher.drain();
    expect(batcher.size).toBe(0);
  });
});
