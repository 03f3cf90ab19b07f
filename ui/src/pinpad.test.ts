import { describe, expect, it } from "vitest";
import { lockMinutes, PinEntry, signInMessage } from "./pinpad";

describe("PIN entry", () => {
  it("masks digits and sends them once", () => {
    const p = new PinEntry();
    for (const k of ["2", "4", "x", "6"]) p.press(k);
    expect(p.masked()).toBe("•••");
    expect(p.complete).toBe(false);
    p.press("8");
    expect(p.complete).toBe(true);
    expect(p.take()).toBe("2468");
    expect(p.length).toBe(0);
  });
  it("stops at eight digits; backspace and clear", () => {
    const p = new PinEntry();
    for (let i = 0; i < 12; i++) p.press(String(i % 10));
    expect(p.length).toBe(8);
    p.backspace();
    expect(p.length).toBe(7);
    p.clear();
    expect(p.masked()).toBe("");
    p.backspace();
    expect(p.length).toBe(0);
  });
});

describe("sign-in messages", () => {
  const err = (code: string, extra: object = {}) => ({ code, message: `backend says ${code}`, tries_left: null, locked_ms: null, ...extra });
  it("wrong PIN counts tries", () => {
    expect(signInMessage(err("wrong-pin", { tries_left: 3 }))).toBe("Wrong PIN, 3 tries left");
    expect(signInMessage(err("wrong-pin", { tries_left: 1 }))).toBe("Wrong PIN, 1 try left");
  });
  it("locked shows minutes, rounded up", () => {
    expect(signInMessage(err("locked", { locked_ms: 5 * 60_000 }))).toBe("Locked for 5 min after too many wrong PINs");
    expect(signInMessage(err("locked", { locked_ms: 61_000 }))).toBe("Locked for 2 min after too many wrong PINs");
    expect(lockMinutes(0)).toBe(1);
  });
  it("anything else shows the backend's message", () => {
    expect(signInMessage(err("unknown-staff"))).toBe("backend says unknown-staff");
  });
});
