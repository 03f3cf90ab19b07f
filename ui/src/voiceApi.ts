// Hold to speak: the kiosk records while the button is down and recognises on release. The
// audio stays in the kiosk's memory and is dropped once recognised.
import { invoke } from "@tauri-apps/api/core";
import { errorText, inKiosk } from "./backend";

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

export interface HoldToSpeakOptions<Reply> {
  /** A question to answer (true), or a comment only written down. */
  answer: boolean;
  /** The button's text at rest and while listening (kept as it is when absent). */
  idleLabel?: string;
  listeningLabel?: string;
  /** Whether a press may start listening now (e.g. not while another answer is coming). */
  canStart?: () => boolean;
  onStart?: () => void;
  /** Released, before recognition: room for a pending answer. */
  onRelease?: () => void;
  onHeard: (spoken: Heard<Reply>) => void;
  onError: (message: string) => void;
}

/** A wired hold-to-speak button. */
export interface Hold {
  listening: () => boolean;
}

/** Wires a button: the kiosk listens while it is held down and recognises on release. */
export function holdToSpeak<Reply = unknown>(button: HTMLElement, o: HoldToSpeakOptions<Reply>): Hold {
  let listening = false;
  button.addEventListener("pointerdown", async (e) => {
    e.preventDefault();
    if (listening || (o.canStart && !o.canStart())) return;
    o.onStart?.();
    try {
      await listenStart();
      listening = true;
      button.classList.add("listening");
      if (o.listeningLabel) button.textContent = o.listeningLabel;
    } catch (err) {
      o.onError(errorText(err));
    }
  });
  const release = async () => {
    if (!listening) return;
    listening = false;
    button.classList.remove("listening");
    if (o.idleLabel) button.textContent = o.idleLabel;
    o.onRelease?.();
    try {
      o.onHeard(await listenStop<Reply>(o.answer));
    } catch (err) {
      o.onError(errorText(err));
    }
  };
  button.addEventListener("pointerup", () => void release());
  button.addEventListener("pointerleave", () => void release());
  return { listening: () => listening };
}

/** An answer read aloud on the kiosk (Flite): WAV bytes made in memory. */
export const speakAloud = (text: string) => (inKiosk() ? invoke<ArrayBuffer>("speak", { text }) : Promise.reject("reading aloud needs the kiosk app"));

let playing: { audio: HTMLAudioElement; url: string } | null = null;

/** Stops what is being read aloud, if anything. */
export function stopReading(): void {
  if (!playing) return;
  playing.audio.pause();
  URL.revokeObjectURL(playing.url);
  playing = null;
}

/** Plays WAV bytes, stopping whatever was playing. */
export async function playWav(bytes: ArrayBuffer): Promise<void> {
  stopReading();
  const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
  const audio = new Audio(url);
  playing = { audio, url };
  audio.addEventListener("ended", () => {
    if (playing?.audio === audio) stopReading();
  });
  await audio.play();
}
