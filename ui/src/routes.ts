export type Route = "start" | "mirror" | "ask" | "clerk" | "manager" | "status";

const ROUTES: readonly Route[] = ["start", "mirror", "ask", "clerk", "manager", "status"];

/** "#/mirror" → "mirror"; anything unknown → "start". */
export function parseRoute(hash: string): Route {
  const name = hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : "start";
}

export function routeHash(route: Route): string {
  return route === "start" ? "#/" : `#/${route}`;
}
