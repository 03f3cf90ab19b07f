import { describe, expect, it } from "vitest";
import type { CapturedLook, GarmentChoice, GarmentVariant, Suggestion } from "./tryonApi";
import {
  colourChips,
  durationText,
  findVariant,
  fitNote,
  IdleClock,
  inStockText,
  lookPanels,
  pickVariant,
  priceText,
  stockLabel,
  stockLevel,
  suggestionMeta,
  tryonPrompt,
  variantName,
} from "./tryonFormat";

const v = (sku: string, colour: string | null, size: string | null, stock: number, price_cents = 1900): GarmentVariant => ({ sku, colour, size, stock, price_cents });

// As the store lists them: by SKU, so sizes come out of wearing order.
const tee: GarmentChoice = {
  product_code: "VT-TEE-ORBIT",
  product_name: "Orbit Crew Tee",
  kind: "top",
  variants: [
    v("TEE-L-INK", "Ink", "L", 0),
    v("TEE-M-INK", "Ink", "M", 2),
    v("TEE-S-INK", "Ink", "S", 9),
    v("TEE-XL-INK", "Ink", "XL", 1),
    v("TEE-L-CHK", "Chalk", "L", 0),
    v("TEE-M-CHK", "Chalk", "M", 0),
  ],
};

describe("stock", () => {
  it("levels and labels", () => {
    expect([-2, 0, 1, 3, 4].map(stockLevel)).toEqual(["out", "out", "low", "low", "ok"]);
    expect([0, 1, 2, 3, 12].map(stockLabel)).toEqual(["Out of stock", "Last one", "Only 2 left", "Only 3 left", "In stock"]);
  });
});

describe("colourChips", () => {
  it("keeps colours in catalog order with sizes small to large and their stock", () => {
    const chips = colourChips(tee.variants);
    expect(chips.map((c) => c.label)).toEqual(["Ink", "Chalk"]);
    expect(chips[0].sizes.map((s) => s.size)).toEqual(["S", "M", "L", "XL"]);
    expect(chips[0].sizes.map((s) => s.level)).toEqual(["ok", "low", "out", "low"]);
    expect(chips[0].stock).toBe(12);
    expect(chips[1].stock).toBe(0);
  });

  it("names missing colours and sizes, and puts numeric sizes after letters", () => {
    const chips = colourChips([v("A", null, "42", 1), v("B", null, "38", 1), v("C", null, null, 1), v("D", null, "XS", 1)]);
    expect(chips).toHaveLength(1);
    expect(chips[0].label).toBe("One colour");
    expect(chips[0].sizes.map((s) => s.size)).toEqual(["XS", "38", "42", "One size"]);
  });

  it("counts negative book stock as none, not as a debt", () => {
    expect(colourChips([v("A", "Red", "S", -3), v("B", "Red", "M", 2)])[0].stock).toBe(2);
  });
});

describe("pickVariant", () => {
  it("a product tap: first colour with stock, first size in stock", () => {
    expect(pickVariant(tee)).toBe("TEE-S-INK");
  });

  it("a colour tap keeps the shopper's size when that colour has it, even out of stock", () => {
    expect(pickVariant(tee, "Chalk", "M")).toBe("TEE-M-CHK");
    expect(pickVariant(tee, "Ink", "XL")).toBe("TEE-XL-INK");
  });

  it("a sold-out colour still gives something to try on", () => {
    expect(pickVariant(tee, "Chalk", "XS")).toBe("TEE-M-CHK");
    const soldOut: GarmentChoice = { ...tee, variants: [v("X-M", "Red", "M", 0), v("X-S", "Red", "S", 0)] };
    expect(pickVariant(soldOut)).toBe("X-S");
    expect(pickVariant({ ...tee, variants: [] })).toBeNull();
  });
});

describe("names and prices", () => {
  it("finds a SKU's product and names the variant", () => {
    const found = findVariant([tee], "TEE-M-INK");
    expect(found && variantName(found.choice, found.variant)).toBe("Orbit Crew Tee · Ink · M");
    expect(findVariant([tee], "NOPE")).toBeNull();
    expect(findVariant([tee], null)).toBeNull();
  });

  it("prices one figure or a range", () => {
    expect(priceText(tee)).toBe("19.00");
    expect(priceText({ ...tee, variants: [v("A", null, "S", 1, 1900), v("B", null, "XL", 1, 2450)] })).toBe("19.00 – 24.50");
  });
});

describe("tryonPrompt", () => {
  const stats = { fps: 20, processed: 1, captured: 1, dropped: 0, skipped: 0, errors: 0 };
  it("shows the message only while a garment is selected", () => {
    expect(tryonPrompt({ ...stats, garment_selected: true, tryon_prompt: "step_back", tryon_message: "Step back a little" })).toBe("Step back a little");
    expect(tryonPrompt({ ...stats, garment_selected: false, tryon_prompt: "step_into_view", tryon_message: "Step in front" })).toBeNull();
    expect(tryonPrompt({ ...stats, garment_selected: true, tryon_prompt: null, tryon_message: null })).toBeNull();
    expect(tryonPrompt(null)).toBeNull();
  });
});

describe("lookPanels", () => {
  const look: CapturedLook = {
    sku: "TEE-M-INK",
    plain_jpeg_base64: "AAA",
    refined_jpeg_base64: "BBB",
    prompt: null,
    prompt_message: null,
    plain_ms: 120,
    refined_ms: 240,
  };
  it("labels the plain composite and the GAN still, side by side", () => {
    const { panels, note } = lookPanels(look);
    expect(panels.map((p) => [p.id, p.label, p.src, p.ms])).toEqual([
      ["plain", "Plain composite", "data:image/jpeg;base64,AAA", 120],
      ["refined", "Try-on GAN", "data:image/jpeg;base64,BBB", 240],
    ]);
    expect(note).toBeNull();
  });

  it("without the GAN: the plain one and a note saying why", () => {
    const { panels, note } = lookPanels({ ...look, refined_jpeg_base64: null, refined_ms: null });
    expect(panels.map((p) => p.id)).toEqual(["plain"]);
    expect(note).toMatch(/not available/);
    const prompted = lookPanels({ ...look, refined_jpeg_base64: null, prompt: "face_the_mirror", prompt_message: "Face the mirror" });
    expect(prompted.note).toBe("Face the mirror");
  });

  it("a refinement withheld for the old print: the plain one and why", () => {
    const { panels, note } = lookPanels({ ...look, refined_jpeg_base64: null });
    expect(panels.map((p) => p.id)).toEqual(["plain"]);
    expect(note).toMatch(/still showed some of what you have on/);
  });
});

describe("fitNote", () => {
  const stats = { fps: 20, processed: 1, captured: 1, dropped: 0, skipped: 0, errors: 0 };
  it("says a size looks tight or loose only while the garment is shown", () => {
    const tight = { ...stats, garment_selected: true, fit: "tight", fit_message: "This size looks tight on you: try a size up" };
    expect(fitNote(tight)).toBe("This size looks tight on you: try a size up");
    expect(fitNote({ ...tight, garment_selected: false })).toBeNull();
    expect(fitNote({ ...tight, tryon_prompt: "step_back", tryon_message: "Step back a little" })).toBeNull();
    expect(fitNote({ ...stats, garment_selected: true, fit: null, fit_message: null })).toBeNull();
  });
});

describe("durationText", () => {
  it("reads", () => {
    expect([12.4, 999, 1340, Number.NaN].map(durationText)).toEqual(["12 ms", "999 ms", "1.3 s", "–"]);
  });
});

describe("IdleClock", () => {
  it("fires once after the limit without a touch, then again only after new activity", () => {
    const clock = new IdleClock(60_000, 0);
    expect(clock.expired(59_999)).toBe(false);
    clock.touch(30_000);
    expect(clock.expired(60_000)).toBe(false);
    expect(clock.expired(90_000)).toBe(true);
    expect(clock.expired(200_000)).toBe(false);
    clock.touch(200_000);
    expect(clock.expired(260_000)).toBe(true);
  });
});

describe("suggestions", () => {
  const hoodie: Suggestion = {
    product_code: "VT-HOOD-DRIFT",
    product_name: "Drift Hoodie",
    category: "apparel",
    sku: "VT-HOOD-DRIFT-M-COL",
    size: "M",
    colour: "Coal",
    price_cents: 5400,
    in_stock: [
      { size: "L", stock: 2 },
      { size: "S", stock: 1 },
      { size: "M", stock: 6 },
    ],
    location: "A1/B2/S1",
    location_name: "Aisle 1, bay 2, shelf 1: hoodies",
    try_on_sku: "VT-HOOD-DRIFT-M-COL",
    reason: "Often bought with Orbit Crew Tee",
  };

  it("lists stock by size in wearing order, or the one-size count", () => {
    expect(inStockText(hoodie.in_stock)).toBe("In stock here: S 1 · M 6 · L 2");
    expect(inStockText([{ size: null, stock: 5 }])).toBe("In stock here: 5");
    expect(inStockText([])).toBe("Out of stock here");
  });

  it("says the price, the variant shown and where it is", () => {
    expect(suggestionMeta(hoodie)).toBe("54.00 · Coal, M · shelf A1/B2/S1");
    expect(suggestionMeta({ ...hoodie, colour: null, size: null, price_cents: 349, location: null })).toBe("3.49");
  });
});
