// Hold to speak: the kiosk records while the button is down and recognises on release. The
// audio stays in the kiosk's memory and is dropped once recognised.
import { invoke } from "@tauri-apps/api/core";
import { inKiosk } from "./backend";

/** What was heard; `reply` holds the assistant's answer when a question was asked. */
export interface Heard<Reply = unknown> {
  heard: string;
  no_speech: boolean;
  message: string | null;
  reply: Reply | null;
  seconds: number;
  recognition_ms: number;
}

export const listenStart = () => (inKiosk() ? invoke<void>("listen_start") : Promise.reject("voice needs the kiosk app"));

/** `answer`: a question to answer (the Ask screen); false: a comment, only written down. */
export const listenStop = <Reply = unknown>(answer: boolean) =>
  inKiosk() ? invoke<Heard<Reply>>("listen_stop", { answer }) : Promise.reject("voice needs the kiosk app");
