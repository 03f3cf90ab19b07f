// Cells of a report table as text, by the column's kind (the backend sends raw numbers).
import type { Cell, Column, ColumnKind, ReportTable } from "./backend";

const NONE = "–";

function fixed(value: number, digits: number): string {
  // Avoid "-0.0" for tiny negatives.
  const text = value.toFixed(digits);
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

/** One cell as shown on screen: money with 2 decimals, percent and days with 1, integers whole. */
export function formatCell(cell: Cell, kind: ColumnKind): string {
  if (cell === null || cell === undefined) return NONE;
  if (typeof cell === "string") return cell;
  if (!Number.isFinite(cell)) return NONE;
  switch (kind) {
    case "text":
      return String(cell);
    case "integer":
      return fixed(Math.round(cell), 0);
    case "decimal":
      return fixed(cell, 2);
    case "money":
      return fixed(cell, 2);
    case "percent":
      return `${fixed(cell, 1)} %`;
    case "days":
      return `${fixed(cell, 1)} d`;
  }
}

/** Numbers line up on the right; text on the left. */
export function alignOf(kind: ColumnKind): "left" | "right" {
  return kind === "text" ? "left" : "right";
}

/** Index of the SKU column, if the table has one (rows then open the SKU's charts). */
export function skuColumn(columns: Column[]): number {
  return columns.findIndex((c) => c.key === "sku");
}

/** Every row's cells as text, in column order. */
export function tableText(table: ReportTable): string[][] {
  return table.rows.map((row) => row.map((cell, i) => formatCell(cell, table.columns[i]?.kind ?? "text")));
}

export type SortDirection = "asc" | "desc";

/** Rows ordered by one column: numbers as numbers, text by locale; empty cells always last. */
export function sortRows(rows: Cell[][], column: number, direction: SortDirection): Cell[][] {
  const sign = direction === "asc" ? 1 : -1;
  const empty = (c: Cell) => c === null || c === undefined || (typeof c === "number" && !Number.isFinite(c));
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => {
      const x = a.row[column];
      const y = b.row[column];
      if (empty(x) || empty(y)) return empty(x) === empty(y) ? a.index - b.index : empty(x) ? 1 : -1;
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
      return order !== 0 ? sign * order : a.index - b.index;
    })
    .map(({ row }) => row);
}
