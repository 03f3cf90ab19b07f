// The shopper's try-on on the mirror screen: a carousel of garments (colour and size chips with
// live stock; sold-out variants greyed but tryable), the prompt over the video when the garment
// cannot be shown, Capture (plain composite and GAN still side by side), "Save this look?"
// (nothing is written unless the shopper taps Yes), "Complete the look" (what goes with the
// garment on, in stock here in its size, each with "Try it on"), and Reset. A minute without a touch, or
// leaving the screen, resets the session: garment deselected, the still forgotten.
import type { MirrorStats } from "./backend";
import { errorText, inKiosk } from "./backend";
import { PENDING_TRY_ON_KEY } from "./askFormat";
import { h } from "./dom";
import { sendFeedback } from "./feedbackApi";
import { holdToSpeak } from "./voiceApi";
import { captureLook, completeTheLook, listGarments, resetTryon, saveLook, selectGarment, type GarmentChoice, type Suggestion } from "./tryonApi";
import { colourChips, durationText, findVariant, IdleClock, fitNote, inStockText, lookPanels, pickVariant, priceText, suggestionMeta, tryonPrompt, variantName } from "./tryonFormat";

/** Without a touch for this long, the try-on session is wiped. */
export const IDLE_RESET_MS = 60_000;
/** Stock changes while the shopper stands there; the carousel re-reads it this often. */
const REFRESH_MS = 30_000;
/** "Complete the look" shows this many products. */
const SUGGESTIONS = 3;

export interface TryOnPanel {
  /** The prompt over the video, the carousel and actions, and the captured look. */
  parts: HTMLElement[];
  enter(): void;
  leave(): void;
  status(mirror: MirrorStats | null | undefined): void;
}

export function tryOnPanel(): TryOnPanel {
  const prompt = h("div", { id: "tryon-prompt", class: "overlay tryon-prompt", role: "status", "aria-live": "polite", hidden: true });
  const carousel = h("div", { id: "garment-carousel", class: "garment-carousel", role: "list", "aria-label": "Garments to try on" });
  const selectedEl = h("span", { id: "tryon-selected", class: "tryon-selected", "data-sku": "", "data-live": "false" }, "Pick a garment to try it on");
  const noteEl = h("span", { id: "tryon-message", class: "tryon-message", role: "status" });
  const fitEl = h("span", { id: "tryon-fit", class: "tryon-fit", role: "status", hidden: true });
  const captureBtn = h("button", { id: "capture", class: "btn capture", type: "button", disabled: true }, "Capture");
  const resetBtn = h("button", { id: "tryon-reset", class: "btn tryon-reset", type: "button" }, "Reset");
  // "Complete the look": what the store's receipts pair with the garment on, in stock here in
  // the size tried; shown once something is on.
  const suggestionList = h("div", { id: "look-suggestions", class: "look-suggestions", role: "list" });
  const completeLook = h(
    "section",
    { id: "complete-look", class: "complete-look", "aria-label": "Complete the look", hidden: true },
    h("h3", { class: "complete-title" }, "Complete the look"),
    suggestionList,
  );
  const tray = h(
    "div",
    { id: "tryon-tray", class: "overlay tryon-tray" },
    carousel,
    completeLook,
    h("div", { class: "tryon-actions" }, h("div", { class: "tryon-lines" }, selectedEl, fitEl, noteEl), captureBtn, resetBtn),
  );

  // The captured look (a dialog over the mirror).
  const lookStatus = h("p", { id: "look-status", class: "look-status" });
  const lookPair = h("div", { id: "look-pair", class: "look-pair" });
  const lookNote = h("p", { id: "look-note", class: "look-note", hidden: true });
  const yesBtn = h("button", { id: "look-save-yes", class: "btn look-yes", type: "button" }, "Yes, save it");
  const noBtn = h("button", { id: "look-save-no", class: "btn look-no", type: "button" }, "No");
  const ask = h("div", { id: "look-ask", class: "look-ask", hidden: true }, h("span", { class: "look-question" }, "Save this look?"), yesBtn, noBtn);
  const saved = h("p", { id: "look-saved", class: "look-saved", hidden: true });
  const closeBtn = h("button", { id: "look-close", class: "btn look-close", type: "button" }, "Back to the mirror");
  // How was the mirror? One tap on a star keeps it (with the garment, never who gave it).
  const selectedProduct = () => (selected ? findVariant(choices, selected)?.choice.product_code ?? null : null);
  const lookRateNote = h("span", { id: "look-rate-note", class: "look-rate-note" }, "How was the mirror?");
  const lookStars = [1, 2, 3, 4, 5].map((n) => {
    const b = h("button", { class: "btn star", type: "button", "data-stars": String(n), "aria-label": `${n} star${n === 1 ? "" : "s"}` }, "★");
    b.addEventListener("click", async () => {
      try {
        await sendFeedback("mirror", n, "", selectedProduct());
        for (const s of lookStars) s.classList.toggle("on", Number(s.dataset.stars) <= n);
        lookRate.dataset.sent = "true";
        lookRateNote.textContent = "Thank you!";
      } catch (err) {
        lookRateNote.textContent = errorText(err);
      }
    });
    return b;
  });
  const lookRate = h("div", { id: "look-rate", class: "look-rate" }, lookRateNote, h("div", { class: "stars" }, ...lookStars));
  // A comment by voice: hold, speak, release; only the words are kept (as feedback on the
  // garment, without a name), the audio is dropped in the kiosk once recognised.
  const lookSpeak = h("button", { id: "look-speak", class: "btn look-speak", type: "button" }, "Hold to comment");
  holdToSpeak(lookSpeak, {
    answer: false,
    idleLabel: "Hold to comment",
    listeningLabel: "Listening… release when done",
    onHeard: (spoken) => {
      const words = spoken.heard.trim();
      if (spoken.no_speech || !words) {
        lookRateNote.textContent = spoken.message ?? "Sorry, I didn't catch that.";
        return;
      }
      sendFeedback("mirror", null, words, selectedProduct()).then(
        () => (lookRateNote.textContent = `Thank you! We noted: “${words}”`),
        (err) => (lookRateNote.textContent = errorText(err)),
      );
    },
    onError: (message) => {
      lookRateNote.textContent = message;
    },
  });
  const look = h(
    "div",
    { id: "look", class: "overlay look", role: "dialog", "aria-label": "Your captured look", hidden: true },
    h("h2", { class: "look-title" }, "Your look"),
    lookStatus,
    lookPair,
    lookNote,
    ask,
    saved,
    h("p", { class: "look-privacy" }, "Shown here only: nothing is kept unless you choose to save it."),
    h("div", { class: "look-foot" }, lookRate, lookSpeak, closeBtn),
  );

  let choices: GarmentChoice[] = [];
  let selected: string | null = null;
  /** The colour each card shows sizes for (by product code). */
  const cardColour = new Map<string, string | null>();
  let busy = false;
  /** A capture or save answer that arrives after a reset must not reappear. */
  let generation = 0;
  let active = false;
  let refreshTimer: ReturnType<typeof setInterval> | undefined;
  let idleTimer: ReturnType<typeof setInterval> | undefined;
  const idle = new IdleClock(IDLE_RESET_MS, Date.now());

  const say = (text: string) => {
    noteEl.textContent = text;
  };

  const showSelected = () => {
    const found = findVariant(choices, selected);
    selectedEl.dataset.sku = selected ?? "";
    selectedEl.textContent = found ? `Trying on: ${variantName(found.choice, found.variant)}` : "Pick a garment to try it on";
    // With a garment on, the tray moves aside so it never covers the shopper's torso.
    tray.classList.toggle("dressed", !!selected);
    // The suggestions' room appears with the garment, before they arrive, so nothing in the
    // tray moves when they do.
    completeLook.hidden = !selected;
    captureBtn.disabled = !selected || busy;
  };

  const renderCards = () => {
    if (choices.length === 0) {
      carousel.replaceChildren(h("p", { class: "muted garment-empty" }, "No garments to try on yet."));
      return;
    }
    const selectedFound = findVariant(choices, selected);
    const cards = choices.map((choice) => {
      const chips = colourChips(choice.variants);
      const isSelected = selectedFound?.choice === choice;
      const colour = cardColour.has(choice.product_code)
        ? cardColour.get(choice.product_code)!
        : isSelected
          ? selectedFound!.variant.colour
          : (chips.find((c) => c.stock > 0) ?? chips[0])?.colour ?? null;
      const shown = chips.find((c) => c.colour === colour) ?? chips[0];

      const pick = h(
        "button",
        { class: "garment-pick", type: "button", "data-product": choice.product_code },
        h("span", { class: "garment-name" }, choice.product_name),
        h("span", { class: "garment-meta" }, `${choice.kind} · ${priceText(choice)}`),
      );
      pick.addEventListener("click", () => void choose(pickVariant(choice, shown?.colour, findVariant(choices, selected)?.variant.size)));

      const colourRow = h("div", { class: "chips colours", role: "group", "aria-label": "Colour" });
      for (const c of chips) {
        const b = h(
          "button",
          { class: `chip colour${c.stock > 0 ? "" : " out"}`, type: "button", "data-colour": c.label, "aria-pressed": String(c === shown) },
          c.label,
        );
        b.addEventListener("click", () => {
          cardColour.set(choice.product_code, c.colour);
          const keepSize = findVariant(choices, selected);
          void choose(pickVariant(choice, c.colour, keepSize?.choice === choice ? keepSize.variant.size : null));
        });
        colourRow.append(b);
      }

      const sizeRow = h("div", { class: "chips sizes", role: "group", "aria-label": "Size" });
      for (const s of shown?.sizes ?? []) {
        const b = h(
          "button",
          {
            class: `chip size ${s.level}`,
            type: "button",
            "data-sku": s.sku,
            "data-stock": String(s.stock),
            "aria-pressed": String(s.sku === selected),
            title: s.label,
          },
          h("span", { class: "chip-size" }, s.size),
          h("span", { class: "chip-stock" }, s.label),
        );
        b.addEventListener("click", () => void choose(s.sku));
        sizeRow.append(b);
      }

      return h(
        "article",
        { class: `garment-card${isSelected ? " selected" : ""}`, role: "listitem", "data-product": choice.product_code, "aria-current": isSelected ? "true" : undefined },
        pick,
        colourRow,
        sizeRow,
      );
    });
    carousel.replaceChildren(...cards);
  };

  let suggestSeq = 0;
  async function suggest() {
    const mine = ++suggestSeq;
    if (!selected) {
      completeLook.hidden = true;
      suggestionList.replaceChildren();
      delete suggestionList.dataset.key;
      return;
    }
    let got: Suggestion[];
    try {
      got = await completeTheLook(SUGGESTIONS);
    } catch {
      got = [];
    }
    if (mine !== suggestSeq || !selected) return;
    // The same suggestions again (a refresh, the same garment in another colour): leave the
    // cards alone rather than re-flow the tray under the shopper's finger.
    const key = JSON.stringify(got);
    if (key === suggestionList.dataset.key) return;
    suggestionList.dataset.key = key;
    if (got.length === 0) {
      suggestionList.replaceChildren(h("p", { class: "muted suggestion-none" }, "Nothing else in stock in your size right now."));
      return;
    }
    suggestionList.replaceChildren(
      ...got.map((s) => {
        const card = h(
          "article",
          { class: "suggestion", role: "listitem", "data-product": s.product_code, "data-sku": s.sku },
          h("span", { class: "suggestion-name" }, s.product_name),
          h("span", { class: "suggestion-meta", title: s.location_name ?? "" }, suggestionMeta(s)),
          h("span", { class: "suggestion-stock" }, inStockText(s.in_stock)),
          h("span", { class: "suggestion-why muted" }, s.reason),
        );
        if (s.try_on_sku) {
          const sku = s.try_on_sku;
          const tryBtn = h("button", { class: "btn suggestion-try", type: "button", "data-sku": sku }, "Try it on");
          tryBtn.addEventListener("click", () => void choose(sku));
          card.append(tryBtn);
        }
        return card;
      }),
    );
  }

  async function refresh() {
    try {
      choices = await listGarments();
      renderCards();
      showSelected();
      // "Try it on" tapped on the Ask screen: put that garment on now.
      const pending = sessionStorage.getItem(PENDING_TRY_ON_KEY);
      sessionStorage.removeItem(PENDING_TRY_ON_KEY);
      if (pending && findVariant(choices, pending)) await choose(pending);
      else void suggest();
    } catch (err) {
      if (choices.length === 0) carousel.replaceChildren(h("p", { class: "muted garment-empty" }, `Try-on unavailable: ${errorText(err)}`));
    }
  }

  // Selections and resets reach the kiosk one at a time, in order; of several quick taps
  // only the latest is sent, so the mirror ends up with what the screen shows.
  let backendOps: Promise<unknown> = Promise.resolve();
  let selectSeq = 0;
  const queue = (op: () => Promise<void>): Promise<void> => {
    const p = backendOps.then(op);
    backendOps = p.catch(() => undefined);
    return p;
  };

  function choose(sku: string | null): Promise<void> {
    if (!sku) return Promise.resolve();
    const mine = ++selectSeq;
    const found = findVariant(choices, sku);
    if (found) cardColour.set(found.choice.product_code, found.variant.colour);
    selected = sku;
    renderCards();
    showSelected();
    // The tray has just moved aside and its cards re-flowed: keep the one tapped in view.
    carousel.querySelector(".garment-card.selected")?.scrollIntoView({ block: "nearest", inline: "nearest" });
    say("");
    return queue(async () => {
      if (mine !== selectSeq) return;
      try {
        await selectGarment(sku);
        if (mine === selectSeq) void suggest();
      } catch (err) {
        if (mine !== selectSeq) return;
        selected = null;
        renderCards();
        showSelected();
        say(`Could not show this garment: ${errorText(err)}`);
      }
    });
  }

  const clearLook = () => {
    // Drop the pictures from the page as well: only the shopper's yes keeps a copy.
    for (const img of lookPair.querySelectorAll("img")) img.removeAttribute("src");
    lookPair.replaceChildren();
    lookNote.hidden = true;
    ask.hidden = true;
    saved.hidden = true;
    look.hidden = true;
    delete look.dataset.state;
  };

  async function capture() {
    if (!selected || busy) return;
    const mine = ++generation;
    busy = true;
    showSelected();
    clearLook();
    look.hidden = false;
    look.dataset.state = "capturing";
    lookStatus.textContent = "Capturing your look…";
    try {
      await backendOps; // the garment on screen is the one the kiosk renders
      const got = await captureLook();
      if (mine !== generation) {
        // Closed or reset while it rendered: the kiosk must not keep this still either.
        if (!busy) void saveLook(false).catch(() => undefined);
        return;
      }
      const { panels, note } = lookPanels(got);
      lookPair.replaceChildren(
        ...panels.map((p) =>
          h(
            "figure",
            { id: `look-${p.id}-figure`, class: `look-figure ${p.id}` },
            h("img", { id: `look-${p.id}`, src: p.src, alt: p.label }),
            h("figcaption", {}, h("span", { class: "look-label" }, p.label), h("span", { class: "look-ms" }, durationText(p.ms))),
          ),
        ),
      );
      lookNote.textContent = note ?? "";
      lookNote.hidden = !note;
      lookStatus.textContent = "";
      // A still without the garment (nobody in view, turned away) is not worth keeping.
      if (got.prompt) void saveLook(false).catch(() => undefined);
      ask.hidden = !!got.prompt;
      look.dataset.state = "shown";
      look.dataset.panels = String(panels.length);
    } catch (err) {
      if (mine !== generation) return;
      lookStatus.textContent = `Could not capture: ${errorText(err)}`;
      look.dataset.state = "error";
    } finally {
      if (mine === generation) {
        busy = false;
        showSelected();
      }
    }
  }

  async function answer(consent: boolean) {
    const mine = generation;
    ask.hidden = true;
    try {
      const file = await saveLook(consent);
      if (mine !== generation) return;
      saved.textContent = consent ? (file ? `Saved as ${file.file_name}.` : "Nothing to save.") : "Not saved.";
      saved.dataset.saved = String(consent && !!file);
    } catch (err) {
      if (mine !== generation) return;
      saved.textContent = `Could not save: ${errorText(err)}`;
      saved.dataset.saved = "false";
    }
    saved.hidden = false;
  }

  /** Deselects the garment and forgets the still, here and in the kiosk. */
  async function reset(why: string | null) {
    delete lookRate.dataset.sent;
    lookRateNote.textContent = "How was the mirror?";
    for (const s of lookStars) s.classList.remove("on");
    generation++;
    selectSeq++;
    busy = false;
    selected = null;
    cardColour.clear();
    clearLook();
    renderCards();
    showSelected();
    void suggest();
    say(why ?? "");
    if (inKiosk()) {
      await queue(resetTryon).catch((err) => say(`Could not reset: ${errorText(err)}`));
    }
  }

  captureBtn.addEventListener("click", () => void capture());
  resetBtn.addEventListener("click", () => void reset(null));
  yesBtn.addEventListener("click", () => void answer(true));
  noBtn.addEventListener("click", () => void answer(false));
  closeBtn.addEventListener("click", () => {
    // Closing without an answer is a no: the kiosk forgets the still.
    if (!ask.hidden) void answer(false);
    generation++;
    busy = false;
    clearLook();
    showSelected();
  });

  const touched = () => idle.touch(Date.now());

  return {
    parts: [prompt, tray, look],
    enter() {
      active = true;
      idle.touch(Date.now());
      for (const ev of ["pointerdown", "touchstart", "keydown"]) window.addEventListener(ev, touched, { passive: true });
      idleTimer = setInterval(() => {
        if ((selected || !look.hidden) && idle.expired(Date.now())) void reset("Try-on reset after a minute without a touch.");
      }, 1000);
      void refresh();
      refreshTimer = setInterval(() => {
        if (active && !busy) void refresh();
      }, REFRESH_MS);
    },
    leave() {
      active = false;
      clearInterval(refreshTimer);
      clearInterval(idleTimer);
      for (const ev of ["pointerdown", "touchstart", "keydown"]) window.removeEventListener(ev, touched);
      // Leaving the mirror ends the shopper's session.
      void reset(null);
    },
    status(mirror) {
      const text = tryonPrompt(mirror);
      prompt.textContent = text ?? "";
      // A prompt never sits over the captured look.
      prompt.hidden = !text || !look.hidden;
      const fit = fitNote(mirror);
      fitEl.textContent = fit ?? "";
      fitEl.hidden = !fit;
      selectedEl.dataset.live = String(!!mirror?.garment_selected);
    },
  };
}
