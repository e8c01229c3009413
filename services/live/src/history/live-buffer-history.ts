import type { PackState } from "../pack-state";
import { bucketSizeFor, downsample } from "./downsampling";
import type { HistoryAnswer, HistoryRequest, HistorySource } from "./history-source";

/**
 * History from the live service's own memory (PackState: the newest `historyPerPack` samples per
 * pack), when no time-series server is configured: the same answer shape, downsampled the same way.
 */
export class LiveBufferHistory implements HistorySource {
  readonly kind = "live" as const;

  constructor(private readonly state: PackState) {}

  async read(request: HistoryRequest): Promise<HistoryAnswer> {
    const points = this.state.history(request.siteId, request.packId, request.from, request.to) ?? [];
    if (points.length <= request.maxPoints) return { points, resolutionMs: null };
    const size = bucketSizeFor(request.from, request.to, request.maxPoints);
    return { points: downsample(points, size), resolutionMs: size };
  }
}
