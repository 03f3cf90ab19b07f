// Pure frame statistics: no DOM, no clocks. Callers pass timestamps in ms.

/** Frames painted per second over a sliding time window (default 1 s). */
export class FpsCounter {
  private times: number[] = [];

  constructor(readonly windowMs = 1000) {}

  /** Record one painted frame at `nowMs`. */
  tick(nowMs: number): void {
    this.times.push(nowMs);
    this.prune(nowMs);
  }

  /**
   * Frames per second as seen at `nowMs`. With n paints inside the window the
   * rate is (n - 1) intervals over the time from the first of them to `nowMs`,
   * so a steady stream reads exactly its rate and a stalled one decays to 0.
   */
  fps(nowMs: number): number {
    this.prune(nowMs);
    const n = this.times.length;
    if (n < 2) return 0;
    const span = nowMs - this.times[0];
    return span > 0 ? ((n - 1) * 1000) / span : 0;
  }

  reset(): void {
    this.times = [];
  }

  private prune(nowMs: number): void {
    const cutoff = nowMs - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop] <= cutoff) drop++;
    if (drop > 0) this.times.splice(0, drop);
  }
}

/** Exponential moving average of a latency in ms; the first sample seeds it. */
export class LatencySmoother {
  private current: number | null = null;

  constructor(readonly alpha = 0.2) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError("alpha must be in (0, 1]");
  }

  /** Add one sample; non-finite samples are ignored. Returns the smoothed value. */
  add(sampleMs: number): number | null {
    if (!Number.isFinite(sampleMs)) return this.current;
    this.current = this.current === null ? sampleMs : this.current + this.alpha * (sampleMs - this.current);
    return this.current;
  }

  get value(): number | null {
    return this.current;
  }

  reset(): void {
    this.current = null;
  }
}

/** Capture-to-paint latency for one frame. */
export function captureToPaintMs(paintUnixMs: number, captureUnixMs: number): number {
  return paintUnixMs - captureUnixMs;
}

export function formatFps(fps: number): string {
  return `${(Number.isFinite(fps) && fps > 0 ? fps : 0).toFixed(1)} fps`;
}

export function formatLatency(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? "– ms" : `${Math.round(ms)} ms`;
}
