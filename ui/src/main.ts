import { errorText, getStatus, inKiosk } from "./backend";
import { parseRoute, type Route } from "./routes";
import { askScreen } from "./ask";
import { go, mirrorScreen, startScreen, type Screen } from "./screens";
import { staffScreen } from "./staffScreens";

const STATUS_POLL_MS = 2000;

const app = document.getElementById("app")!;
const banner = document.getElementById("not-kiosk-banner");
if (banner) banner.hidden = inKiosk();

// Kiosk niceties: no long-press menu, no pinch zoom gestures.
document.addEventListener("contextmenu", (e) => e.preventDefault());

const factories: Record<Route, () => Screen> = {
  start: startScreen,
  mirror: mirrorScreen,
  ask: () => askScreen(go),
  clerk: () => staffScreen("clerk"),
  manager: () => staffScreen("manager"),
  status: () => staffScreen("status"),
};

let current: Screen | null = null;
let currentRoute: Route | null = null;
let pollTimer: ReturnType<typeof setInterval> | undefined;
let polling = false;

async function pollStatus(screen: Screen): Promise<void> {
  if (polling || !inKiosk()) return;
  polling = true;
  try {
    const s = await getStatus();
    if (screen === current) screen.status?.(s, null);
  } catch (err) {
    if (screen === current) screen.status?.(null, errorText(err));
  } finally {
    polling = false;
  }
}

function show(route: Route): void {
  if (route === currentRoute) return;
  clearInterval(pollTimer);
  pollTimer = undefined;
  current?.leave?.();

  const screen = factories[route]();
  current = screen;
  currentRoute = route;
  document.body.dataset.screen = route;
  app.replaceChildren(screen.el);
  screen.enter?.();

  if (screen.pollsStatus && inKiosk()) {
    void pollStatus(screen);
    pollTimer = setInterval(() => void pollStatus(screen), STATUS_POLL_MS);
  }
}

window.addEventListener("hashchange", () => show(parseRoute(location.hash)));
window.addEventListener("pagehide", () => current?.leave?.());
show(parseRoute(location.hash));
