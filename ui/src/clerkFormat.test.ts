import { describe, expect, it } from "vitest";
import type { ShelfReport } from "./clerkApi";
import {
  boxesOnCanvas,
  confirmedText,
  countLines,
  detectionSummary,
  facingRows,
  gapRows,
  money,
  planogramLines,
  priceRows,
  reportHeadline,
  sourceNote,
} from "./clerkFormat";
import { fitRect } from "./fit";

const report: ShelfReport = {
  scan_id: "abc",
  input: "live frame",
  location: "A5/B1/S3",
  confidence: "medium",
  notes: [],
  frames: [],
  facings: [
    { row: 1, location: "A5/B1/S3", sku: "GR-OATS-1KG", name: "Hearth Rolled Oats 1 kg", facings: 4 },
    { row: 1, location: "A5/B1/S3", sku: "GR-HONEY-350", name: null, facings: 3 },
  ],
  gaps: [
    { frame: 0, row: 2, location: "A5/B1/S3", bbox: [0, 0, 10, 10], width_px: 301.6, width_cm: null, sku: "GR-OATS-1KG", slot_empty: true },
    { frame: 0, row: 3, location: null, bbox: [0, 0, 10, 10], width_px: 50, width_cm: 12.25, sku: null, slot_empty: false },
  ],
  price_mismatches: [{ row: 2, location: "A5/B1/S3", sku: "GR-ESPR-250", label_cents: 999, catalog_cents: 1099 }],
  misplaced: [],
  planogram: {
    missing: [{ row: 2, sku: "GR-OATS-1KG", expected: 3, seen: 0 }],
    short: [{ row: 1, sku: "GR-HONEY-350", expected: 4, seen: 3 }],
    misplaced: [{ sku: "GR-ESPR-250", seen_row: 3, expected_row: 2, facings: 3 }],
    unexpected: [{ row: 1, sku: "VT-TEE", facings: 1 }],
  },
  tasks: [],
  counts: [{ location: "A5/B1/S3", sku: "GR-OATS-1KG", facings: 7 }],
};

describe("boxesOnCanvas", () => {
  it("scales frame pixels into the letterboxed picture", () => {
    // A 1600x1200 frame in an 800x400 canvas: drawn 533.3x400 from x = 133.3.
    const drawn = fitRect(1600, 1200, 800, 400, "contain");
    const [b] = boxesOnCanvas([{ class: "gap", bbox: [0, 0, 1600, 1200], score: 0.9 }], 1600, 1200, drawn);
    expect(b.x).toBeCloseTo(133.33, 2);
    expect(b.y).toBe(0);
    expect(b.w).toBeCloseTo(533.33, 2);
    expect(b.h).toBe(400);
    expect(b.cls).toBe("gap");
    const [c] = boxesOnCanvas([{ class: "product", bbox: [800, 600, 1200, 900], score: 0.5 }], 1600, 1200, { x: 10, y: 20, w: 800, h: 600 });
    expect(c).toEqual({ x: 410, y: 320, w: 200, h: 150, cls: "product", score: 0.5 });
  });
  it("draws nothing for a frame without size", () => {
    expect(boxesOnCanvas([{ class: "product", bbox: [0, 0, 1, 1], score: 1 }], 0, 0, { x: 0, y: 0, w: 10, h: 10 })).toEqual([]);
  });
});

describe("report formatting", () => {
  it("money", () => {
    expect(money(1099)).toBe("10.99");
    expect(money(5)).toBe("0.05");
    expect(money(-250)).toBe("-2.50");
  });
  it("detection summary counts each class", () => {
    const d = (cls: "product" | "gap" | "shelf-label") => ({ class: cls, bbox: [0, 0, 1, 1] as [number, number, number, number], score: 1 });
    expect(detectionSummary([d("product"), d("product"), d("gap"), d("shelf-label")])).toBe("2 products · 1 gap · 1 label");
    expect(detectionSummary([])).toBe("No shelf in view: point the camera at a shelf");
  });
  it("tables", () => {
    expect(facingRows(report)).toEqual([
      [1, "A5/B1/S3", "GR-OATS-1KG", "Hearth Rolled Oats 1 kg", 4],
      [1, "A5/B1/S3", "GR-HONEY-350", "", 3],
    ]);
    expect(gapRows(report)).toEqual([
      [2, "A5/B1/S3", "GR-OATS-1KG", "302 px", "sold out"],
      [3, "—", "unknown SKU", "12.3 cm", "partly empty"],
    ]);
    expect(priceRows(report)).toEqual([[2, "A5/B1/S3", "GR-ESPR-250", "9.99", "10.99"]]);
    expect(countLines(report)).toEqual(["7 × GR-OATS-1KG at A5/B1/S3"]);
    expect(reportHeadline(report)).toBe("7 facings of 2 SKUs at A5/B1/S3, 2 gaps, confidence medium");
  });
  it("planogram differences as sentences", () => {
    expect(planogramLines(null)).toEqual([]);
    expect(planogramLines(report.planogram)).toEqual([
      "Row 2: GR-OATS-1KG missing (planned 3 facings)",
      "Row 1: GR-HONEY-350 short, 3 of 4 facings",
      "GR-ESPR-250 on row 3, planned for row 2 (3 facings)",
      "Row 1: VT-TEE is not in the plan (1 facings)",
    ]);
  });
  it("what a confirmation wrote", () => {
    const done = { scan_id: "abc", actor: "Demo Clerk", recorded: 3, already_recorded: 0, without_location: 0 };
    expect(confirmedText(done)).toBe("3 counts written to the inventory by Demo Clerk. Book stock is unchanged; differences show in the manager's discrepancy report.");
    expect(confirmedText({ ...done, recorded: 0, already_recorded: 3, without_location: 1 })).toBe(
      "Nothing new written; 3 already recorded by an earlier confirmation (never counted twice); 1 row without a location not written. Book stock is unchanged; differences show in the manager's discrepancy report.",
    );
  });
  it("says when the demo shelf stands in for the camera", () => {
    const base = { running: true, description: "camera:0", state: "running" as const, message: null, demo_because: null };
    expect(sourceNote(base)).toEqual({ text: "Live: camera:0", problem: false });
    expect(sourceNote({ ...base, state: "error", message: "no camera found" })).toEqual({ text: "no camera found", problem: true });
    const demo = sourceNote({ ...base, description: "images:assets/demo/shelf_demo.jpg", demo_because: "no camera found" });
    expect(demo.problem).toBe(true);
    expect(demo.text).toContain("demo shelf");
  });
});
