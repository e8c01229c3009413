import { createHash } from "node:crypto";

function weight(member: string, partition: number): bigint {
  return createHash("sha1").update(`${member}\u0000${partition}`).digest().readBigUInt64BE(0);
}

/**
 * The worker a partition belongs to among `members` (rendezvous hashing: the highest hash of
 * member and partition wins), so that every worker computes the same placement from the same
 * members, and a worker that joins or leaves moves only its own share of the partitions.
 */
export function homeOf(partition: number, members: Iterable<string>): string | null {
  let best: string | null = null;
  let bestWeight = -1n;
  for (const member of members) {
    const w = weight(member, partition);
    if (w > bestWeight || (w === bestWeight && best !== null && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}
