// Generated signage: the manager's Signage tab (suggested posters in each design, with why,
// to approve for a number of days or reject) and the start screen's attract loop (approved
// posters full-screen after a minute without a touch; a touch returns to the start screen).
import { commandError, inKiosk, sessionEnded, type CommandError } from "./backend";
import { invoke } from "@tauri-apps/api/core";
import { h } from "./dom";

export interface PosterSuggestion {
  sku: string;
  product_name: string;
  design: string;
  why: string;
  score: number;
  min_contrast: number;
  facts_wrong: string[];
  status: "approved" | "rejected" | null;
  from_ms: number | null;
  until_ms: number | null;
  preview_png_base64: string;
}

interface AttractPoster {
  sku: string;
  design: string;
  png_base64: string;
}

interface SignageSettings {
  attract_after_secs: number;
  poster_secs: number;
}

const SUGGESTED_PRODUCTS = 6;
const DAYS = [7, 14, 28];
const STARTS: [number, string][] = [
  [0, "from today"],
  [1, "from tomorrow"],
  [7, "in a week"],
];

const dayText = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCDate()} ${d.toLocaleString("en-GB", { month: "short", timeZone: "UTC" })}`;
};

/** "Approved until 14 Dec" / "Approved from 9 Dec to 16 Dec" / "Rejected" / "" for the card. */
export function statusText(s: Pick<PosterSuggestion, "status" | "from_ms" | "until_ms">, now: number): string {
  if (s.status === "rejected") return "Rejected";
  if (s.status === "approved" && s.until_ms !== null) {
    if (s.until_ms <= now) return "Approval ended";
    if (s.from_ms !== null && s.from_ms > now) return `Approved from ${dayText(s.from_ms)} to ${dayText(s.until_ms)}`;
    return `Approved until ${dayText(s.until_ms)}`;
  }
  return "";
}

/** Groups suggestions by product, keeping the backend's order (best design first). */
export function byProduct(list: PosterSuggestion[]): { sku: string; name: string; why: string; designs: PosterSuggestion[] }[] {
  const groups: { sku: string; name: string; why: string; designs: PosterSuggestion[] }[] = [];
  for (const s of list) {
    const g = groups.find((x) => x.sku === s.sku);
    if (g) g.designs.push(s);
    else groups.push({ sku: s.sku, name: s.product_name, why: s.why, designs: [s] });
  }
  return groups;
}

/** The manager's Signage tab. */
export function signageView(ended: (err: CommandError) => void) {
  const message = h("p", { id: "signage-message", class: "report-message", role: "status" }, "Generating posters from the store's data…");
  const list = h("div", { id: "signage-list", class: "signage-list" });
  const el = h(
    "div",
    { id: "signage", class: "signage" },
    h("h2", {}, "Suggested posters"),
    h("p", { class: "muted" }, "Made on this kiosk from stock and sales. Approved posters play on the start screen when nobody is using it."),
    message,
    list,
  );
  let generation = 0;

  const problem = (err: unknown) => {
    const e = commandError(err);
    if (sessionEnded(e)) ended(e);
    else message.textContent = e.message;
  };

  async function load() {
    const mine = ++generation;
    try {
      const got = await invoke<PosterSuggestion[]>("signage_suggestions", { limit: SUGGESTED_PRODUCTS });
      if (mine !== generation) return;
      message.textContent = got.length === 0 ? "Nothing stands out in the data right now." : "";
      render(got);
    } catch (err) {
      if (mine === generation) problem(err);
    }
  }

  function render(got: PosterSuggestion[]) {
    const now = Date.now();
    list.replaceChildren(
      ...byProduct(got).map((g) =>
        h(
          "section",
          { class: "signage-product", "data-sku": g.sku },
          h("h3", {}, g.name, h("span", { class: "signage-why muted" }, ` · ${g.why}`)),
          h(
            "div",
            { class: "signage-designs" },
            ...g.designs.map((s) => {
              const days = h("select", { class: "filter signage-days", "aria-label": "Show for" }, ...DAYS.map((d) => h("option", { value: String(d) }, `${d} days`)));
              const start = h("select", { class: "filter signage-start", "aria-label": "Starting" }, ...STARTS.map(([d, label]) => h("option", { value: String(d) }, label)));
              const approve = h("button", { class: "btn signage-approve", type: "button" }, "Approve");
              const reject = h("button", { class: "btn signage-reject", type: "button" }, "Reject");
              const decide = (yes: boolean) => {
                approve.disabled = reject.disabled = true;
                invoke("decide_poster", { sku: s.sku, design: s.design, approve: yes, startInDays: Number(start.value), days: Number(days.value) })
                  .then(load)
                  .catch(problem)
                  .finally(() => (approve.disabled = reject.disabled = false));
              };
              approve.addEventListener("click", () => decide(true));
              reject.addEventListener("click", () => decide(false));
              const wrong = s.facts_wrong.length > 0;
              if (wrong) approve.disabled = true;
              return h(
                "figure",
                { class: `signage-design ${s.status ?? "open"}`, "data-design": s.design, "data-status": s.status ?? "" },
                h("img", { src: `data:image/png;base64,${s.preview_png_base64}`, alt: `${g.name}, ${s.design} design` }),
                h(
                  "figcaption",
                  {},
                  h("span", { class: "signage-design-name" }, s.design),
                  h("span", { class: "signage-status" }, wrong ? `Not shown: ${s.facts_wrong.join("; ")}` : statusText(s, now)),
                  h("span", { class: "signage-actions" }, days, start, approve, reject),
                ),
              );
            }),
          ),
        ),
      ),
    );
  }

  void load();
  return {
    el,
    leave() {
      generation++;
    },
  };
}

/** The manager's home after sign-in: reports and signage, as tabs. */
export function managerWork(reports: () => { el: HTMLElement; leave(): void }, signage: () => { el: HTMLElement; leave(): void }) {
  const reportsTab = h("button", { id: "tab-reports", class: "btn clerk-tab", type: "button", "aria-pressed": "true" }, "Reports");
  const signageTab = h("button", { id: "tab-signage", class: "btn clerk-tab", type: "button", "aria-pressed": "false" }, "Signage");
  const r = reports();
  let s: { el: HTMLElement; leave(): void } | null = null;
  const el = h("div", { id: "manager-work", class: "clerk-work" }, h("nav", { class: "clerk-tabs" }, reportsTab, signageTab), r.el);
  const show = (which: "reports" | "signage") => {
    // The posters are generated when the tab is first opened, not with every sign-in.
    if (which === "signage" && !s) {
      s = signage();
      el.append(s.el);
    }
    r.el.hidden = which !== "reports";
    if (s) s.el.hidden = which !== "signage";
    reportsTab.setAttribute("aria-pressed", String(which === "reports"));
    signageTab.setAttribute("aria-pressed", String(which === "signage"));
  };
  reportsTab.addEventListener("click", () => show("reports"));
  signageTab.addEventListener("click", () => show("signage"));
  return {
    el,
    leave() {
      r.leave();
      s?.leave();
    },
  };
}

/** The start screen's attract loop: after the configured time without a touch, approved
 * posters play full-screen; a touch anywhere ends it and restarts the wait. */
export function attractLoop() {
  const img = h("img", { id: "attract-poster", alt: "" });
  const overlay = h("div", { id: "attract", class: "attract", hidden: true, role: "img", "aria-label": "In-store posters: touch to begin" }, img);
  let settings: SignageSettings | null = null;
  let lastTouch = Date.now();
  let idleTimer: ReturnType<typeof setInterval> | undefined;
  let slideTimer: ReturnType<typeof setInterval> | undefined;
  let fetching = false;

  const stop = () => {
    clearInterval(slideTimer);
    slideTimer = undefined;
    overlay.hidden = true;
    img.removeAttribute("src");
    delete overlay.dataset.sku;
  };
  const touched = (e: Event) => {
    lastTouch = Date.now();
    if (e.type === "keydown" && !overlay.hidden) stop();
  };
  // The overlay covers the screen, so the touch that ends the loop lands on it and nowhere else.
  overlay.addEventListener("click", () => {
    lastTouch = Date.now();
    stop();
  });

  async function play() {
    if (fetching || !settings) return;
    fetching = true;
    try {
      const orientation = innerWidth >= innerHeight ? "landscape" : "portrait";
      const posters = await invoke<AttractPoster[]>("attract_posters", { orientation });
      if (posters.length === 0 || Date.now() - lastTouch < settings.attract_after_secs * 1000) return;
      let i = 0;
      const showOne = () => {
        const p = posters[i % posters.length];
        img.src = `data:image/png;base64,${p.png_base64}`;
        overlay.dataset.sku = p.sku;
        overlay.dataset.design = p.design;
        i++;
      };
      showOne();
      overlay.hidden = false;
      slideTimer = setInterval(showOne, settings.poster_secs * 1000);
    } catch {
      // No posters to play (or the backend is busy): the start screen stays.
    } finally {
      fetching = false;
    }
  }

  return {
    el: overlay,
    enter() {
      if (!inKiosk()) return;
      lastTouch = Date.now();
      for (const ev of ["pointerdown", "touchstart", "keydown"]) window.addEventListener(ev, touched, { capture: true });
      invoke<SignageSettings>("signage_settings")
        .then((s) => {
          settings = s;
          if (s.attract_after_secs <= 0) return;
          idleTimer = setInterval(() => {
            if (overlay.hidden && Date.now() - lastTouch >= s.attract_after_secs * 1000) void play();
          }, 1000);
        })
        .catch(() => undefined);
    },
    leave() {
      clearInterval(idleTimer);
      for (const ev of ["pointerdown", "touchstart", "keydown"]) window.removeEventListener(ev, touched, { capture: true });
      stop();
    },
  };
}
