// The clerk screen's commands and the shapes they answer with (vitrine-shelf's report, the
// app's live preview). The backend checks the signed-in role on every call.
import { invoke } from "@tauri-apps/api/core";
import { commandError, inKiosk } from "./backend";

export type DetectionClass = "product" | "gap" | "shelf-label";

export interface Detection {
  class: DetectionClass;
  /** [x1, y1, x2, y2] in the frame's pixels. */
  bbox: [number, number, number, number];
  score: number;
}

export interface LiveSource {
  running: boolean;
  description: string;
  state: "running" | "starting" | "error" | "stopped";
  message: string | null;
  /** Set when the demo shelf stands in for the configured source: why. */
  demo_because: string | null;
}

export interface LiveView {
  seq: number;
  width: number;
  height: number;
  jpeg_base64: string;
  detections: Detection[];
  detect_error: string | null;
  detect_ms: number;
}

export interface ShelfLocation {
  code: string;
  name: string;
}

export interface Facing {
  row: number;
  location: string | null;
  sku: string;
  name: string | null;
  facings: number;
}

export interface GapReport {
  frame: number;
  row: number;
  location: string | null;
  bbox: [number, number, number, number];
  width_px: number;
  width_cm: number | null;
  sku: string | null;
  slot_empty: boolean;
}

export interface PriceMismatch {
  row: number;
  location: string | null;
  sku: string;
  label_cents: number;
  catalog_cents: number;
}

export interface Shortfall {
  row: number;
  sku: string;
  expected: number;
  seen: number;
}

export interface PlanogramDiff {
  missing: Shortfall[];
  short: Shortfall[];
  misplaced: { sku: string; seen_row: number; expected_row: number; facings: number }[];
  unexpected: { row: number; sku: string; facings: number }[];
}

export interface Task {
  kind: "restock" | "fix-price-label" | "move-product" | "check-unexpected";
  sku: string;
  location: string | null;
  text: string;
}

export interface CountLine {
  location: string;
  sku: string;
  facings: number;
}

export interface FrameReport {
  source: string;
  skipped: string | null;
  width: number;
  height: number;
  flags: string[];
  detections: Detection[];
}

export interface ShelfReport {
  scan_id: string;
  input: string;
  location: string | null;
  confidence: "low" | "medium" | "high";
  notes: string[];
  frames: FrameReport[];
  facings: Facing[];
  gaps: GapReport[];
  price_mismatches: PriceMismatch[];
  misplaced: { row: number; slot_sku: string; looks_like: string }[];
  planogram: PlanogramDiff | null;
  tasks: Task[];
  counts: CountLine[];
}

/** What a confirmation wrote: counted observations (book stock unchanged), signed by the clerk. */
export interface ConfirmedScan {
  scan_id: string;
  actor: string;
  /** Count observations recorded now. */
  recorded: number;
  /** Counts already in the ledger from an earlier confirmation of the same scan. */
  already_recorded: number;
  /** Rows without a location: nothing could be written for them. */
  without_location: number;
}

function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!inKiosk()) return Promise.reject(commandError("the shelf scan needs the kiosk app"));
  return invoke<T>(command, args);
}

export const shelfPreviewStart = () => call<LiveSource>("shelf_preview_start");
export const shelfPreviewStop = () => call<void>("shelf_preview_stop");
/** The newest preview frame after `after`; null when none came within about a second. */
export const shelfPreviewFrame = (after: number) => call<LiveView | null>("shelf_preview_frame", { after });
export const shelfPreviewSource = () => call<LiveSource>("shelf_preview_source");
export const shelfLocations = () => call<ShelfLocation[]>("shelf_locations");
/** Scans the frame the clerk sees now (the preview's newest). */
export const shelfScan = (location: string | null, demoPlanogram: boolean) => call<ShelfReport>("shelf_scan", { location, demoPlanogram });
/** The scan's annotated picture (base64 JPEG). */
export const shelfScanImage = (scanId: string) => call<string>("shelf_scan_image", { scanId });
export const shelfConfirm = (scanId: string) => call<ConfirmedScan>("shelf_confirm", { scanId });
export const shelfDiscard = (scanId: string) => call<boolean>("shelf_discard", { scanId });
