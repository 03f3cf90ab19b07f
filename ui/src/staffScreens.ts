// Clerk and manager screens: a PIN pad, then reports (managers: all, with charts and
// exports; clerks: the stock lookup). Hiding a button is not security: the backend checks the
// signed-in role on every call, and these screens only follow what it answers.
import {
  commandError,
  currentSession,
  discrepancyByAisle,
  exportReport,
  forecastChart,
  inKiosk,
  runReport,
  sessionEnded,
  signIn,
  signOut,
  staffForSignIn,
  stockHistory,
  feedbackTrend,
  type CommandError,
  type ReportKind,
  type ReportQuery,
  type ReportTable,
  type Session,
  type StaffMember,
  type StaffRole,
} from "./backend";
import { aisleData, forecastData, stockHistoryData } from "./chartData";
import { clerkWork } from "./clerk";
import { clearChart, drawChart } from "./charts";
import { h } from "./dom";
import { PinEntry, signInMessage } from "./pinpad";
import { alignOf, formatCell, skuColumn, sortRows, type SortDirection } from "./reportFormat";
import { managerWork, signageView } from "./signage";
import { othersAlsoBought } from "./tryonApi";
import { inStockText, suggestionMeta } from "./tryonFormat";
import { go, type Screen } from "./screens";
import { statusView } from "./statusPage";

/** How often the screen asks whether the backend still has the session (idle sign-out). */
const SESSION_CHECK_MS = 5000;
const SEARCH_DEBOUNCE_MS = 300;
const HISTORY_DAYS = 90;
const FORECAST_DAYS = 28;
const MAX_ROWS_SHOWN = 500;

export const REPORTS: [ReportKind, string][] = [
  ["stock", "Stock"],
  ["low-stock", "Low stock"],
  ["discrepancies", "Discrepancies"],
  ["sell-through", "Sell-through & cover"],
  ["slow-movers", "Slow movers"],
  ["reorder", "Reorder"],
  ["sync-status", "Sync status"],
  ["feedback", "Shopper feedback"],
];

/** A staff page: the clerk's shelf scan, the manager's reports, or the system status page
 *  (any signed-in staff). */
export type StaffPage = StaffRole | "status";

const TITLES: Record<StaffPage, string> = { clerk: "Shelf scan", manager: "Stock reports", status: "System status" };

export function staffScreen(page: StaffPage): Screen {
  const title = TITLES[page];
  // Who may sign in here: the status page takes clerks as well as managers.
  const role: StaffRole = page === "manager" ? "manager" : "clerk";
  const who = h("span", { id: "session-name", class: "session-name" });
  const signOutButton = h("button", { id: "sign-out", class: "btn", type: "button", hidden: true }, "Sign out");
  const back = h("button", { id: "back", class: "btn back", type: "button" }, "‹ Back");
  const body = h("div", { class: "staff-body" });
  const el = h(
    "section",
    { id: `screen-${page}`, class: "screen staff" },
    h("header", { class: "staff-top" }, back, h("h1", {}, title), h("div", { class: "session" }, who, signOutButton)),
    body,
  );

  let active = false;
  let sessionTimer: ReturnType<typeof setInterval> | undefined;
  let view: { leave(): void } | null = null;

  const showSignIn = (notice?: string) => {
    view?.leave();
    clearInterval(sessionTimer);
    who.textContent = "";
    signOutButton.hidden = true;
    const pad = pinPad(role, notice, (session) => showReports(session));
    view = pad;
    body.replaceChildren(pad.el);
  };

  /** The backend ended the session (idle time-out, or never signed in): back to the pad. */
  const ended = (err: CommandError) => {
    if (active) showSignIn(err.code === "session-expired" ? "Signed out after inactivity" : err.message);
  };

  const showReports = (session: Session) => {
    view?.leave();
    who.textContent = `${session.staff} · ${session.role}`;
    signOutButton.hidden = false;
    // The clerk screen opens on the shelf scan, the stock lookup its second tab; the manager
    // screen opens on the reports, signage its second tab.
    const reports =
      page === "status"
        ? statusView(ended)
        : role === "clerk"
          ? clerkWork(ended, () => reportsView("clerk", ended))
          : managerWork(
              () => reportsView(session.role, ended),
              () => signageView(ended),
            );
    view = reports;
    body.replaceChildren(reports.el);
    clearInterval(sessionTimer);
    sessionTimer = setInterval(() => {
      currentSession()
        .then((s) => {
          if (!s) ended({ code: "session-expired", message: "", tries_left: null, locked_ms: null });
        })
        .catch(() => undefined);
    }, SESSION_CHECK_MS);
  };

  signOutButton.addEventListener("click", () => {
    void signOut().finally(() => showSignIn("Signed out"));
  });
  back.addEventListener("click", () => go("start"));

  return {
    el,
    pollsStatus: false,
    enter() {
      active = true;
      if (!inKiosk()) {
        body.replaceChildren(h("p", { class: "coming" }, "Staff screens need the kiosk app."));
        return;
      }
      // A manager signed in on another staff screen a moment ago keeps the session.
      currentSession()
        .then((s) => {
          if (!active) return;
          if (s && (s.role === role || s.role === "manager" || page === "status")) showReports(s);
          else showSignIn();
        })
        .catch(() => active && showSignIn());
    },
    leave() {
      active = false;
      clearInterval(sessionTimer);
      view?.leave();
      view = null;
      // Whoever walks up next must not inherit a staff session.
      if (inKiosk()) void signOut().catch(() => undefined);
    },
  };
}

// ───────────────────────── PIN pad ─────────────────────────

function pinPad(role: StaffRole, notice: string | undefined, onSignedIn: (s: Session) => void) {
  const entry = new PinEntry();
  const display = h("div", { id: "pin-display", class: "pin-display", "aria-label": "PIN" });
  const message = h("p", { id: "pin-message", class: "pin-message", role: "alert" }, notice ?? "");
  const list = h("div", { id: "staff-list", class: "staff-list", role: "group", "aria-label": "Who are you?" });
  let chosen: string | null = null;
  let busy = false;

  const render = () => {
    display.textContent = entry.masked() || " ";
    enter.disabled = busy || !entry.complete || chosen === null;
  };
  const choose = (name: string) => {
    chosen = name;
    for (const b of list.querySelectorAll<HTMLButtonElement>(".staff-choice")) b.setAttribute("aria-pressed", String(b.dataset.name === name));
    render();
  };

  const key = (label: string, id: string, action: () => void, cls = "") => {
    const b = h("button", { id, class: `btn pin-key ${cls}`, type: "button" }, label);
    b.addEventListener("click", () => {
      action();
      render();
    });
    return b;
  };
  const digits = ["1", "2", "3", "4", "5", "6", "7", "8", "9"].map((d) => key(d, `pin-key-${d}`, () => entry.press(d)));
  const enter = key("OK", "pin-enter", () => void submit(), "enter");
  const keypad = h(
    "div",
    { class: "keypad" },
    ...digits,
    key("⌫", "pin-back", () => entry.backspace(), "muted"),
    key("0", "pin-key-0", () => entry.press("0")),
    enter,
  );

  async function submit() {
    if (busy || chosen === null || !entry.complete) return;
    busy = true;
    message.textContent = "Checking…";
    message.classList.add("pending");
    render();
    try {
      onSignedIn(await signIn(chosen, entry.take()));
    } catch (err) {
      message.textContent = signInMessage(commandError(err));
    } finally {
      busy = false;
      message.classList.remove("pending");
      render();
    }
  }

  const onKey = (e: KeyboardEvent) => {
    if (/^[0-9]$/.test(e.key)) entry.press(e.key);
    else if (e.key === "Backspace") entry.backspace();
    else if (e.key === "Enter") void submit();
    else return;
    e.preventDefault();
    render();
  };
  window.addEventListener("keydown", onKey);

  staffForSignIn(role)
    .then((staff: StaffMember[]) => {
      list.replaceChildren(
        ...staff.map((m) => {
          const b = h("button", { class: "btn staff-choice", type: "button", "data-name": m.name, "aria-pressed": "false" }, m.name);
          b.addEventListener("click", () => {
            choose(m.name);
            const lockedMs = (m.locked_until_ms ?? 0) - Date.now();
            message.textContent = lockedMs > 0 ? signInMessage({ code: "locked", message: "", tries_left: null, locked_ms: lockedMs }) : "";
          });
          return b;
        }),
      );
      if (staff.length === 0) message.textContent = `No ${role}s yet: add one with \`vitrine staff add\``;
      else if (staff.length === 1) choose(staff[0].name);
    })
    .catch((err) => {
      message.textContent = commandError(err).message;
    });

  render();
  const el = h(
    "div",
    { id: "sign-in", class: "sign-in" },
    h("h2", {}, role === "manager" ? "Manager sign-in" : "Staff sign-in"),
    list,
    display,
    message,
    keypad,
  );
  return {
    el,
    leave() {
      window.removeEventListener("keydown", onKey);
      entry.clear();
    },
  };
}

// ───────────────────────── reports ─────────────────────────

function reportsView(role: StaffRole, ended: (err: CommandError) => void) {
  const manager = role === "manager";
  const kinds = manager ? REPORTS : REPORTS.filter(([k]) => k === "stock");
  let query: ReportQuery = { kind: manager ? "low-stock" : "stock", search: null, location: null, category: null, window_days: 28 };
  let selectedSku: string | null = null;
  let generation = 0;
  let sort: { column: number; direction: SortDirection } | null = null;

  const message = h("p", { id: "report-message", class: "report-message", role: "alert" });
  const problem = (err: unknown) => {
    const e = commandError(err);
    if (sessionEnded(e)) ended(e);
    else message.textContent = e.message;
  };

  // Report list.
  const reportButtons = kinds.map(([kind, label]) => {
    const b = h("button", { id: `report-${kind}`, class: "btn report-choice", type: "button", "aria-pressed": "false" }, label);
    b.addEventListener("click", () => {
      query = { ...query, kind };
      selectedSku = null;
      sort = null;
      void load();
    });
    return b;
  });

  // Filters.
  const input = (id: string, placeholder: string) => h("input", { id, class: "filter", type: "search", placeholder, autocomplete: "off" });
  const search = input("report-search", "SKU, name or barcode");
  const location = input("report-location", "Location (e.g. A1/B1/S1)");
  const category = input("report-category", "Category");
  const windowSelect = h("select", { id: "report-window", class: "filter" });
  for (const days of [7, 28, 90, 365]) windowSelect.append(h("option", { value: String(days), selected: days === 28 }, `${days} days`));
  let debounce: ReturnType<typeof setTimeout> | undefined;
  const filtersChanged = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      const text = (el: HTMLInputElement) => el.value.trim() || null;
      query = { ...query, search: text(search), location: text(location), category: text(category), window_days: Number(windowSelect.value) };
      void load();
    }, SEARCH_DEBOUNCE_MS);
  };
  for (const f of [search, location, category]) f.addEventListener("input", filtersChanged);
  windowSelect.addEventListener("change", filtersChanged);

  // Table.
  const heading = h("h2", { id: "report-title" });
  const generated = h("span", { id: "report-generated", class: "muted" });
  const thead = h("thead");
  const tbody = h("tbody");
  const tableEl = h("table", { id: "report-table", class: "report-table" }, thead, tbody);
  const notes = h("ul", { id: "report-notes", class: "report-notes" });

  // Charts.
  const chartTitle = h("h3", { id: "chart-title" });
  const mainCanvas = h("canvas", { id: "report-chart" });
  const forecastTitle = h("h3", { id: "forecast-title" });
  const forecastCanvas = h("canvas", { id: "forecast-chart" });
  const mainBox = h("div", { class: "chart-box" }, chartTitle, h("div", { class: "chart-wrap" }, mainCanvas));
  const forecastBox = h("div", { class: "chart-box" }, forecastTitle, h("div", { class: "chart-wrap" }, forecastCanvas));
  const charts = h("div", { id: "charts", class: "charts", hidden: true }, mainBox, forecastBox);

  // Export.
  const exportResult = h("p", { id: "export-result", class: "export-result", role: "status" });
  const exportButton = (format: "csv" | "pdf", label: string) => {
    const b = h("button", { id: `export-${format}`, class: "btn export", type: "button" }, label);
    b.addEventListener("click", () => {
      exportResult.textContent = "Saving…";
      exportReport(query, format)
        .then((f) => {
          exportResult.textContent = `Saved ${f.rows} rows to ${f.path}`;
          exportResult.dataset.path = f.path;
        })
        .catch((err) => {
          exportResult.textContent = "";
          problem(err);
        });
    });
    return b;
  };

  async function load() {
    const mine = ++generation;
    for (const [i, b] of reportButtons.entries()) b.setAttribute("aria-pressed", String(kinds[i][0] === query.kind));
    message.textContent = "";
    exportResult.textContent = "";
    try {
      const t = await runReport(query);
      if (mine !== generation) return;
      showTable(t);
      void showAlsoBought(mine);
      await showCharts(t, mine);
    } catch (err) {
      if (mine === generation) problem(err);
    }
  }

  function showTable(t: ReportTable) {
    heading.textContent = t.title;
    generated.textContent = `as of ${t.generated_at}`;
    // Tapping a column header sorts by it (again: the other way); the export keeps the report's order.
    const headers = t.columns.map((c, i) => {
      const ariaSort = sort?.column === i ? (sort.direction === "asc" ? "ascending" : "descending") : "none";
      const th = h("th", { class: alignOf(c.kind), "data-key": c.key, "aria-sort": ariaSort }, c.label);
      th.addEventListener("click", () => {
        sort = { column: i, direction: sort?.column === i && sort.direction === "asc" ? "desc" : "asc" };
        showTable(t);
      });
      return th;
    });
    thead.replaceChildren(h("tr", {}, ...headers));
    const skuAt = skuColumn(t.columns);
    // The selection follows the filter: a SKU the table no longer lists gives way to its first row.
    if (skuAt >= 0 && !t.rows.some((r) => String(r[skuAt]) === selectedSku)) selectedSku = t.rows.length > 0 ? String(t.rows[0][skuAt]) : null;
    const ordered = sort ? sortRows(t.rows, sort.column, sort.direction) : t.rows;
    // A touch screen reads a few hundred rows at most; the export has them all.
    const shown = ordered.slice(0, MAX_ROWS_SHOWN);
    tbody.replaceChildren(
      ...shown.map((row) => {
        const sku = skuAt >= 0 ? String(row[skuAt]) : null;
        const tr = h("tr", { class: sku !== null && sku === selectedSku ? "selected" : undefined }, ...row.map((cell, i) => h("td", { class: alignOf(t.columns[i].kind) }, formatCell(cell, t.columns[i].kind))));
        if (sku !== null) {
          tr.addEventListener("click", () => {
            selectedSku = sku;
            for (const r of tbody.children) r.classList.toggle("selected", r === tr);
            void showCharts(t, generation);
            void showAlsoBought(generation);
          });
        }
        return tr;
      }),
    );
    if (t.rows.length === 0) tbody.append(h("tr", {}, h("td", { class: "muted", colspan: String(Math.max(1, t.columns.length)) }, "Nothing to show")));
    const more = t.rows.length > MAX_ROWS_SHOWN ? [`Showing the first ${MAX_ROWS_SHOWN} of ${t.rows.length} rows: search or filter to narrow, or export for all.`] : [];
    notes.replaceChildren(...[...more, ...t.notes].map((n) => h("li", {}, n)));
  }

  // "Others also bought" for the selected SKU: what the store's receipts pair with it, in
  // stock here, for the clerk to point a shopper to.
  const alsoList = h("ul", { id: "also-bought-list", class: "also-bought-list" });
  const alsoTitle = h("h3", { id: "also-bought-title" });
  const alsoBought = h("section", { id: "also-bought", class: "also-bought", hidden: true }, alsoTitle, alsoList);
  async function showAlsoBought(mine: number) {
    const sku = selectedSku;
    if (sku === null || query.kind !== "stock") {
      alsoBought.hidden = true;
      return;
    }
    try {
      const got = await othersAlsoBought(sku, 4);
      if (mine !== generation || sku !== selectedSku) return;
      alsoTitle.textContent = `Others also bought with ${sku}`;
      alsoList.replaceChildren(
        ...got.map((s) =>
          h(
            "li",
            { class: "also-item", "data-product": s.product_code, "data-sku": s.sku },
            h("span", { class: "also-name" }, s.product_name),
            h("span", { class: "also-meta" }, `${s.sku} · ${suggestionMeta(s)}`),
            h("span", { class: "also-stock" }, inStockText(s.in_stock)),
            h("span", { class: "also-why muted" }, s.reason),
          ),
        ),
      );
      alsoBought.hidden = got.length === 0;
    } catch (err) {
      if (mine === generation) problem(err);
    }
  }

  async function showCharts(t: ReportTable, mine: number) {
    if (!manager) return;
    try {
      if (t.kind === "discrepancies") {
        const aisles = await discrepancyByAisle();
        if (mine !== generation) return;
        charts.hidden = aisles.length === 0;
        forecastBox.hidden = true;
        chartTitle.textContent = "Missing by aisle, at cost (below zero: more counted than booked)";
        drawChart(mainCanvas, aisleData(aisles), "missing at cost");
        clearChart(forecastCanvas);
        return;
      }
      if (t.kind === "feedback") {
        const days = query.window_days ?? 28;
        const trend = await feedbackTrend(days);
        if (mine !== generation) return;
        charts.hidden = trend.points.length === 0;
        forecastBox.hidden = true;
        chartTitle.textContent = `Shoppers' mood: net positive feedback by day, last ${days} days`;
        drawChart(mainCanvas, stockHistoryData(trend), "net positive %");
        clearChart(forecastCanvas);
        return;
      }
      if (selectedSku === null || skuColumn(t.columns) < 0) {
        charts.hidden = true;
        clearChart(mainCanvas);
        clearChart(forecastCanvas);
        return;
      }
      const sku = selectedSku;
      const [history, forecast] = await Promise.all([stockHistory(sku, HISTORY_DAYS, query.location ?? undefined), forecastChart(sku, FORECAST_DAYS)]);
      if (mine !== generation || sku !== selectedSku) return;
      charts.hidden = false;
      forecastBox.hidden = false;
      chartTitle.textContent = `${sku}: stock over ${HISTORY_DAYS} days`;
      drawChart(mainCanvas, stockHistoryData(history), "units on hand");
      const mase = forecast.backtest_mase === null ? "" : `, backtest MASE ${forecast.backtest_mase.toFixed(2)}`;
      forecastTitle.textContent = `${sku}: daily demand and ${FORECAST_DAYS}-day forecast (${forecast.method}${mase}), 80 % band`;
      drawChart(forecastCanvas, forecastData(forecast), "units per day");
    } catch (err) {
      problem(err);
    }
  }

  const filters = manager ? [search, location, category, windowSelect] : [search];
  const el = h(
    "div",
    { id: "reports", class: `reports ${role}` },
    h("nav", { id: "report-list", class: "report-list" }, ...reportButtons),
    h(
      "div",
      { class: "report-main" },
      h("div", { class: "filters" }, ...filters),
      h(
        "div",
        { class: "report-head" },
        heading,
        generated,
        manager ? h("div", { class: "exports" }, exportButton("csv", "Export CSV"), exportButton("pdf", "Export PDF")) : null,
      ),
      manager ? exportResult : null,
      message,
      h("div", { class: "table-wrap" }, tableEl),
      notes,
      alsoBought,
      charts,
    ),
  );
  void load();
  return {
    el,
    leave() {
      generation++;
      clearTimeout(debounce);
      clearChart(mainCanvas);
      clearChart(forecastCanvas);
    },
  };
}
