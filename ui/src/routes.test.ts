import { describe, expect, it } from "vitest";
import { parseRoute, routeHash } from "./routes";

describe("routes", () => {
  it("parses hashes", () => {
    expect(parseRoute("")).toBe("start");
    expect(parseRoute("#/")).toBe("start");
    expect(parseRoute("#/mirror")).toBe("mirror");
    expect(parseRoute("#mirror")).toBe("mirror");
    expect(parseRoute("#/clerk?x=1")).toBe("clerk");
    expect(parseRoute("#/status")).toBe("status");
    expect(parseRoute("#/nope")).toBe("start");
  });
  it("round-trips", () => {
    for (const r of ["start", "mirror", "clerk", "manager", "status"] as const) expect(parseRoute(routeHash(r))).toBe(r);
  });
});
