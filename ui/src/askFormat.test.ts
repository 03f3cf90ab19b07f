import { describe, expect, it } from "vitest";
import { cardPrice, cardShelf, cardStock, MAX_QUESTION, pressKey, type ProductCard } from "./askFormat";

const card: ProductCard = {
  product_code: "VT-HOOD-DRIFT",
  name: "Drift Hoodie",
  category: "apparel",
  price_cents: 5400,
  usual_price_cents: 5400,
  in_stock: [{ size: "L", stock: 14 }, { size: "S", stock: 15 }, { size: "M", stock: 22 }],
  location: "A1/B2/S1",
  location_name: "Aisle 1, bay 2, shelf 1: hoodies",
  try_on_sku: "VT-HOOD-DRIFT-M-COL",
  photo_png_base64: null,
};

describe("ask screen", () => {
  it("types with the on-screen keys", () => {
    let t = "";
    for (const k of ["w", "h", "e", "r", "e", "space", "space", "i", "s", "?"]) t = pressKey(t, k);
    expect(t).toBe("Where is?");
    expect(pressKey(t, "⌫")).toBe("Where is");
    expect(pressKey("", "space")).toBe("");
    expect(pressKey("x".repeat(MAX_QUESTION), "a")).toHaveLength(MAX_QUESTION);
  });

  it("shows price, stock in wearing order and the shelf", () => {
    expect(cardPrice(card)).toBe("54.00");
    expect(cardPrice({ ...card, price_cents: 934, usual_price_cents: 1099 })).toBe("9.34 (was 10.99)");
    expect(cardStock(card)).toBe("Here: S 15 · M 22 · L 14");
    expect(cardStock({ ...card, in_stock: [] })).toBe("Sold out here");
    expect(cardStock({ ...card, in_stock: [{ size: null, stock: 80 }] })).toBe("Here: 80");
    expect(cardShelf(card)).toBe("Aisle 1, bay 2, shelf 1 · A1/B2/S1");
    expect(cardShelf({ ...card, location: null })).toBe("Ask a clerk where it is");
  });
});
