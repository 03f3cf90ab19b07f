// The shopper's try-on commands and what they answer with. No staff role is needed; the
// captured look lives only in the kiosk's memory until the shopper says yes to saving it.
import { invoke } from "@tauri-apps/api/core";
import { inKiosk } from "./backend";

export interface GarmentVariant {
  sku: string;
  size: string | null;
  colour: string | null;
  price_cents: number;
  /** Book stock over all locations (may be 0 or below; still tryable). */
  stock: number;
}

export interface GarmentChoice {
  product_code: string;
  product_name: string;
  kind: string;
  variants: GarmentVariant[];
}

export type TryOnPrompt = "step_into_view" | "face_the_mirror" | "step_back";

/** The capture: the plain composite and, when the try-on GAN runs, its refinement. */
export interface CapturedLook {
  sku: string;
  plain_jpeg_base64: string;
  refined_jpeg_base64: string | null;
  /** Why the garment is not on the still, when it is not. */
  prompt: TryOnPrompt | null;
  prompt_message: string | null;
  plain_ms: number;
  refined_ms: number | null;
}

/** Where a look the shopper chose to keep was written. */
export interface SavedLook {
  file_name: string;
  path: string;
  bytes: number;
}

/** A product that goes with what the shopper tried, in stock here in the size they tried. */
export interface Suggestion {
  product_code: string;
  product_name: string;
  category: string;
  sku: string;
  size: string | null;
  colour: string | null;
  price_cents: number;
  /** Sizes (or the one-size variant) with stock here. */
  in_stock: { size: string | null; stock: number }[];
  location: string | null;
  location_name: string | null;
  /** A variant the mirror can show, when the product has a garment. */
  try_on_sku: string | null;
  reason: string;
}

function shopperCall<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!inKiosk()) return Promise.reject("try-on needs the kiosk app");
  return invoke<T>(command, args);
}

export const listGarments = () => shopperCall<GarmentChoice[]>("list_garments");
export const selectGarment = (sku: string | null) => shopperCall<void>("select_garment", { sku });
export const captureLook = () => shopperCall<CapturedLook>("capture_look");
/** `consent: false` forgets the look; only `true` writes it. Null when nothing was captured. */
export const saveLook = (consent: boolean) => shopperCall<SavedLook | null>("save_look", { consent });
export const completeTheLook = (limit: number) => shopperCall<Suggestion[]>("complete_the_look", { limit });
/** What the store's receipts pair with `sku`, in stock here (the clerk's lookup, the Ask screen). */
export const othersAlsoBought = (sku: string, limit: number) => shopperCall<Suggestion[]>("others_also_bought", { sku, limit });
export const resetTryon = () => shopperCall<void>("reset_tryon");
