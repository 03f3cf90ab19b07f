// Thin wrappers over the Tauri commands. Outside the kiosk (plain browser) they
// do nothing and return null instead of throwing.
import { invoke } from "@tauri-apps/api/core";

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

export interface Status {
  source: SourceStatus;
  models: ModelStatus[];
  background_mode: BackgroundMode;
  store: StoreSummary | null;
  /** Why the store could not be opened (e.g. a corrupt or newer database). */
  store_error?: string | null;
  /** Why ONNX Runtime could not start; every model-based feature is then off. */
  runtime_error?: string | null;
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
