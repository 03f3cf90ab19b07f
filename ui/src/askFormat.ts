// Pure helpers for the Ask screen: the on-screen keyboard's layout and what a key does, the
// product card's lines. Kept apart from the DOM so they are unit-tested.
import { money } from "./clerkFormat";

export interface SizeStock {
  size: string | null;
  stock: number;
}

/** A product shown with an answer (the `ask` command's card). */
export interface ProductCard {
  product_code: string;
  name: string;
  category: string;
  price_cents: number;
  usual_price_cents: number;
  in_stock: SizeStock[];
  location: string | null;
  location_name: string | null;
  try_on_sku: string | null;
  photo_png_base64: string | null;
}

export interface Fact {
  kind: string;
  product: string | null;
  text: string;
}

export interface AskReply {
  question: string;
  answer: string;
  cards: ProductCard[];
  facts: Fact[];
  unknown: boolean;
  offer_clerk: boolean;
  writer: string;
  retrieval: string;
  faq_error: string | null;
  turn: number;
  timings: { retrieval_ms: number; first_words_ms: number; answer_ms: number };
}

/** The mirror picks this garment up when the shopper taps "Try it on" on the Ask screen. */
export const PENDING_TRY_ON_KEY = "vitrine.tryOn";

/** The on-screen keyboard, row by row; "⌫" deletes, "space" is a space. */
export const KEY_ROWS: readonly string[][] = [
  ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"],
  ["q", "w", "e", "r", "t", "y", "u", "i", "o", "p"],
  ["a", "s", "d", "f", "g", "h", "j", "k", "l", "'"],
  ["z", "x", "c", "v", "b", "n", "m", "-", "?", "⌫"],
  ["space"],
];

/** Longest question the box takes (the kiosk's own limit). */
export const MAX_QUESTION = 300;

/** The text after pressing `key`; a new question starts with a capital. */
export function pressKey(text: string, key: string): string {
  if (key === "⌫") return text.slice(0, -1);
  if (text.length >= MAX_QUESTION) return text;
  if (key === "space") return text.length === 0 || text.endsWith(" ") ? text : `${text} `;
  return text.length === 0 ? key.toUpperCase() : text + key;
}

function sizeRank(size: string | null): number {
  const order = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"];
  const i = size === null ? -1 : order.indexOf(size.toUpperCase());
  return i < 0 ? 100 : i;
}

/** "54.00", or "9.34 (was 10.99)" with a promotion. */
export function cardPrice(card: ProductCard): string {
  return card.price_cents < card.usual_price_cents ? `${money(card.price_cents)} (was ${money(card.usual_price_cents)})` : money(card.price_cents);
}

/** "Here: S 15 · M 22 · L 14", "Here: 80", or "Sold out here". */
export function cardStock(card: ProductCard): string {
  if (card.in_stock.length === 0) return "Sold out here";
  const sorted = [...card.in_stock].sort((a, b) => sizeRank(a.size) - sizeRank(b.size));
  return `Here: ${sorted.map((s) => (s.size === null ? String(s.stock) : `${s.size} ${s.stock}`)).join(" · ")}`;
}

/** "Aisle 1, bay 2, shelf 1 · A1/B2/S1" (the name's tail after a colon is the shelf's contents). */
export function cardShelf(card: ProductCard): string {
  if (!card.location) return "Ask a clerk where it is";
  const name = card.location_name?.split(":")[0]?.trim();
  return name && name !== card.location ? `${name} · ${card.location}` : card.location;
}
