// The Ask screen: a shopper types (on-screen keyboard or a real one) and the store assistant
// answers from the store's live stock, shelves and FAQ, with product cards (price, sizes in
// stock here, shelf, "Try it on"). Follow-ups keep the conversation until the shopper leaves
// or a minute passes without a touch; then the screen and the kiosk both forget it.
import { invoke } from "@tauri-apps/api/core";
import { errorText, inKiosk } from "./backend";
import { h } from "./dom";
import { sendFeedback } from "./feedbackApi";
import { holdToSpeak, playWav, speakAloud, stopReading, type Hold } from "./voiceApi";
import { cardPrice, cardShelf, cardStock, KEY_ROWS, MAX_QUESTION, PENDING_TRY_ON_KEY, pressKey, type AskReply, type ProductCard } from "./askFormat";
import type { Screen } from "./screens";

/** Without a touch for this long, the conversation is wiped. */
export const ASK_IDLE_MS = 60_000;

const EXAMPLES = ["Do you have the hoodie in M?", "Where are the oats?", "When are you open?", "Can I return without a receipt?"];

const ask = (question: string) => (inKiosk() ? invoke<AskReply>("ask", { question }) : Promise.reject("the assistant needs the kiosk app"));
const endSession = () => (inKiosk() ? invoke<void>("end_assistant_session") : Promise.resolve());

export function askScreen(go: (route: "start" | "mirror") => void): Screen {
  const log = h("div", { id: "ask-log", class: "ask-log", role: "log", "aria-live": "polite" });
  const input = h("input", { id: "ask-input", class: "ask-input", type: "text", maxlength: String(MAX_QUESTION), placeholder: "Ask about a product, a size, a price, where things are…", autocomplete: "off" });
  const send = h("button", { id: "ask-send", class: "btn ask-send", type: "button" }, "Ask");
  const voice = h("button", { id: "ask-voice", class: "btn ask-voice", type: "button" }, "Hold to speak");
  const status = h("p", { id: "ask-status", class: "ask-status", role: "status" });
  const examples = h("div", { id: "ask-examples", class: "ask-examples" }, ...EXAMPLES.map((q) => {
    const b = h("button", { class: "btn ask-example", type: "button" }, q);
    b.addEventListener("click", () => void submit(q));
    return b;
  }));
  // Feedback once something was answered: stars and an optional comment, kept without a name.
  const stars = [1, 2, 3, 4, 5].map((n) => {
    const b = h("button", { class: "btn star", type: "button", "data-stars": String(n), "aria-label": `${n} star${n === 1 ? "" : "s"}` }, "★");
    b.addEventListener("click", () => {
      rating = n;
      for (const s of stars) s.classList.toggle("on", Number(s.dataset.stars) <= n);
    });
    return b;
  });
  const comment = h("input", { id: "ask-feedback-comment", class: "ask-input ask-feedback-comment", type: "text", maxlength: "500", placeholder: "A comment (optional)", autocomplete: "off" });
  const rateSend = h("button", { id: "ask-feedback-send", class: "btn ask-feedback-send", type: "button" }, "Send");
  // The comment by voice: hold, speak, release; the words land in the field to check and send.
  const commentSpeak = h("button", { id: "ask-feedback-speak", class: "btn ask-voice ask-feedback-speak", type: "button", "aria-label": "Hold to say your comment" }, "Hold to say it");
  const rate = h(
    "div",
    { id: "ask-feedback", class: "ask-feedback", hidden: true },
    h("span", { class: "ask-feedback-title" }, "How did we do?"),
    h("div", { class: "stars" }, ...stars),
    comment,
    commentSpeak,
    rateSend,
  );
  let rating: number | null = null;
  let lastProduct: string | null = null;
  /** Where the on-screen keyboard types: the question, or the feedback comment. */
  let typingInto: HTMLInputElement = input;
  const keyboard = h("div", { id: "ask-keyboard", class: "ask-keyboard", "aria-label": "Keyboard" }, ...KEY_ROWS.map((row) =>
    h("div", { class: "key-row" }, ...row.map((k) => {
      const b = h("button", { class: `btn key${k === "space" ? " key-space" : ""}`, type: "button", "data-key": k }, k === "space" ? "space" : k);
      b.addEventListener("click", () => {
        typingInto.value = pressKey(typingInto.value, k);
      });
      return b;
    })),
  ));
  const back = h("button", { id: "back", class: "btn back", type: "button" }, "‹ Back");
  back.addEventListener("click", () => go("start"));
  const el = h(
    "section",
    { id: "screen-ask", class: "screen ask" },
    h("header", { class: "ask-header" }, back, h("h2", { class: "ask-title" }, "Ask us"), h("span", { class: "ask-privacy muted" }, "Answered on this device; nothing is kept.")),
    h("div", { class: "ask-body" }, log, examples),
    status,
    rate,
    h("div", { class: "ask-bar" }, input, send, voice),
    keyboard,
  );

  let busy = false;
  let lastTouch = Date.now();
  let idleTimer: ReturnType<typeof setInterval> | undefined;
  const touched = () => {
    lastTouch = Date.now();
  };

  function card(c: ProductCard): HTMLElement {
    const photo = c.photo_png_base64 ? h("img", { class: "ask-card-photo", src: `data:image/png;base64,${c.photo_png_base64}`, alt: c.name }) : h("div", { class: "ask-card-photo none" }, c.name.slice(0, 1));
    const tryOn = c.try_on_sku
      ? (() => {
          const b = h("button", { class: "btn ask-try", type: "button", "data-sku": c.try_on_sku }, "Try it on");
          b.addEventListener("click", () => {
            sessionStorage.setItem(PENDING_TRY_ON_KEY, c.try_on_sku!);
            go("mirror");
          });
          return b;
        })()
      : null;
    return h(
      "article",
      { class: "ask-card", "data-code": c.product_code, role: "listitem" },
      photo,
      h(
        "div",
        { class: "ask-card-text" },
        h("strong", { class: "ask-card-name" }, c.name),
        h("span", { class: "ask-card-price" }, cardPrice(c)),
        h("span", { class: "ask-card-stock" }, cardStock(c)),
        h("span", { class: "ask-card-shelf" }, cardShelf(c)),
        tryOn,
      ),
    );
  }

  let readingOff = false;
  function readAloud(text: string): HTMLElement | null {
    const b = h("button", { class: "btn ask-read", type: "button" }, "Read aloud");
    if (inKiosk()) {
      // Once the kiosk has said it cannot read aloud, the button is not offered again.
      if (readingOff) return null;
      // Spoken on the kiosk (Flite), played here: the web view needs no voice of its own.
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          const wav = await speakAloud(text);
          b.dataset.audioBytes = String(wav.byteLength);
          await playWav(wav).catch(() => {
            // Made but not played (no sound device): the bytes are there, nothing to tell.
          });
        } catch (err) {
          status.textContent = errorText(err);
          readingOff = true;
          for (const r of log.querySelectorAll<HTMLElement>(".ask-read")) r.hidden = true;
        } finally {
          b.disabled = false;
        }
      });
      return b;
    }
    // Outside the kiosk, only where the browser has a voice to speak with.
    if (!("speechSynthesis" in window) || window.speechSynthesis.getVoices().length === 0) return null;
    b.addEventListener("click", () => {
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
    });
    return b;
  }

  async function submit(question: string) {
    const q = question.trim();
    if (busy) return;
    busy = true;
    send.disabled = true;
    status.textContent = "";
    examples.hidden = true;
    const turn = h("div", { class: "ask-turn" }, q ? h("p", { class: "ask-q" }, q) : null);
    const answer = h("div", { class: "ask-a pending" }, "…");
    turn.append(answer);
    log.append(turn);
    log.scrollTop = log.scrollHeight;
    try {
      const reply = await ask(q);
      show(answer, reply);
    } catch (err) {
      // A question the kiosk refuses (empty, too long) is answered with why, never lost.
      answer.classList.remove("pending");
      answer.classList.add("refused");
      answer.textContent = errorText(err);
    } finally {
      busy = false;
      send.disabled = false;
      log.scrollTop = log.scrollHeight;
    }
  }

  function show(answer: HTMLElement, reply: AskReply) {
    answer.classList.remove("pending");
    answer.dataset.unknown = String(reply.unknown);
    answer.replaceChildren(h("p", { class: "ask-answer-text" }, reply.answer), readAloud(reply.answer) ?? "");
    if (reply.cards.length > 0) answer.append(h("div", { class: "ask-cards", role: "list" }, ...reply.cards.map(card)));
    if (reply.cards.length > 0) lastProduct = reply.cards[0].product_code;
    if (rate.dataset.sent !== "true") rate.hidden = false;
    input.value = "";
    input.blur();
    showKeyboard(false);
  }

  // Hold to speak: listening while the button is down; on release, what was heard and the
  // answer. The audio stays in the kiosk's memory and is dropped once recognised.
  let pendingTurn: HTMLElement | null = null;
  const voiceHold: Hold = holdToSpeak<AskReply>(voice, {
    answer: true,
    idleLabel: "Hold to speak",
    listeningLabel: "Listening… release to ask",
    canStart: (): boolean => !busy && !commentHold.listening(),
    onStart: () => {
      status.textContent = "";
    },
    onRelease: () => {
      busy = true;
      examples.hidden = true;
      pendingTurn = h("div", { class: "ask-turn" }, h("p", { class: "ask-q heard" }, "…"), h("div", { class: "ask-a pending" }, "…"));
      log.append(pendingTurn);
    },
    onHeard: (spoken) => {
      const turn = pendingTurn;
      pendingTurn = null;
      if (spoken.no_speech || !spoken.reply) {
        turn?.remove();
        status.textContent = spoken.message ?? "Sorry, I didn't catch that.";
      } else if (turn) {
        turn.querySelector(".ask-q")!.textContent = spoken.heard;
        show(turn.querySelector<HTMLElement>(".ask-a")!, spoken.reply);
      }
      busy = false;
      log.scrollTop = log.scrollHeight;
    },
    onError: (message) => {
      pendingTurn?.remove();
      pendingTurn = null;
      status.textContent = message;
      busy = false;
    },
  });
  // The feedback comment by voice: the words land in the field, to check before sending.
  const commentHold: Hold = holdToSpeak(commentSpeak, {
    answer: false,
    canStart: (): boolean => !voiceHold.listening(),
    onHeard: (spoken) => {
      if (spoken.no_speech || !spoken.heard.trim()) status.textContent = spoken.message ?? "Sorry, I didn't catch that.";
      else comment.value = spoken.heard.trim();
    },
    onError: (message) => {
      status.textContent = message;
    },
  });

  function wipe() {
    stopReading();
    showKeyboard(true);
    rate.hidden = true;
    delete rate.dataset.sent;
    rating = null;
    lastProduct = null;
    comment.value = "";
    typingInto = input;
    for (const s of stars) s.classList.remove("on");
    log.replaceChildren();
    input.value = "";
    status.textContent = "";
    examples.hidden = false;
    void endSession().catch(() => undefined);
  }

  // The keyboard makes room for the answer once one comes; a tap on the field brings it back.
  const showKeyboard = (shown: boolean) => {
    keyboard.hidden = !shown;
    el.classList.toggle("keyboard-open", shown);
  };
  for (const field of [input, comment]) {
    field.addEventListener("pointerdown", () => {
      typingInto = field;
      showKeyboard(true);
    });
    field.addEventListener("focus", () => {
      typingInto = field;
      showKeyboard(true);
    });
  }
  rateSend.addEventListener("click", async () => {
    try {
      await sendFeedback("assistant", rating, comment.value.trim(), lastProduct);
      rate.dataset.sent = "true";
      rate.hidden = true;
      status.textContent = "Thank you! Your feedback is kept without your name.";
      typingInto = input;
      showKeyboard(false);
    } catch (err) {
      status.textContent = errorText(err);
    }
  });
  send.addEventListener("click", () => void submit(input.value));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void submit(input.value);
  });

  return {
    el,
    pollsStatus: false,
    enter() {
      lastTouch = Date.now();
      for (const ev of ["pointerdown", "touchstart", "keydown"]) window.addEventListener(ev, touched, { passive: true });
      idleTimer = setInterval(() => {
        if (log.childElementCount > 0 && Date.now() - lastTouch > ASK_IDLE_MS) {
          wipe();
          status.textContent = "Conversation cleared after a minute without a touch.";
        }
      }, 1000);
    },
    leave() {
      clearInterval(idleTimer);
      for (const ev of ["pointerdown", "touchstart", "keydown"]) window.removeEventListener(ev, touched);
      if ("speechSynthesis" in window) window.speechSynthesis.cancel();
      wipe();
    },
  };
}
