import type { ModelStatus, SourceStatus, Status, StoreSummary } from "./backend";

/** "CPUExecutionProvider" → "CPU"; other names pass through. */
export function shortProvider(provider: string | null): string | null {
  if (!provider) return null;
  const short = provider.replace(/ExecutionProvider$/, "");
  return short || provider;
}

/**
 * One line per model, e.g.
 * "selfie_segmentation_landscape · CPU · ready" or
 * "pose_landmark_lite · disabled: sha256 mismatch …".
 */
export function modelLine(m: ModelStatus): string {
  const parts = [m.name];
  if (m.enabled) {
    const p = shortProvider(m.provider);
    if (p) parts.push(p);
    parts.push("ready");
  } else {
    parts.push(m.reason ? `disabled: ${m.reason}` : "disabled");
  }
  return parts.join(" · ");
}

export function sourceLine(s: SourceStatus): string {
  const parts = [`source: ${s.description || "?"}`, s.state];
  if (s.state !== "running" && s.message) parts.push(s.message);
  return parts.join(" · ");
}

export function storeLine(s: StoreSummary | null): string | null {
  if (!s) return null;
  return `store: ${s.products} products · ${s.variants} variants · ${s.locations} locations · ${s.events} events`;
}

/** Message for #source-message, or null when the source is fine. */
export function sourceProblem(s: SourceStatus | null | undefined): string | null {
  if (!s || s.state === "running") return null;
  if (s.message) return s.message;
  return s.state === "stopped" ? null : `Source error (${s.description})`;
}

/** Where sync with HQ stands, as `get_status` reports it (`KioskStatus.sync*`). */
export interface SyncView {
  sync_enabled?: boolean;
  sync?: {
    pending_events: number;
    last_push_unix_ms: number | null;
    last_pull_unix_ms: number | null;
    last_error: string | null;
  } | null;
  sync_error?: string | null;
}

/** "3 min ago" style age of a past moment. */
export function ago(unixMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - unixMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * The sync item of the status strip, e.g. "sync: last 2 min ago · 0 pending" or
 * "sync: never · 120 pending · HQ unreachable …"; `error` marks a line to show as a problem.
 */
export function syncLine(v: SyncView, nowMs: number): { text: string; error: boolean } | null {
  if (v.sync_error) return { text: `sync off: ${v.sync_error}`, error: true };
  if (!v.sync) return null;
  const pending = `${v.sync.pending_events} pending`;
  if (!v.sync_enabled) return { text: `sync: off · ${pending}`, error: false };
  const times = [v.sync.last_push_unix_ms, v.sync.last_pull_unix_ms].filter((t): t is number => t !== null);
  const last = times.length ? `last ${ago(Math.max(...times), nowMs)}` : "never";
  const parts = [`sync: ${last}`, pending];
  if (v.sync.last_error) parts.push(v.sync.last_error);
  return { text: parts.join(" · "), error: v.sync.last_error !== null };
}

/** One line of the live status list on the staff status page. */
export interface StatusItem {
  text: string;
  /** "source running", "model ready", "model disabled", "store", "sync", "error", "muted". */
  kind: string;
  /** The model's name, on model lines. */
  model?: string;
}

/** Everything get_status says, as lines for staff: source, each model, store, sync. */
export function statusItems(s: Pick<Status, "source" | "models" | "store" | "store_error" | "runtime_error" | "assistant_error"> & SyncView, nowMs: number): StatusItem[] {
  const items: StatusItem[] = [{ text: sourceLine(s.source), kind: `source ${s.source.state}` }];
  for (const m of s.models) items.push({ text: modelLine(m), kind: `model ${m.enabled ? "ready" : "disabled"}`, model: m.name });
  if (s.runtime_error) items.push({ text: `models off: ${s.runtime_error}`, kind: "error" });
  else if (s.models.length === 0) items.push({ text: "no models", kind: "muted" });
  const store = storeLine(s.store);
  if (store) items.push({ text: store, kind: "store" });
  const sync = syncLine(s, nowMs);
  if (sync) items.push({ text: sync.text, kind: sync.error ? "error" : "sync" });
  if (s.store_error) items.push({ text: `store unavailable: ${s.store_error}`, kind: "error" });
  if (s.assistant_error) items.push({ text: `assistant: ${s.assistant_error}`, kind: "error" });
  return items;
}

/** How many things staff should look at (the start screen marks the status link). */
export function problemCount(items: StatusItem[]): number {
  return items.filter((i) => i.kind === "error" || i.kind === "model disabled" || i.kind === "source error").length;
}
