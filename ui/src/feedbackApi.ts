// Shoppers' feedback: stars and an optional comment, kept by the kiosk without who gave it.
import { invoke } from "@tauri-apps/api/core";
import { inKiosk } from "./backend";

export interface FeedbackReceipt {
  label: string;
  topics: string[];
  sentiment: number | null;
}

export type FeedbackSession = "mirror" | "assistant";

export const sendFeedback = (session: FeedbackSession, rating: number | null, comment: string, productCode: string | null) =>
  inKiosk()
    ? invoke<FeedbackReceipt>("submit_feedback", { feedback: { session, rating, comment: comment || null, product_code: productCode } })
    : Promise.reject("feedback needs the kiosk app");
