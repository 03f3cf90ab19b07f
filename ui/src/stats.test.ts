import { describe, expect, it } from "vitest";
import { FpsCounter, LatencySmoother, captureToPaintMs, formatFps, formatLatency } from "./stats";

describe("FpsCounter", () => {
  it("reads 0 with fewer than two paints", () => {
    const c = new FpsCounter();
    expect(c.fps(0)).toBe(0);
    c.tick(100);
    expect(c.fps(100)).toBe(0);
  });

  it("measures a steady 30 fps stream", () => {
    const c = new FpsCounter(1000);
    let t = 0;
    for (let i = 0; i < 90; i++) {
      t = i * (1000 / 30);
      c.tick(t);
    }
    expect(c.fps(t)).toBeCloseTo(30, 5);
  });

  it("measures a non-integer rate like 29.8 fps", () => {
    const c = new FpsCounter(1000);
    const dt = 1000 / 29.8;
    let t = 0;
    for (let i = 0; i < 200; i++) {
      t = 5000 + i * dt;
      c.tick(t);
    }
    expect(formatFps(c.fps(t))).toBe("29.8 fps");
  });

  it("only counts paints inside the sliding window", () => {
    const c = new FpsCounter(1000);
    for (let i = 0; i < 60; i++) c.tick(i * 10); // 100 fps burst in 0..590 ms
    for (let i = 0; i <= 10; i++) c.tick(2000 + i * 100); // then 10 fps
    expect(c.fps(3000)).toBeCloseTo(10, 5);
  });

  it("decays when frames stop and reaches 0 once the window is empty", () => {
    const c = new FpsCounter(1000);
    for (let i = 0; i < 30; i++) c.tick(i * 33);
    const live = c.fps(29 * 33);
    const stalled = c.fps(29 * 33 + 500);
    expect(stalled).toBeLessThan(live);
    expect(c.fps(29 * 33 + 1001)).toBe(0);
  });

  it("resets", () => {
    const c = new FpsCounter();
    c.tick(0);
    c.tick(10);
    c.reset();
    expect(c.fps(10)).toBe(0);
  });
});

describe("LatencySmoother", () => {
  it("starts empty and is seeded by the first sample", () => {
    const s = new LatencySmoother(0.2);
    expect(s.value).toBeNull();
    expect(s.add(40)).toBe(40);
  });

  it("moves a fraction alpha toward each new sample", () => {
    const s = new LatencySmoother(0.5);
    s.add(40);
    expect(s.add(60)).toBe(50);
    expect(s.add(60)).toBe(55);
  });

  it("converges to a constant input", () => {
    const s = new LatencySmoother(0.2);
    s.add(100);
    for (let i = 0; i < 100; i++) s.add(41);
    expect(s.value!).toBeCloseTo(41, 3);
  });

  it("ignores NaN and infinities (missing capture header)", () => {
    const s = new LatencySmoother(0.2);
    s.add(NaN);
    expect(s.value).toBeNull();
    s.add(30);
    s.add(Infinity);
    expect(s.value).toBe(30);
  });

  it("rejects a bad alpha", () => {
    expect(() => new LatencySmoother(0)).toThrow(RangeError);
    expect(() => new LatencySmoother(1.5)).toThrow(RangeError);
  });
});

describe("formatting", () => {
  it("capture-to-paint is paint minus capture", () => {
    expect(captureToPaintMs(1_700_000_000_041, 1_700_000_000_000.4)).toBeCloseTo(40.6, 3);
  });
  it("formats fps with one decimal", () => {
    expect(formatFps(29.84)).toBe("29.8 fps");
    expect(formatFps(0)).toBe("0.0 fps");
    expect(formatFps(NaN)).toBe("0.0 fps");
  });
  it("formats latency in whole ms", () => {
    expect(formatLatency(41.4)).toBe("41 ms");
    expect(formatLatency(null)).toBe("– ms");
  });
});
