export type FitMode = "cover" | "contain";

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Where to draw a srcW×srcH image inside a dstW×dstH canvas, keeping its
 * aspect ratio: "cover" fills the canvas (cropping), "contain" shows it whole
 * (letterboxing). The rect is centred; it may extend past the canvas for cover.
 */
export function fitRect(srcW: number, srcH: number, dstW: number, dstH: number, mode: FitMode): Rect {
  if (srcW <= 0 || srcH <= 0 || dstW <= 0 || dstH <= 0) return { x: 0, y: 0, w: 0, h: 0 };
  const sx = dstW / srcW;
  const sy = dstH / srcH;
  const scale = mode === "cover" ? Math.max(sx, sy) : Math.min(sx, sy);
  const w = srcW * scale;
  const h = srcH * scale;
  return { x: (dstW - w) / 2, y: (dstH - h) / 2, w, h };
}
