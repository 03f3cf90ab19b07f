import { describe, expect, it, vi } from "vitest";
import { FrameLoop, HEADERS_UNREADABLE, frameUrl, parseFrameHeaders, type FrameMeta } from "./frames";

describe("frameUrl", () => {
  it("uses the custom scheme on Linux and macOS", () => {
    expect(frameUrl(0, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15")).toBe("vitrine://localhost/frame?after=0");
    expect(frameUrl(17, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")).toBe("vitrine://localhost/frame?after=17");
  });
  it("uses http://vitrine.localhost on Windows", () => {
    expect(frameUrl(5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120")).toBe("http://vitrine.localhost/frame?after=5");
  });
});

describe("parseFrameHeaders", () => {
  it("reads all headers", () => {
    const h = new Headers({ "X-Frame-Seq": "42", "X-Capture-Unix-Ms": "1700000000000.5", "X-Dropped": "3", "X-Pipeline-Ms": "12.25" });
    expect(parseFrameHeaders(h)).toEqual({ seq: 42, captureUnixMs: 1700000000000.5, dropped: 3, pipelineMs: 12.25 });
  });
  it("needs a valid sequence number", () => {
    expect(parseFrameHeaders(new Headers())).toBeNull();
    expect(parseFrameHeaders(new Headers({ "X-Frame-Seq": "abc" }))).toBeNull();
    expect(parseFrameHeaders(new Headers({ "X-Frame-Seq": "1.5" }))).toBeNull();
  });
  it("leaves missing optional headers as NaN", () => {
    const m = parseFrameHeaders(new Headers({ "X-Frame-Seq": "1" }))!;
    expect(m.seq).toBe(1);
    expect(Number.isNaN(m.captureUnixMs)).toBe(true);
  });
});

function jpeg(seq: number, extra: Record<string, string> = {}): Response {
  return new Response(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), {
    status: 200,
    headers: { "Content-Type": "image/jpeg", "X-Frame-Seq": String(seq), "X-Capture-Unix-Ms": "1000", "X-Dropped": "2", "X-Pipeline-Ms": "9.5", ...extra },
  });
}

/** Runs a FrameLoop against a scripted list of responses; stops when they run out. */
function harness(script: (() => Response | Promise<Response>)[]) {
  const urls: string[] = [];
  const painted: FrameMeta[] = [];
  const problems: (string | null)[] = [];
  const sleeps: number[] = [];
  const bitmaps: { close: ReturnType<typeof vi.fn> }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let loop!: FrameLoop;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  let i = 0;
  loop = new FrameLoop({
    url: (after) => `vitrine://localhost/frame?after=${after}`,
    async fetch(url, init) {
      urls.push(url);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (i >= script.length) {
          // The script is done: stop once the frame in hand (if any) is painted, and hang
          // until then, as a long poll with nothing new does.
          setTimeout(() => void loop.stop().then(finished), 0);
          return await new Promise<Response>((_resolve, reject) =>
            init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))),
          );
        }
        expect(init.signal).toBeDefined();
        return await script[i++]();
      } finally {
        inFlight--;
      }
    },
    async decode() {
      const b = { width: 4, height: 3, close: vi.fn() };
      bitmaps.push(b);
      return b as unknown as ImageBitmap;
    },
    paint: (_b, meta) => painted.push(meta),
    problem: (m) => problems.push(m),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  loop.start();
  return { loop, done, urls, painted, problems, sleeps, bitmaps, maxInFlight: () => maxInFlight };
}

describe("FrameLoop", () => {
  it("asks for the next frame after the last seq, at most two requests at a time, and closes bitmaps", async () => {
    const t = harness([() => jpeg(1), () => jpeg(2), () => jpeg(5)]);
    await t.done;
    expect(t.urls).toEqual([
      "vitrine://localhost/frame?after=0",
      "vitrine://localhost/frame?after=1",
      "vitrine://localhost/frame?after=2",
      "vitrine://localhost/frame?after=5",
    ]);
    expect(t.painted.map((m) => m.seq)).toEqual([1, 2, 5]);
    expect(t.painted[0]).toEqual({ seq: 1, captureUnixMs: 1000, dropped: 2, pipelineMs: 9.5 });
    expect(t.bitmaps).toHaveLength(3);
    for (const b of t.bitmaps) expect(b.close).toHaveBeenCalledTimes(1);
    expect(t.maxInFlight()).toBeLessThanOrEqual(2);
    expect(t.loop.running).toBe(false);
  });

  it("asks for the next frame while this one is still decoding", async () => {
    const urls: string[] = [];
    const urlsAtDecode: string[][] = [];
    let seq = 0;
    const loop = new FrameLoop({
      url: (after) => `after=${after}`,
      fetch: async (u, init) => {
        urls.push(u);
        if (seq >= 2) {
          return await new Promise<Response>((_res, rej) => init.signal?.addEventListener("abort", () => rej(new DOMException("aborted", "AbortError"))));
        }
        return jpeg(++seq);
      },
      decode: async () => {
        urlsAtDecode.push([...urls]);
        return { close() {} } as unknown as ImageBitmap;
      },
      paint: () => {},
      problem: () => {},
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 0));
    await loop.stop();
    expect(urlsAtDecode[0]).toEqual(["after=0", "after=1"]);
    expect(urlsAtDecode[1]).toEqual(["after=0", "after=1", "after=2"]);
  });

  it("re-asks at once on 204 without painting", async () => {
    const t = harness([() => new Response(null, { status: 204 }), () => jpeg(3)]);
    await t.done;
    expect(t.urls.slice(0, 2)).toEqual(["vitrine://localhost/frame?after=0", "vitrine://localhost/frame?after=0"]);
    expect(t.painted.map((m) => m.seq)).toEqual([3]);
    expect(t.sleeps).toEqual([]);
  });

  it("shows a 503 body, waits 1 s, and clears the message when frames return", async () => {
    const msg = "No camera found. Start with --source video:PATH or --source images:DIR";
    const t = harness([() => new Response(msg, { status: 503, headers: { "Content-Type": "text/plain" } }), () => jpeg(1)]);
    await t.done;
    expect(t.problems).toEqual([msg, null]);
    expect(t.sleeps).toEqual([1000]);
  });

  it("reports network errors and retries", async () => {
    const t = harness([
      () => {
        throw new TypeError("Load failed");
      },
      () => jpeg(7),
    ]);
    await t.done;
    expect(t.problems[0]).toMatch(/Load failed/);
    expect(t.problems[t.problems.length - 1]).toBeNull();
    expect(t.painted.map((m) => m.seq)).toEqual([7]);
  });

  it("paints but complains when the seq header cannot be read (missing CORS expose)", async () => {
    const noHeaders = () => new Response(new Uint8Array([1]), { status: 200, headers: { "Content-Type": "image/jpeg" } });
    const t = harness([noHeaders]);
    await t.done;
    expect(t.painted).toHaveLength(1);
    expect(t.problems).toEqual([HEADERS_UNREADABLE]);
    expect(t.sleeps).toEqual([1000]);
    expect(t.bitmaps[0].close).toHaveBeenCalled();
  });

  it("closes the bitmap and does not paint when stopped during decode", async () => {
    const painted: FrameMeta[] = [];
    const close = vi.fn();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const loop = new FrameLoop({
      url: () => "u",
      fetch: async () => jpeg(1),
      decode: async () => {
        await gate;
        return { close } as unknown as ImageBitmap;
      },
      paint: (_b, m) => painted.push(m),
      problem: () => {},
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 0));
    const stopped = loop.stop();
    release();
    await stopped;
    expect(painted).toEqual([]);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it("stop() aborts the request in flight", async () => {
    let seen: AbortSignal | undefined;
    const loop = new FrameLoop({
      url: () => "u",
      fetch: (_u, init) =>
        new Promise<Response>((_res, rej) => {
          seen = init.signal ?? undefined;
          seen?.addEventListener("abort", () => rej(new DOMException("aborted", "AbortError")));
        }),
      decode: async () => ({ close() {} }) as unknown as ImageBitmap,
      paint: () => {},
      problem: () => {},
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 0));
    await loop.stop();
    expect(seen?.aborted).toBe(true);
  });
});
