import { describe, expect, it } from "vitest";
import { modelLine, shortProvider, sourceLine, sourceProblem, storeLine } from "./statusText";

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
});
