import { describe, expect, it } from "vitest";
import { byProduct, statusText, type PosterSuggestion } from "./signage";

const s = (sku: string, design: string, status: PosterSuggestion["status"] = null, until_ms: number | null = null, from_ms: number | null = 0): PosterSuggestion => ({
  sku,
  product_name: sku,
  design,
  why: "42 days of cover",
  score: 1,
  min_contrast: 7,
  facts_wrong: [],
  status,
  from_ms,
  until_ms,
  preview_png_base64: "",
});

describe("signage", () => {
  it("groups designs by product in the backend's order", () => {
    const groups = byProduct([s("A", "stripes"), s("B", "spotlight"), s("A", "confetti")]);
    expect(groups.map((g) => [g.sku, g.designs.map((d) => d.design)])).toEqual([
      ["A", ["stripes", "confetti"]],
      ["B", ["spotlight"]],
    ]);
  });

  it("says whether and until when a poster is approved", () => {
    const now = Date.UTC(2026, 11, 7);
    expect(statusText(s("A", "x", "approved", Date.UTC(2026, 11, 14)), now)).toBe("Approved until 14 Dec");
    expect(statusText(s("A", "x", "approved", now - 1), now)).toBe("Approval ended");
    expect(statusText(s("A", "x", "approved", Date.UTC(2026, 11, 21), Date.UTC(2026, 11, 14)), now)).toBe("Approved from 14 Dec to 21 Dec");
    expect(statusText(s("A", "x", "rejected"), now)).toBe("Rejected");
    expect(statusText(s("A", "x"), now)).toBe("");
  });
});
