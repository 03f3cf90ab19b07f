import { describe, expect, it } from "vitest";
import { ago, modelLine, problemCount, shortProvider, sourceLine, sourceProblem, statusItems, storeLine, syncLine } from "./statusText";

describe("status text", () => {
  it("ready model with provider", () => {
    expect(
      modelLine({ name: "selfie_segmentation_landscape", task: "segmentation", provider: "CPU", enabled: true, reason: null }),
    ).toBe("selfie_segmentation_landscape · CPU · ready");
  });
  it("shortens ONNX Runtime provider names", () => {
    expect(shortProvider("CUDAExecutionProvider")).toBe("CUDA");
    expect(shortProvider(null)).toBeNull();
  });
  it("disabled model shows its reason", () => {
    expect(
      modelLine({ name: "pose_landmark_lite", task: "pose", provider: null, enabled: false, reason: "sha256 mismatch (expected ab12…)" }),
    ).toBe("pose_landmark_lite · disabled: sha256 mismatch (expected ab12…)");
    expect(modelLine({ name: "m", task: "t", provider: null, enabled: false, reason: null })).toBe("m · disabled");
  });
  it("source lines and problems", () => {
    const ok = { description: "camera 0", state: "running" as const, message: null };
    const bad = { description: "camera", state: "error" as const, message: "No camera found. Start with --source video:PATH or --source images:DIR" };
    expect(sourceLine(ok)).toBe("source: camera 0 · running");
    expect(sourceLine(bad)).toBe(`source: camera · error · ${bad.message}`);
    expect(sourceProblem(ok)).toBeNull();
    expect(sourceProblem(bad)).toBe(bad.message);
    expect(sourceProblem({ description: "x", state: "stopped", message: null })).toBeNull();
    expect(sourceProblem(null)).toBeNull();
  });
  it("store summary", () => {
    expect(storeLine(null)).toBeNull();
    expect(storeLine({ products: 3, variants: 12, locations: 2, events: 40 })).toBe(
      "store: 3 products · 12 variants · 2 locations · 40 events",
    );
  });
  it("sync state: last sync, pending events, errors", () => {
    const now = 1_700_000_000_000;
    const sync = { pending_events: 0, last_push_unix_ms: now - 120_000, last_pull_unix_ms: now - 30_000, last_error: null };
    expect(syncLine({ sync_enabled: true, sync }, now)).toEqual({ text: "sync: last 30 s ago · 0 pending", error: false });
    expect(syncLine({ sync_enabled: true, sync: { ...sync, last_push_unix_ms: null, last_pull_unix_ms: null, pending_events: 120, last_error: "cannot reach HQ" } }, now)).toEqual({
      text: "sync: never · 120 pending · cannot reach HQ",
      error: true,
    });
    expect(syncLine({ sync_enabled: false, sync: { ...sync, pending_events: 7 } }, now)).toEqual({ text: "sync: off · 7 pending", error: false });
    expect(syncLine({ sync_error: "cannot read sync.token_file" }, now)?.error).toBe(true);
    expect(syncLine({}, now)).toBeNull();
    expect(ago(now - 3 * 3600_000, now)).toBe("3 h ago");
    expect(ago(now - 2 * 86400_000, now)).toBe("2 d ago");
  });
});

describe("statusItems and problemCount", () => {
  const base = {
    source: { description: "camera:0", state: "running" as const, message: null },
    models: [
      { name: "seg", task: "segmentation", provider: "CPUExecutionProvider", enabled: true, reason: null },
      { name: "pose", task: "pose", provider: null, enabled: false, reason: "sha256 mismatch" },
    ],
    store: { products: 2, variants: 5, locations: 3, events: 10 },
    store_error: null,
    runtime_error: null,
  };
  it("lists the source, each model, the store", () => {
    const items = statusItems(base, 0);
    expect(items.map((i) => i.kind)).toEqual(["source running", "model ready", "model disabled", "store"]);
    expect(items[1]).toMatchObject({ text: "seg · CPU · ready", model: "seg" });
  });
  it("counts what staff should look at", () => {
    expect(problemCount(statusItems(base, 0))).toBe(1);
    const broken = { ...base, source: { description: "camera:7", state: "error" as const, message: "no camera" }, store_error: "corrupt" };
    expect(problemCount(statusItems(broken, 0))).toBe(3);
    expect(problemCount(statusItems({ ...base, models: [base.models[0]] }, 0))).toBe(0);
  });
});

describe("assistant status", () => {
  it("lists what the assistant runs without as a problem for staff", () => {
    const base = { source: { description: "video", state: "running" as const, message: null }, models: [], store: null };
    expect(problemCount(statusItems(base, 0))).toBe(0);
    const items = statusItems({ ...base, assistant_error: "cannot read the FAQ file faq.toml" }, 0);
    expect(items[items.length - 1]).toEqual({ text: "assistant: cannot read the FAQ file faq.toml", kind: "error" });
    expect(problemCount(items)).toBe(1);
  });
});
