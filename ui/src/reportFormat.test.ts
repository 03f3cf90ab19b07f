import { describe, expect, it } from "vitest";
import { alignOf, formatCell, skuColumn, sortRows, tableText } from "./reportFormat";
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

describe("sorting", () => {
  const rows = [
    ["b", 3],
    ["A10", null],
    ["a2", 1],
    ["c", 3],
  ];
  it("sorts numbers numerically, ties keep their order, empty cells last both ways", () => {
    expect(sortRows(rows, 1, "asc").map((r) => r[0])).toEqual(["a2", "b", "c", "A10"]);
    expect(sortRows(rows, 1, "desc").map((r) => r[0])).toEqual(["b", "c", "a2", "A10"]);
  });
  it("sorts text by locale with numbers inside in order", () => {
    expect(sortRows(rows, 0, "asc").map((r) => r[0])).toEqual(["a2", "A10", "b", "c"]);
    expect(rows[0][0]).toBe("b");
  });
});
