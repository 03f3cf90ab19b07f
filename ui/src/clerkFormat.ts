// Pure helpers for the clerk screen: where detection boxes go on the canvas, and the scan
// report as table rows and sentences. Kept free of the DOM so they are unit-tested.
import type { ConfirmedScan, Detection, DetectionClass, LiveSource, PlanogramDiff, ShelfReport } from "./clerkApi";
import type { Rect } from "./fit";

export interface CanvasBox extends Rect {
  cls: DetectionClass;
  score: number;
}

/** Boxes in frame pixels → canvas pixels, for a frameW×frameH picture drawn into `drawn`. */
export function boxesOnCanvas(detections: Detection[], frameW: number, frameH: number, drawn: Rect): CanvasBox[] {
  if (frameW <= 0 || frameH <= 0) return [];
  const sx = drawn.w / frameW;
  const sy = drawn.h / frameH;
  return detections.map((d) => {
    const [x1, y1, x2, y2] = d.bbox;
    return { x: drawn.x + x1 * sx, y: drawn.y + y1 * sy, w: (x2 - x1) * sx, h: (y2 - y1) * sy, cls: d.class, score: d.score };
  });
}

export const BOX_COLOURS: Record<DetectionClass, string> = {
  product: "#2ecc71",
  gap: "#e74c3c",
  "shelf-label": "#f1c40f",
};

export function countByClass(detections: Detection[]): Record<DetectionClass, number> {
  const counts: Record<DetectionClass, number> = { product: 0, gap: 0, "shelf-label": 0 };
  for (const d of detections) counts[d.class] += 1;
  return counts;
}

/** "12 products · 1 gap · 7 labels" */
export function detectionSummary(detections: Detection[]): string {
  // The backend keeps only what stands on a shelf: nothing at all means no shelf in view.
  if (detections.length === 0) return "No shelf in view: point the camera at a shelf";
  const c = countByClass(detections);
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return [n(c.product, "product", "products"), n(c.gap, "gap", "gaps"), n(c["shelf-label"], "label", "labels")].join(" · ");
}

/** 1099 → "10.99" */
export function money(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(Math.round(cents));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** What the screen says about where the pictures come from. */
export function sourceNote(s: LiveSource): { text: string; problem: boolean } {
  if (s.demo_because) return { text: `No camera picture (${s.demo_because}). Showing the demo shelf instead.`, problem: true };
  if (s.state === "error") return { text: s.message ?? `${s.description} is not delivering pictures`, problem: true };
  if (s.state === "starting") return { text: `Starting ${s.description}…`, problem: false };
  return { text: `Live: ${s.description}`, problem: false };
}

export type Row = (string | number)[];

export function facingRows(r: ShelfReport): Row[] {
  return r.facings.map((f) => [f.row, f.location ?? "—", f.sku, f.name ?? "", f.facings]);
}

export function gapRows(r: ShelfReport): Row[] {
  return r.gaps.map((g) => [
    g.row,
    g.location ?? "—",
    g.sku ?? "unknown SKU",
    g.width_cm === null ? `${Math.round(g.width_px)} px` : `${g.width_cm.toFixed(1)} cm`,
    g.slot_empty ? "sold out" : "partly empty",
  ]);
}

export function priceRows(r: ShelfReport): Row[] {
  return r.price_mismatches.map((p) => [p.row, p.location ?? "—", p.sku, money(p.label_cents), money(p.catalog_cents)]);
}

/** The planogram differences as sentences; empty when there is no plan or it matches. */
export function planogramLines(diff: PlanogramDiff | null): string[] {
  if (!diff) return [];
  return [
    ...diff.missing.map((s) => `Row ${s.row}: ${s.sku} missing (planned ${s.expected} facings)`),
    ...diff.short.map((s) => `Row ${s.row}: ${s.sku} short, ${s.seen} of ${s.expected} facings`),
    ...diff.misplaced.map((m) => `${m.sku} on row ${m.seen_row}, planned for row ${m.expected_row} (${m.facings} facings)`),
    ...diff.unexpected.map((u) => `Row ${u.row}: ${u.sku} is not in the plan (${u.facings} facings)`),
  ];
}

/** Total facings to be written, "7 × GR-OATS-1KG at A5/B1/S3" lines. */
export function countLines(r: { counts: { location: string; sku: string; facings: number }[] }): string[] {
  return r.counts.map((c) => `${c.facings} × ${c.sku} at ${c.location}`);
}

/** The headline of a report: confidence and how much was found. */
export function reportHeadline(r: ShelfReport): string {
  const facings = r.facings.reduce((n, f) => n + f.facings, 0);
  const skus = new Set(r.facings.map((f) => f.sku)).size;
  const where = r.location ? ` at ${r.location}` : "";
  return `${facings} facings of ${skus} SKU${skus === 1 ? "" : "s"}${where}, ${r.gaps.length} gap${r.gaps.length === 1 ? "" : "s"}, confidence ${r.confidence}`;
}

/** What the clerk reads after Confirm. */
export function confirmedText(done: ConfirmedScan): string {
  const parts = [
    done.recorded > 0 ? `${done.recorded} count${done.recorded === 1 ? "" : "s"} written to the inventory by ${done.actor}` : "Nothing new written",
  ];
  if (done.already_recorded > 0) parts.push(`${done.already_recorded} already recorded by an earlier confirmation (never counted twice)`);
  if (done.without_location > 0) parts.push(`${done.without_location} row${done.without_location === 1 ? "" : "s"} without a location not written`);
  return `${parts.join("; ")}. Book stock is unchanged; differences show in the manager's discrepancy report.`;
}
