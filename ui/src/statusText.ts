import type { ModelStatus, SourceStatus, StoreSummary } from "./backend";

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
