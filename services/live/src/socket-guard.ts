/** What a socket's guard says about the next outgoing packet. */
export type BufferState = "ok" | "slow" | "over";

export interface SocketGuardOptions {
  /** Bytes waiting past which the socket is slow (misses samples and snapshots). */
  slowBytes: number;
  /** Bytes waiting past which the socket is dropped. */
  maxBytes: number;
  /** Subscribe/unsubscribe messages per second, after the burst. */
  perSecond: number;
  /** Messages the socket may send at once. */
  burst: number;
}

/**
 * One socket's limits: the bytes queued for it since its transport last took them (the server's
 * memory spent on this client), and a token bucket for its subscribe/unsubscribe messages.
 */
export class SocketGuard {
  private queuedBytes = 0;
  private tokens: number;
  private refilledAt: number;
  /**
   * Refusals not yet worked off: each refusal adds one, and they drain at the message rate. A client
   * that ignores its refusals runs this past the burst (counting refusals in a row would miss one
   * that sends just enough to get a message through now and then).
   */
  private refusals = 0;
  /** Set once the socket is being dropped. */
  dropped = false;

  constructor(
    private readonly options: SocketGuardOptions,
    now: number,
  ) {
    this.tokens = options.burst;
    this.refilledAt = now;
  }

  /** A packet of `bytes` was queued for the socket. */
  queued(bytes: number): BufferState {
    this.queuedBytes += bytes;
    return this.state;
  }

  /** The transport took everything queued. */
  flushed(): void {
    this.queuedBytes = 0;
  }

  get state(): BufferState {
    if (this.queuedBytes > this.options.maxBytes) return "over";
    return this.queuedBytes > this.options.slowBytes ? "slow" : "ok";
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Takes one message from the bucket; false when the socket is over its rate. */
  take(now: number): boolean {
    const earned = ((now - this.refilledAt) / 1000) * this.options.perSecond;
    this.refilledAt = now;
    this.tokens = Math.min(this.options.burst, this.tokens + earned);
    this.refusals = Math.max(0, this.refusals - earned);
    if (this.tokens < 1) {
      this.refusals++;
      return false;
    }
    this.tokens--;
    return true;
  }

  /** The socket kept sending past its refusals: as many as its burst, faster than its rate works them off. */
  get ignoresRefusals(): boolean {
    // Whole refusals: one only partly worked off still counts (3.9999 of 4 must not let it stay).
    return Math.ceil(this.refusals) >= this.options.burst;
  }
}
