// The clerk's shelf scan: the live picture with the detector's boxes over it, a location, a
// Scan button, then the result (facings, gaps, price labels, planogram, tasks, the annotated
// picture) to Confirm (writes counted observations) or Discard. The backend checks the role on
// every call; this screen only follows what it answers.
import type { CommandError } from "./backend";
import { commandError, sessionEnded } from "./backend";
import {
  shelfConfirm,
  shelfDiscard,
  shelfLocations,
  shelfPreviewFrame,
  shelfPreviewSource,
  shelfPreviewStart,
  shelfPreviewStop,
  shelfScan,
  shelfScanImage,
  type Detection,
  type LiveView,
  type ShelfReport,
} from "./clerkApi";
import {
  BOX_COLOURS,
  boxesOnCanvas,
  confirmedText,
  countLines,
  detectionSummary,
  facingRows,
  gapRows,
  planogramLines,
  priceRows,
  reportHeadline,
  sourceNote,
  type Row,
} from "./clerkFormat";
import { h } from "./dom";
import { fitRect } from "./fit";

const SOURCE_CHECK_MS = 2000;

/** The clerk's home after sign-in: shelf scan (shown first) and stock lookup, as tabs. */
export function clerkWork(ended: (err: CommandError) => void, stockLookup: () => { el: HTMLElement; leave(): void }) {
  const scanTab = h("button", { id: "tab-shelf", class: "btn clerk-tab", type: "button", "aria-pressed": "true" }, "Shelf scan");
  const stockTab = h("button", { id: "tab-stock", class: "btn clerk-tab", type: "button", "aria-pressed": "false" }, "Stock lookup");
  const scan = shelfScanView(ended);
  const stock = stockLookup();
  stock.el.hidden = true;
  const show = (which: "scan" | "stock") => {
    scan.el.hidden = which !== "scan";
    stock.el.hidden = which !== "stock";
    scanTab.setAttribute("aria-pressed", String(which === "scan"));
    stockTab.setAttribute("aria-pressed", String(which === "stock"));
  };
  scanTab.addEventListener("click", () => show("scan"));
  stockTab.addEventListener("click", () => show("stock"));
  const el = h("div", { id: "clerk-work", class: "clerk-work" }, h("nav", { class: "clerk-tabs" }, scanTab, stockTab), scan.el, stock.el);
  return {
    el,
    leave() {
      scan.leave();
      stock.leave();
    },
  };
}

/** Draws a JPEG frame letterboxed into the canvas, and the boxes over it. */
function drawFrame(canvas: HTMLCanvasElement, img: HTMLImageElement, frameW: number, frameH: number, detections: Detection[]): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const cssW = canvas.clientWidth || canvas.width;
  const cssH = canvas.clientHeight || canvas.height;
  if (canvas.width !== cssW || canvas.height !== cssH) {
    canvas.width = cssW;
    canvas.height = cssH;
  }
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const drawn = fitRect(frameW, frameH, canvas.width, canvas.height, "contain");
  ctx.drawImage(img, drawn.x, drawn.y, drawn.w, drawn.h);
  ctx.lineWidth = 2;
  for (const b of boxesOnCanvas(detections, frameW, frameH, drawn)) {
    ctx.strokeStyle = BOX_COLOURS[b.cls];
    ctx.strokeRect(b.x, b.y, b.w, b.h);
  }
}

function table(id: string, headers: string[], rows: Row[], empty: string): HTMLElement {
  if (rows.length === 0) return h("p", { id, class: "muted" }, empty);
  return h(
    "table",
    { id, class: "report-table" },
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", {}, t)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", { class: typeof c === "number" ? "num" : undefined }, String(c)))))),
  );
}

function shelfScanView(ended: (err: CommandError) => void) {
  let active = true;
  let after = 0;
  let latest: LiveView | null = null;
  let scanning = false;
  const img = new Image();

  const source = h("p", { id: "shelf-source", class: "shelf-source", role: "status" }, "Starting the camera…");
  const message = h("p", { id: "shelf-message", class: "report-message", role: "alert" });
  const found = h("p", { id: "shelf-found", class: "muted" });
  const locationSelect = h("select", { id: "shelf-location", class: "filter" }, h("option", { value: "" }, "Location…"));
  const planogram = h("input", { id: "shelf-planogram", type: "checkbox" });
  const scanButton = h("button", { id: "shelf-scan", class: "btn primary", type: "button" }, "Scan");
  const canvas = h("canvas", { id: "shelf-live", class: "shelf-canvas" });
  const live = h(
    "div",
    { id: "shelf-live-view", class: "shelf-live-view" },
    h(
      "div",
      { class: "filters" },
      locationSelect,
      h("label", { class: "check" }, planogram, " compare with the demo planogram"),
      scanButton,
    ),
    source,
    message,
    // The readout sits on the picture, where the clerk is looking (and never below the fold).
    h("div", { class: "shelf-canvas-wrap" }, canvas, found),
  );
  const result = h("div", { id: "shelf-result", class: "shelf-result", hidden: true });
  const el = h("div", { id: "shelf-scan-view", class: "shelf-scan" }, live, result);

  const problem = (err: unknown) => {
    const e = commandError(err);
    if (sessionEnded(e)) ended(e);
    else message.textContent = e.message;
  };

  img.addEventListener("load", () => {
    if (latest && !live.hidden) drawFrame(canvas, img, latest.width, latest.height, latest.detections);
  });

  async function pollFrames() {
    while (active) {
      try {
        const v = await shelfPreviewFrame(after);
        if (!active) return;
        if (!v) continue;
        after = v.seq;
        latest = v;
        canvas.dataset.seq = String(v.seq);
        canvas.dataset.boxes = String(v.detections.length);
        found.textContent = v.detect_error ? `No boxes: ${v.detect_error}` : `${detectionSummary(v.detections)} (${v.detect_ms.toFixed(0)} ms)`;
        found.classList.toggle("error", v.detect_error !== null);
        found.classList.toggle("no-shelf", v.detect_error === null && v.detections.length === 0);
        img.src = `data:image/jpeg;base64,${v.jpeg_base64}`;
      } catch (err) {
        if (!active) return;
        problem(err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  const showSource = () =>
    shelfPreviewSource()
      .then((s) => {
        const note = sourceNote(s);
        source.textContent = note.text;
        source.classList.toggle("error", note.problem);
        source.dataset.demo = String(s.demo_because !== null);
      })
      .catch(problem);

  const sourceTimer = setInterval(() => void showSource(), SOURCE_CHECK_MS);

  shelfLocations()
    .then((locations) => {
      for (const l of locations) locationSelect.append(h("option", { value: l.code }, `${l.code} · ${l.name}`));
    })
    .catch(problem);

  shelfPreviewStart()
    .then(() => {
      void showSource();
      void pollFrames();
    })
    .catch(problem);

  scanButton.addEventListener("click", () => {
    if (scanning) return;
    scanning = true;
    scanButton.disabled = true;
    message.textContent = "Scanning…";
    const shown = latest;
    shelfScan(locationSelect.value || null, planogram.checked)
      .then((report) => {
        message.textContent = "";
        showResult(report, shown);
      })
      .catch(problem)
      .finally(() => {
        scanning = false;
        scanButton.disabled = false;
      });
  });

  function backToLive() {
    result.hidden = true;
    result.replaceChildren();
    live.hidden = false;
    if (latest) drawFrame(canvas, img, latest.width, latest.height, latest.detections);
  }

  function showResult(report: ShelfReport, shown: LiveView | null) {
    const frame = report.frames[0];
    const annotated = h("canvas", { id: "shelf-annotated", class: "shelf-canvas" });
    const confirm = h("button", { id: "shelf-confirm", class: "btn primary", type: "button", disabled: report.counts.length === 0 }, "Confirm counts");
    const discard = h("button", { id: "shelf-discard", class: "btn", type: "button" }, "Discard");
    const outcome = h("div", { id: "shelf-outcome", role: "status" });
    const tasks = report.tasks.map((t) => h("li", { "data-kind": t.kind }, t.text));
    const plan = planogramLines(report.planogram);
    const parts: (HTMLElement | null)[] = [
      h("h2", { id: "shelf-headline" }, reportHeadline(report)),
      report.notes.length ? h("ul", { id: "shelf-notes", class: "report-notes" }, ...report.notes.map((n) => h("li", {}, n))) : null,
      h("div", { class: "shelf-canvas-wrap" }, annotated),
      h("h3", {}, "Facings"),
      table("shelf-facings", ["Row", "Location", "SKU", "Name", "Facings"], facingRows(report), "No products recognised"),
      h("h3", {}, "Gaps"),
      table("shelf-gaps", ["Row", "Location", "SKU", "Width", ""], gapRows(report), "No gaps"),
      h("h3", {}, "Price labels"),
      table("shelf-prices", ["Row", "Location", "SKU", "Label", "Catalog"], priceRows(report), "All readable labels match the catalog"),
      report.planogram ? h("h3", {}, "Planogram") : null,
      report.planogram
        ? plan.length
          ? h("ul", { id: "shelf-planogram-diff" }, ...plan.map((l) => h("li", {}, l)))
          : h("p", { id: "shelf-planogram-diff", class: "muted" }, "Matches the planogram")
        : null,
      h("h3", {}, "Tasks"),
      tasks.length ? h("ul", { id: "shelf-tasks" }, ...tasks) : h("p", { id: "shelf-tasks", class: "muted" }, "Nothing to do"),
      h("h3", {}, "Counts to write"),
      report.counts.length
        ? h("ul", { id: "shelf-counts" }, ...countLines(report).map((l) => h("li", {}, l)))
        : h("p", { id: "shelf-counts", class: "muted" }, "Nothing to write: choose a location, and scan a shelf with catalog products"),
      h("div", { class: "exports" }, confirm, discard),
      outcome,
    ];
    result.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
    // Switch views only once the result is built: a report that fails to render leaves the
    // live view, and its message saying why, on screen.
    live.hidden = true;
    result.hidden = false;
    // The backend's annotated picture (boxes, labels read, gaps); the live frame with the
    // scan's boxes while it comes, or if it cannot.
    if (shown && frame) {
      const pic = new Image();
      pic.addEventListener("load", () => drawFrame(annotated, pic, frame.width, frame.height, frame.detections));
      pic.src = `data:image/jpeg;base64,${shown.jpeg_base64}`;
    }
    shelfScanImage(report.scan_id)
      .then((jpeg) => {
        const pic = new Image();
        pic.addEventListener("load", () => {
          drawFrame(annotated, pic, pic.naturalWidth, pic.naturalHeight, []);
          annotated.dataset.annotated = "true";
        });
        pic.src = `data:image/jpeg;base64,${jpeg}`;
      })
      .catch(() => undefined);
    confirm.addEventListener("click", () => {
      confirm.disabled = true;
      discard.disabled = true;
      shelfConfirm(report.scan_id)
        .then((done) => {
          const again = h("button", { id: "shelf-again", class: "btn", type: "button" }, "Scan again");
          again.addEventListener("click", backToLive);
          outcome.replaceChildren(
            h("p", { id: "shelf-written", "data-recorded": String(done.recorded) }, confirmedText(done)),
            h("ul", {}, ...countLines(report).map((l) => h("li", {}, l))),
            again,
          );
        })
        .catch((err) => {
          confirm.disabled = false;
          discard.disabled = false;
          const e = commandError(err);
          if (sessionEnded(e)) ended(e);
          else outcome.textContent = e.message;
        });
    });
    discard.addEventListener("click", () => {
      void shelfDiscard(report.scan_id).catch(() => undefined);
      backToLive();
    });
  }

  return {
    el,
    leave() {
      active = false;
      clearInterval(sourceTimer);
      // Stop the camera and forget the picture when the clerk leaves.
      void shelfPreviewStop().catch(() => undefined);
    },
  };
}
