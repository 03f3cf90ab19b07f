// Binary frame stream over the `vitrine` custom URI scheme (long polling).

export interface FrameMeta {
  seq: number;
  captureUnixMs: number;
  dropped: number;
  pipelineMs: number;
}

/** Frame URL for the platform: Windows webviews expose custom schemes as http://<scheme>.localhost. */
export function frameUrl(after: number, userAgent: string = typeof navigator !== "undefined" ? navigator.userAgent : ""): string {
  const base = /Windows/i.test(userAgent) ? "http://vitrine.localhost" : "vitrine://localhost";
  return `${base}/frame?after=${Math.max(0, Math.floor(after))}`;
}

function num(headers: Headers, name: string): number {
  const v = headers.get(name);
  if (v === null || v.trim() === "") return NaN;
  return Number(v);
}

/** Reads the X-Frame-* headers; returns null when X-Frame-Seq is missing or bad. */
export function parseFrameHeaders(headers: Headers): FrameMeta | null {
  const seq = num(headers, "X-Frame-Seq");
  if (!Number.isInteger(seq) || seq < 0) return null;
  return {
    seq,
    captureUnixMs: num(headers, "X-Capture-Unix-Ms"),
    dropped: num(headers, "X-Dropped"),
    pipelineMs: num(headers, "X-Pipeline-Ms"),
  };
}

export const HEADERS_UNREADABLE =
  "Frame headers are not readable (the backend must send X-Frame-Seq and Access-Control-Expose-Headers)";

export interface FrameLoopDeps {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  decode: (blob: Blob) => Promise<ImageBitmap>;
  /** Paints the bitmap; the loop closes it afterwards. */
  paint: (bitmap: ImageBitmap, meta: FrameMeta) => void;
  /** A problem to show (source error, network error), or null once frames flow again. */
  problem: (message: string | null) => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  url?: (after: number) => string;
  retryMs?: number;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * fetch → decode → paint, with the next frame asked for as soon as this one's headers
 * say its seq: the next frame's wait and transfer overlap this one's decode and paint,
 * so at most two requests are in flight. 204: ask again at once. 503: show the body,
 * retry after 1 s.
 */
export class FrameLoop {
  private controller: AbortController | null = null;
  private lastSeq = 0;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly deps: FrameLoopDeps) {}

  get running(): boolean {
    return this.controller !== null;
  }

  get seq(): number {
    return this.lastSeq;
  }

  start(): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.lastSeq = 0;
    this.done = this.run(controller.signal);
  }

  /** Stops the loop, aborting the request in flight. Resolves when the loop has exited. */
  stop(): Promise<void> {
    this.controller?.abort();
    this.controller = null;
    return this.done;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const d = this.deps;
    const sleep = d.sleep ?? abortableSleep;
    const url = d.url ?? ((after: number) => frameUrl(after));
    const retryMs = d.retryMs ?? 1000;

    const ask = (after: number) => d.fetch(url(after), { signal, cache: "no-store" });
    // The request already made for the next frame, if any.
    let next: Promise<Response> | null = null;
    while (!signal.aborted) {
      let res: Response;
      try {
        const pending = next ?? ask(this.lastSeq);
        next = null;
        res = await pending;
      } catch (err) {
        if (signal.aborted) break;
        d.problem(`Frame stream unavailable: ${err instanceof Error ? err.message : String(err)}`);
        await sleep(retryMs, signal);
        continue;
      }
      if (signal.aborted) break;

      if (res.status === 204) continue;

      if (res.status === 503 || !res.ok) {
        let text = "";
        try {
          text = (await res.text()).trim();
        } catch {
          /* body lost: fall back below */
        }
        if (signal.aborted) break;
        d.problem(text || `Frame stream error (HTTP ${res.status})`);
        await sleep(retryMs, signal);
        continue;
      }

      const meta = parseFrameHeaders(res.headers);
      if (meta) {
        next = ask(meta.seq);
        // Its failure is handled where it is awaited; until then it must not go unhandled.
        next.catch(() => {});
      }
      let bitmap: ImageBitmap | null = null;
      try {
        const blob = await res.blob();
        if (signal.aborted) break;
        bitmap = await d.decode(blob);
        if (signal.aborted) break;
        d.paint(bitmap, meta ?? { seq: this.lastSeq, captureUnixMs: NaN, dropped: NaN, pipelineMs: NaN });
      } catch (err) {
        if (signal.aborted) break;
        d.problem(`Bad frame: ${err instanceof Error ? err.message : String(err)}`);
        await sleep(retryMs, signal);
        continue;
      } finally {
        bitmap?.close();
      }

      if (meta) {
        this.lastSeq = meta.seq;
        d.problem(null);
      } else {
        // Without a sequence number the long poll cannot advance: don't spin.
        d.problem(HEADERS_UNREADABLE);
        await sleep(retryMs, signal);
      }
    }
  }
}
