// The PIN pad's state, without the DOM: digits typed, what the display shows, what a refusal says.
import type { CommandError } from "./backend";

export const PIN_MIN = 4;
export const PIN_MAX = 8;

export class PinEntry {
  private digits = "";

  /** Adds a digit; ignored past the longest PIN or for anything but 0–9. */
  press(key: string): void {
    if (/^[0-9]$/.test(key) && this.digits.length < PIN_MAX) this.digits += key;
  }

  backspace(): void {
    this.digits = this.digits.slice(0, -1);
  }

  clear(): void {
    this.digits = "";
  }

  get length(): number {
    return this.digits.length;
  }

  /** Long enough to send. */
  get complete(): boolean {
    return this.digits.length >= PIN_MIN;
  }

  /** The digits, once, for sending; the entry is empty afterwards. */
  take(): string {
    const pin = this.digits;
    this.digits = "";
    return pin;
  }

  /** Dots for typed digits, never the digits themselves. */
  masked(): string {
    return "•".repeat(this.digits.length);
  }
}

/** Minutes, rounded up, so a lock never reads "0 min". */
export function lockMinutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}

/** What the pad says after a refused sign-in. */
export function signInMessage(err: CommandError): string {
  switch (err.code) {
    case "wrong-pin": {
      const n = err.tries_left ?? 0;
      return `Wrong PIN, ${n} ${n === 1 ? "try" : "tries"} left`;
    }
    case "locked":
      return `Locked for ${lockMinutes(err.locked_ms ?? 0)} min after too many wrong PINs`;
    case "pin-format":
      return `A PIN is ${PIN_MIN} to ${PIN_MAX} digits`;
    default:
      return err.message;
  }
}
