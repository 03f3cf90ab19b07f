// Pure helpers for the mirror's try-on: a product's variants as colour and size chips with
// stock labels, which variant a tap picks, the prompt over the video, the captured look's
// panels, and the idle clock that wipes an abandoned session. Free of the DOM, unit-tested.
import type { MirrorStats } from "./backend";
import { money } from "./clerkFormat";
import type { CapturedLook, GarmentChoice, GarmentVariant, Suggestion } from "./tryonApi";

export type StockLevel = "out" | "low" | "ok";

/** At or below this many units a chip says how many are left. */
export const LOW_STOCK = 3;

export function stockLevel(stock: number): StockLevel {
  if (stock <= 0) return "out";
  return stock <= LOW_STOCK ? "low" : "ok";
}

/** What a size chip says about stock. Out of stock is still tryable, so it says only that. */
export function stockLabel(stock: number): string {
  if (stock <= 0) return "Out of stock";
  if (stock === 1) return "Last one";
  if (stock <= LOW_STOCK) return `Only ${stock} left`;
  return "In stock";
}

export interface SizeChip {
  sku: string;
  size: string;
  stock: number;
  level: StockLevel;
  label: string;
}

export interface ColourChip {
  /** The variants' colour, or null for a product without colours. */
  colour: string | null;
  label: string;
  sizes: SizeChip[];
  /** Units over all sizes of this colour. */
  stock: number;
}

// Letter sizes in wearing order; anything else (numbers, "One size") follows.
const LETTER_SIZES = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"];

function sizeRank(size: string | null): number {
  if (size === null) return 2000;
  const letter = LETTER_SIZES.indexOf(size.trim().toUpperCase());
  if (letter >= 0) return letter;
  const n = Number.parseFloat(size);
  return Number.isFinite(n) ? 100 + n : 1000;
}

/** Colours in the catalog's order, each with its sizes small to large. */
export function colourChips(variants: GarmentVariant[]): ColourChip[] {
  const chips: ColourChip[] = [];
  for (const v of variants) {
    let chip = chips.find((c) => c.colour === v.colour);
    if (!chip) {
      chip = { colour: v.colour, label: v.colour ?? "One colour", sizes: [], stock: 0 };
      chips.push(chip);
    }
    chip.sizes.push({ sku: v.sku, size: v.size ?? "One size", stock: v.stock, level: stockLevel(v.stock), label: stockLabel(v.stock) });
    chip.stock += Math.max(0, v.stock);
  }
  const rank = new Map(variants.map((v) => [v.sku, sizeRank(v.size)]));
  for (const chip of chips) {
    chip.sizes.sort((a, b) => (rank.get(a.sku) ?? 0) - (rank.get(b.sku) ?? 0));
  }
  return chips;
}

/**
 * The variant a tap on a product or a colour tries on: in `colour` (default: the first colour
 * with stock, else the first), the size `preferSize` when that colour has it, else the first
 * size in stock, else the first size.
 */
export function pickVariant(choice: GarmentChoice, colour?: string | null, preferSize?: string | null): string | null {
  const chips = colourChips(choice.variants);
  if (chips.length === 0) return null;
  const chip = (colour !== undefined ? chips.find((c) => c.colour === colour) : undefined) ?? chips.find((c) => c.stock > 0) ?? chips[0];
  const sized = preferSize ? chip.sizes.find((s) => s.size === preferSize) : undefined;
  return (sized ?? chip.sizes.find((s) => s.stock > 0) ?? chip.sizes[0]).sku;
}

/** The product and variant a SKU belongs to, if it is on offer. */
export function findVariant(choices: GarmentChoice[], sku: string | null): { choice: GarmentChoice; variant: GarmentVariant } | null {
  if (!sku) return null;
  for (const choice of choices) {
    const variant = choice.variants.find((v) => v.sku === sku);
    if (variant) return { choice, variant };
  }
  return null;
}

/** "Orbit Crew Tee · Ink · M" */
export function variantName(choice: GarmentChoice, v: GarmentVariant): string {
  return [choice.product_name, v.colour, v.size].filter((p): p is string => !!p).join(" · ");
}

/** "19.00" or "19.00 – 24.00" when variants differ in price. */
export function priceText(choice: GarmentChoice): string {
  const prices = choice.variants.map((v) => v.price_cents);
  if (prices.length === 0) return "";
  const lo = Math.min(...prices);
  const hi = Math.max(...prices);
  return lo === hi ? money(lo) : `${money(lo)} – ${money(hi)}`;
}

/** "In stock here: M 6 · L 2" (sizes in wearing order), or "In stock here: 5" for one size. */
export function inStockText(inStock: Suggestion["in_stock"]): string {
  if (inStock.length === 0) return "Out of stock here";
  const sorted = [...inStock].sort((a, b) => sizeRank(a.size) - sizeRank(b.size));
  return `In stock here: ${sorted.map((s) => (s.size === null ? String(s.stock) : `${s.size} ${s.stock}`)).join(" · ")}`;
}

/** The suggestion's second line: price, the colour and size it is shown in, and its shelf. */
export function suggestionMeta(s: Suggestion): string {
  const variant = [s.colour, s.size].filter((x) => x !== null).join(", ");
  return [money(s.price_cents), variant, s.location ? `shelf ${s.location}` : ""].filter((x) => x).join(" · ");
}

/** The sentence over the video: only while a garment is selected and cannot be shown. */
export function tryonPrompt(mirror: MirrorStats | null | undefined): string | null {
  if (!mirror || !mirror.garment_selected) return null;
  return mirror.tryon_message ?? null;
}

/** Whether the chosen size looks tight or loose: only while the garment is shown. */
export function fitNote(mirror: MirrorStats | null | undefined): string | null {
  if (!mirror || !mirror.garment_selected || mirror.tryon_message) return null;
  return mirror.fit_message ?? null;
}

export interface LookPanel {
  id: "plain" | "refined";
  label: string;
  src: string;
  ms: number;
}

/** The captured look as labelled pictures side by side, and a note when only one is there. */
export function lookPanels(look: CapturedLook): { panels: LookPanel[]; note: string | null } {
  const panels: LookPanel[] = [
    { id: "plain", label: "Plain composite", src: `data:image/jpeg;base64,${look.plain_jpeg_base64}`, ms: look.plain_ms },
  ];
  if (look.refined_jpeg_base64) {
    panels.push({ id: "refined", label: "Try-on GAN", src: `data:image/jpeg;base64,${look.refined_jpeg_base64}`, ms: look.refined_ms ?? 0 });
  }
  let note: string | null = null;
  if (look.prompt_message) note = look.prompt_message;
  else if (!look.refined_jpeg_base64 && look.refined_ms != null)
    note = "The refined picture still showed some of what you have on, so this is the plain composite.";
  else if (!look.refined_jpeg_base64) note = "The try-on GAN is not available on this kiosk: this is the plain composite.";
  return { panels, note };
}

/** "412 ms", "1.3 s" */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * An idle clock: `touch` on every tap; `expired` answers true once the limit has passed
 * since the last touch, and then rearms, so one abandoned session resets once.
 */
export class IdleClock {
  private last: number;
  private fired = false;

  constructor(
    readonly limitMs: number,
    now: number,
  ) {
    this.last = now;
  }

  touch(now: number): void {
    this.last = now;
    this.fired = false;
  }

  expired(now: number): boolean {
    if (this.fired || now - this.last < this.limitMs) return false;
    this.fired = true;
    return true;
  }
}
