/** Something whose simulated time a timer moves: a ScenarioRunner, a replay. */
export interface Advanceable {
  advance(seconds: number): void;
}

export interface RealTimeOptions {
  /** Simulated seconds per real second. @default 1 */
  timeScale?: number;
  /** Real milliseconds between ticks. @default 100 */
  tickMs?: number;
  /** A longer real gap (a suspended machine, a debugger) counts as this much, so hours are not replayed at once. @default 5000 */
  maxGapMs?: number;
  /** Called when advance throws; the timer keeps running. */
  onError?: (err: unknown) => void;
}

export interface RealTimeDriver {
  stop(): void;
}

/**
 * Real-time mode: a timer hands the elapsed real time × timeScale to `target.advance`, which steps
 * in its own fixed quanta, so the states match a fast run of the same length.
 */
export function driveInRealTime(target: Advanceable, options: RealTimeOptions = {}): RealTimeDriver {
  const timeScale = options.timeScale ?? 1;
  const maxGapMs = options.maxGapMs ?? 5000;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const elapsedMs = Math.min(now - last, maxGapMs);
    last = now;
    try {
      target.advance((elapsedMs / 1000) * timeScale);
    } catch (err) {
      options.onError?.(err);
    }
  }, options.tickMs ?? 100);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
