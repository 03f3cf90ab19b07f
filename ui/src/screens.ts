import {
  errorText,
  inKiosk,
  setBackgroundMode,
  startMirror,
  stopMirror,
  type BackgroundMode,
  type Status,
} from "./backend";
import { h } from "./dom";
import { fitRect, type FitMode } from "./fit";
import { FrameLoop, type FrameMeta } from "./frames";
import { routeHash, type Route } from "./routes";
import { FpsCounter, LatencySmoother, captureToPaintMs, formatFps, formatLatency } from "./stats";
import { attractLoop } from "./signage";
import { problemCount, sourceProblem, statusItems } from "./statusText";
import { tryOnPanel } from "./tryon";

export interface Screen {
  el: HTMLElement;
  /** Whether main polls get_status every 2 s while this screen is shown. */
  pollsStatus: boolean;
  enter?(): void;
  leave?(): void;
  /** Latest get_status result (null outside the kiosk), or the error text. */
  status?(status: Status | null, error: string | null): void;
}

export function go(route: Route): void {
  location.hash = routeHash(route);
}

function backButton(): HTMLButtonElement {
  const b = h("button", { id: "back", class: "btn back", type: "button" }, "‹ Back");
  b.addEventListener("click", () => go("start"));
  return b;
}

/** The assistant, from the mirror: the shopper asks, and "Try it on" brings them back. */
function askButton(): HTMLButtonElement {
  const b = h("button", { id: "mirror-ask", class: "btn back", type: "button" }, "Ask us");
  b.addEventListener("click", () => go("ask"));
  return b;
}

// ───────────────────────── start ─────────────────────────

export function startScreen(): Screen {
  const role = (id: string, label: string, hint: string, route: Route) => {
    const b = h("button", { id, class: "btn role", type: "button" }, h("span", { class: "role-label" }, label), h("span", { class: "role-hint" }, hint));
    b.addEventListener("click", () => go(route));
    return b;
  };
  // Shoppers see no engineering status; staff find it behind this link (and a PIN). A dot
  // on it tells staff walking by that something needs a look.
  const staffStatus = h("button", { id: "staff-status", class: "btn staff-status", type: "button" }, "System status");
  staffStatus.addEventListener("click", () => go("status"));
  const el = h(
    "section",
    { id: "screen-start", class: "screen start" },
    h("header", { class: "brand" }, h("h1", {}, "Vitrine"), h("p", { class: "tagline" }, "Touch to begin")),
    h(
      "nav",
      { class: "roles" },
      role("role-shopper", "Smart mirror", "Try the look", "mirror"),
      role("role-ask", "Ask us", "Stock, sizes, prices, where things are", "ask"),
      role("role-clerk", "Shelf scan", "Staff", "clerk"),
      role("role-manager", "Stock reports", "Manager", "manager"),
    ),
    h("footer", { class: "start-footer" }, staffStatus),
  );
  const attract = attractLoop();
  el.append(attract.el);

  return {
    el,
    pollsStatus: true,
    enter: () => attract.enter(),
    leave: () => attract.leave(),
    status(s, error) {
      const problems = error ? 1 : s ? problemCount(statusItems(s, Date.now())) : 0;
      staffStatus.classList.toggle("attention", problems > 0);
      staffStatus.dataset.problems = String(problems);
      staffStatus.title = problems > 0 ? `${problems} thing${problems === 1 ? "" : "s"} for staff to look at` : "Staff: system status";
    },
  };
}

// ───────────────────────── mirror ─────────────────────────

let fitMode: FitMode = "cover";

// start_mirror / stop_mirror run strictly in order, so a quick leave + re-enter
// cannot deliver the old screen's stop after the new screen's start.
let mirrorOps: Promise<unknown> = Promise.resolve();
function queueMirrorOp(op: () => Promise<void>): Promise<void> {
  const p = mirrorOps.then(op);
  mirrorOps = p.catch(() => undefined);
  return p;
}

export function mirrorScreen(): Screen {
  const canvas = h("canvas", { id: "mirror-canvas" });
  const ctx = canvas.getContext("2d", { alpha: false });
  const fpsEl = h("span", { id: "fps" }, formatFps(0));
  const latencyEl = h("span", { id: "latency" }, formatLatency(null));
  const droppedEl = h("span", { id: "dropped" }, "0");
  const pipelineEl = h("span", { id: "pipeline-ms" }, "– ms");
  const message = h("div", { id: "source-message", class: "source-message", role: "status", hidden: true });

  const modes: [BackgroundMode, string, string][] = [
    ["blur", "bg-blur", "Blur"],
    ["replace", "bg-replace", "Replace"],
    ["off", "bg-off", "Off"],
  ];
  const modeButtons = new Map<BackgroundMode, HTMLButtonElement>();
  for (const [mode, id, label] of modes) {
    const b = h("button", { id, class: "btn mode", type: "button", "aria-pressed": "false" }, label);
    b.addEventListener("click", () => void chooseMode(mode));
    modeButtons.set(mode, b);
  }

  const tryon = tryOnPanel();
  const el = h(
    "section",
    { id: "screen-mirror", class: "screen mirror" },
    canvas,
    h(
      "div",
      { class: "overlay stats" },
      fpsEl,
      latencyEl,
      h("span", { class: "stat" }, "dropped ", droppedEl),
      h("span", { class: "stat" }, "pipeline ", pipelineEl),
    ),
    message,
    ...tryon.parts,
    h(
      "div",
      { class: "overlay controls" },
      h("div", { class: "controls-left" }, backButton(), askButton()),
      h("div", { class: "modes", role: "group", "aria-label": "Background" }, h("span", { class: "modes-label" }, "Background"), ...modeButtons.values()),
    ),
  );

  // Messages: a frame-stream problem wins over the polled source state.
  let frameProblem: string | null = null;
  let statusProblem: string | null = null;
  let actionProblem: string | null = null;
  let actionTimer: ReturnType<typeof setTimeout> | undefined;
  const showMessage = () => {
    const text = frameProblem ?? actionProblem ?? statusProblem;
    message.textContent = text ?? "";
    message.hidden = !text;
  };

  let currentMode: BackgroundMode | null = null;
  let pendingMode = false;
  const showMode = (mode: BackgroundMode | null) => {
    currentMode = mode;
    for (const [m, b] of modeButtons) {
      b.setAttribute("aria-pressed", String(m === mode));
      b.classList.toggle("active", m === mode);
    }
  };
  async function chooseMode(mode: BackgroundMode) {
    const previous = currentMode;
    showMode(mode);
    pendingMode = true;
    try {
      await setBackgroundMode(mode);
      actionProblem = null;
    } catch (err) {
      showMode(previous);
      actionProblem = `Could not change the background: ${errorText(err)}`;
      clearTimeout(actionTimer);
      actionTimer = setTimeout(() => {
        actionProblem = null;
        showMessage();
      }, 5000);
    } finally {
      pendingMode = false;
      showMessage();
    }
  }

  // Painting.
  const fps = new FpsCounter(1000);
  const latency = new LatencySmoother(0.2);
  let lastBitmapSize = { w: 0, h: 0 };
  const sizeCanvas = () => {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const hgt = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== hgt) {
      canvas.width = w;
      canvas.height = hgt;
    }
  };
  const paint = (bitmap: ImageBitmap, meta: FrameMeta) => {
    if (!ctx) return;
    sizeCanvas();
    const r = fitRect(bitmap.width, bitmap.height, canvas.width, canvas.height, fitMode);
    if (fitMode === "contain" || bitmap.width !== lastBitmapSize.w || bitmap.height !== lastBitmapSize.h) {
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    lastBitmapSize = { w: bitmap.width, h: bitmap.height };
    ctx.drawImage(bitmap, r.x, r.y, r.w, r.h);

    const paintedAt = Date.now();
    fps.tick(performance.now());
    latency.add(captureToPaintMs(paintedAt, meta.captureUnixMs));
    fpsEl.textContent = formatFps(fps.fps(performance.now()));
    latencyEl.textContent = formatLatency(latency.value);
    if (Number.isFinite(meta.dropped)) droppedEl.textContent = String(meta.dropped);
    if (Number.isFinite(meta.pipelineMs)) pipelineEl.textContent = `${meta.pipelineMs.toFixed(1)} ms`;
  };

  const loop = new FrameLoop({
    fetch: (url, init) => fetch(url, init),
    decode: (blob) => createImageBitmap(blob),
    paint,
    problem(text) {
      if (text === frameProblem) return;
      frameProblem = text;
      showMessage();
    },
  });

  canvas.addEventListener("click", () => {
    fitMode = fitMode === "cover" ? "contain" : "cover";
    lastBitmapSize = { w: 0, h: 0 };
  });

  let fpsTimer: ReturnType<typeof setInterval> | undefined;
  const onResize = () => {
    sizeCanvas();
    lastBitmapSize = { w: 0, h: 0 };
  };
  let active = false;

  return {
    el,
    pollsStatus: true,
    enter() {
      active = true;
      tryon.enter();
      sizeCanvas();
      window.addEventListener("resize", onResize);
      // Keep #fps honest when frames stop arriving.
      fpsTimer = setInterval(() => {
        fpsEl.textContent = formatFps(fps.fps(performance.now()));
      }, 500);
      if (!inKiosk()) {
        frameProblem = "Live video needs the kiosk app (not running inside the kiosk)";
        showMessage();
        return;
      }
      queueMirrorOp(startMirror)
        .catch((err) => {
          statusProblem = `Could not start the mirror: ${errorText(err)}`;
          showMessage();
        })
        .finally(() => {
          if (active) loop.start();
        });
    },
    leave() {
      active = false;
      tryon.leave();
      window.removeEventListener("resize", onResize);
      clearInterval(fpsTimer);
      clearTimeout(actionTimer);
      const stopped = loop.stop();
      if (inKiosk()) {
        queueMirrorOp(() => stopped.then(stopMirror)).catch((err) => console.warn("stop_mirror failed:", errorText(err)));
      }
    },
    status(s, error) {
      if (error) {
        statusProblem = `Backend error: ${error}`;
      } else if (s) {
        statusProblem = sourceProblem(s.source);
        if (!pendingMode) showMode(s.background_mode);
        tryon.status(s.mirror);
      }
      showMessage();
    },
  };
}
