import { describe, expect, it } from "vitest";
import { alignOf, formatCell, skuColumn, tableText } from "./reportFormat";
import type { ReportTable } from "./backend";

describe("report cells", () => {
  it("formats numbers by column kind", () => {
    expect(formatCell(12.5, "money")).toBe("12.50");
    expect(formatCell(42.456, "percent")).toBe("42.5 %");
    expect(formatCell(3, "days")).toBe("3.0 d");
    expect(formatCell(7, "integer")).toBe("7");
    expect(formatCell(6.6, "integer")).toBe("7");
    expect(formatCell(1.234, "decimal")).toBe("1.23");
    expect(formatCell(-0.0001, "money")).toBe("0.00");
    expect(formatCell(-4, "integer")).toBe("-4");
  });
  it("shows a dash for missing or meaningless values, text as is", () => {
    expect(formatCell(null, "days")).toBe("–");
    expect(formatCell(Number.NaN, "money")).toBe("–");
    expect(formatCell("TEE-ORB-M-CHK", "text")).toBe("TEE-ORB-M-CHK");
    expect(formatCell("A1", "money")).toBe("A1");
  });
  it("aligns numbers right and finds the SKU column", () => {
    expect(alignOf("text")).toBe("left");
    expect(alignOf("money")).toBe("right");
    const table: ReportTable = {
      kind: "low-stock",
      title: "Low stock",
      generated_at: "2026-01-01T00:00:00Z",
      columns: [
        { key: "name", label: "Product", kind: "text" },
        { key: "sku", label: "SKU", kind: "text" },
        { key: "on_hand", label: "On hand", kind: "integer" },
      ],
      rows: [["Tee", "T-1", 2], ["Mug", "M-1", null]],
      notes: [],
    };
    expect(skuColumn(table.columns)).toBe(1);
    expect(skuColumn([])).toBe(-1);
    expect(tableText(table)).toEqual([["Tee", "T-1", "2"], ["Mug", "M-1", "–"]]);
  });
});
