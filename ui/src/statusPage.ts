// The staff status page: what the kiosk runs on right now (source, models and their
// providers, store, sync; refreshed every 2 s) and the doctor's checks, each problem with the
// command that fixes it. Shoppers never see any of this: the page sits behind a staff PIN.
import { commandError, getStatus, sessionEnded, systemChecks, type CommandError, type SystemCheck } from "./backend";
import { h } from "./dom";
import { statusItems } from "./statusText";

const LIVE_POLL_MS = 2000;

export function statusView(ended: (err: CommandError) => void): { el: HTMLElement; leave(): void } {
  const live = h("ul", { id: "status-live", class: "status-live", "aria-live": "polite" });
  const checks = h("table", { id: "status-checks", class: "status-checks" });
  const summary = h("p", { id: "status-summary", class: "status-summary", role: "status" }, "Checking…");
  const recheck = h("button", { id: "status-recheck", class: "btn", type: "button" }, "Check again");
  const el = h(
    "div",
    { class: "status-page" },
    h("h2", {}, "Now"),
    live,
    h("div", { class: "status-checks-head" }, h("h2", {}, "Checks"), recheck),
    summary,
    checks,
  );
  let active = true;

  const refreshLive = async () => {
    try {
      const s = await getStatus();
      if (!active || !s) return;
      live.replaceChildren(
        ...statusItems(s, Date.now()).map((item) => {
          const li = h("li", { class: `item ${item.kind}`, title: item.text }, item.text);
          if (item.model) li.dataset.model = item.model;
          return li;
        }),
      );
    } catch (err) {
      if (active) live.replaceChildren(h("li", { class: "item error" }, `backend error: ${commandError(err).message}`));
    }
  };

  const row = (c: SystemCheck) =>
    h(
      "tr",
      { class: `check-row ${c.status}`, "data-check": c.name },
      h("th", { scope: "row" }, c.name),
      h("td", { class: "check-status" }, c.status === "ok" ? "ok" : c.status.toUpperCase()),
      h("td", { class: "check-detail" }, c.detail, ...(c.fix ? [h("div", { class: "check-fix" }, `Fix: ${c.fix}`)] : [])),
    );

  const runChecks = async () => {
    recheck.disabled = true;
    summary.textContent = "Checking…";
    try {
      const report = await systemChecks();
      if (!active) return;
      checks.replaceChildren(h("tbody", {}, ...report.checks.map(row)));
      const failed = report.checks.filter((c) => c.status === "fail").length;
      const warned = report.checks.filter((c) => c.status === "warn").length;
      summary.textContent =
        failed + warned === 0 ? "All good" : `${failed} problem${failed === 1 ? "" : "s"}, ${warned} warning${warned === 1 ? "" : "s"}`;
      summary.className = `status-summary ${failed ? "fail" : warned ? "warn" : "ok"}`;
    } catch (err) {
      const e = commandError(err);
      if (sessionEnded(e)) ended(e);
      else if (active) summary.textContent = `Could not run the checks: ${e.message}`;
    } finally {
      recheck.disabled = false;
    }
  };

  recheck.addEventListener("click", () => void runChecks());
  void refreshLive();
  void runChecks();
  const timer = setInterval(() => void refreshLive(), LIVE_POLL_MS);
  return {
    el,
    leave() {
      active = false;
      clearInterval(timer);
    },
  };
}
