// Thin wrappers over the Tauri commands. Outside the kiosk (plain browser) they
// do nothing and return null instead of throwing.
import { invoke } from "@tauri-apps/api/core";
import type { SyncView } from "./statusText";

export type BackgroundMode = "blur" | "replace" | "off";
export type SourceState = "running" | "error" | "stopped";

export interface SourceStatus {
  description: string;
  state: SourceState;
  message: string | null;
}

export interface ModelStatus {
  name: string;
  task: string;
  provider: string | null;
  enabled: boolean;
  reason: string | null;
}

export interface StoreSummary {
  products: number;
  variants: number;
  locations: number;
  events: number;
}

/** What `get_status` returns; the sync fields are described on {@link SyncView}. */
export interface Status extends SyncView {
  source: SourceStatus;
  models: ModelStatus[];
  background_mode: BackgroundMode;
  store: StoreSummary | null;
  /** Why the store could not be opened (e.g. a corrupt or newer database). */
  store_error?: string | null;
  /** Why ONNX Runtime could not start; every model-based feature is then off. */
  runtime_error?: string | null;
  /** Mirror counters while the mirror runs (try-on state included). */
  mirror?: MirrorStats | null;
  /** What the store assistant runs without (its FAQ file, the sentence model), if anything. */
  assistant_error?: string | null;
}

/** The mirror thread's counters; the try-on fields say what the shopper sees. */
export interface MirrorStats {
  fps: number;
  processed: number;
  captured: number;
  dropped: number;
  skipped: number;
  errors: number;
  /** Whether a garment is being tried on. */
  garment_selected?: boolean;
  /** Why the garment is not shown ("step_into_view", …), and the sentence for the shopper. */
  tryon_prompt?: string | null;
  tryon_message?: string | null;
  /** "tight" or "loose" when the chosen size clearly is, with the sentence for the shopper. */
  fit?: string | null;
  fit_message?: string | null;
}

export function inKiosk(): boolean {
  return typeof window !== "undefined" && (window as unknown as { __TAURI_INTERNALS__?: unknown }).__TAURI_INTERNALS__ !== undefined;
}

export async function getStatus(): Promise<Status | null> {
  if (!inKiosk()) return null;
  return invoke<Status>("get_status");
}

export async function startMirror(): Promise<void> {
  if (!inKiosk()) return;
  await invoke("start_mirror");
}

export async function stopMirror(): Promise<void> {
  if (!inKiosk()) return;
  await invoke("stop_mirror");
}

export async function setBackgroundMode(mode: BackgroundMode): Promise<void> {
  if (!inKiosk()) return;
  await invoke("set_background_mode", { mode });
}

/** Turns a rejected invoke (string, Error or object) into readable text. */
export function errorText(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof Error) return err.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

// ───────────── staff and reports (the backend checks the role on every call) ─────────────

export type StaffRole = "clerk" | "manager";

export interface StaffMember {
  name: string;
  role: StaffRole;
  demo: boolean;
  locked_until_ms: number | null;
}

export interface Session {
  staff: string;
  role: StaffRole;
  signed_in_at_ms: number;
  last_active_ms: number;
}

/** A refused or failed staff command. */
export interface CommandError {
  code: string;
  message: string;
  tries_left: number | null;
  locked_ms: number | null;
}

/** Whether the backend refused because the staff session is gone (idle sign-out, never signed in). */
export function sessionEnded(err: CommandError): boolean {
  return err.code === "not-signed-in" || err.code === "session-expired";
}

export type ReportKind = "stock" | "low-stock" | "discrepancies" | "sell-through" | "slow-movers" | "reorder" | "sync-status" | "feedback";
export type ColumnKind = "text" | "integer" | "decimal" | "money" | "percent" | "days";
export type Cell = string | number | null;

export interface Column {
  key: string;
  label: string;
  kind: ColumnKind;
}

export interface ReportQuery {
  kind: ReportKind;
  search?: string | null;
  location?: string | null;
  category?: string | null;
  window_days?: number;
}

export interface ReportTable {
  kind: ReportKind;
  title: string;
  generated_at: string;
  columns: Column[];
  rows: Cell[][];
  notes: string[];
}

export interface Series {
  label: string;
  points: { day: string; value: number }[];
}

export interface ForecastChart {
  sku: string;
  method: string;
  history: Series;
  forecast: { day: string; mean: number; lo: number; hi: number }[];
  backtest_mase: number | null;
}

export interface AisleDiscrepancy {
  aisle: string;
  units: number;
  value_at_cost: number;
}

export interface ExportedFile {
  path: string;
  bytes: number;
  rows: number;
  format: "csv" | "pdf";
}

/** Any rejection as a CommandError (plain strings and Errors too). */
export function commandError(err: unknown): CommandError {
  if (err && typeof err === "object" && "code" in err && "message" in err) return err as CommandError;
  return { code: "error", message: errorText(err), tries_left: null, locked_ms: null };
}

function staffCall<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!inKiosk()) return Promise.reject(commandError("staff screens need the kiosk app"));
  return invoke<T>(command, args);
}

export const staffForSignIn = (role: StaffRole) => staffCall<StaffMember[]>("staff_for_sign_in", { role });
export const signIn = (name: string, pin: string) => staffCall<Session>("sign_in", { name, pin });
export const signOut = () => staffCall<void>("sign_out");
export const currentSession = () => staffCall<Session | null>("session");
export const runReport = (query: ReportQuery) => staffCall<ReportTable>("run_report", { query });
export const exportReport = (query: ReportQuery, format: "csv" | "pdf") => staffCall<ExportedFile>("export_report", { query, format });
export const stockHistory = (sku: string, days: number, location?: string) => staffCall<Series>("stock_history", { sku, location: location ?? null, days });
/** Net positive shopper feedback day by day (managers). */
export const feedbackTrend = (days: number) => staffCall<Series>("feedback_trend", { days });
export const forecastChart = (sku: string, horizonDays: number) => staffCall<ForecastChart>("forecast_chart", { sku, horizonDays });
export const discrepancyByAisle = () => staffCall<AisleDiscrepancy[]>("discrepancy_by_aisle");

/** One of `vitrine doctor`'s checks, as the staff status page shows it. */
export interface SystemCheck {
  name: string;
  status: "ok" | "warn" | "fail" | "skip";
  detail: string;
  /** The command or step that fixes it (every warning and failure has one). */
  fix?: string;
}

export interface SystemChecks {
  checks: SystemCheck[];
}

export const systemChecks = () => staffCall<SystemChecks>("system_checks");
