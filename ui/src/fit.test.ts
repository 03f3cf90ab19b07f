import { describe, expect, it } from "vitest";
import { fitRect } from "./fit";

describe("fitRect", () => {
  it("contain letterboxes a 4:3 frame on a 16:9 screen", () => {
    expect(fitRect(640, 480, 1920, 1080, "contain")).toEqual({ x: 240, y: 0, w: 1440, h: 1080 });
  });
  it("cover crops a 4:3 frame on a 16:9 screen", () => {
    expect(fitRect(640, 480, 1920, 1080, "cover")).toEqual({ x: 0, y: -180, w: 1920, h: 1440 });
  });
  it("portrait screen", () => {
    expect(fitRect(1280, 720, 1080, 1920, "cover")).toEqual({ x: -1166.6666666666665, y: 0, w: 3413.333333333333, h: 1920 });
    expect(fitRect(1280, 720, 1080, 1920, "contain")).toEqual({ x: 0, y: 656.25, w: 1080, h: 607.5 });
  });
  it("degenerate sizes draw nothing", () => {
    expect(fitRect(0, 480, 100, 100, "cover")).toEqual({ x: 0, y: 0, w: 0, h: 0 });
  });
});
