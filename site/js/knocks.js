// What a host sees of people knocking at a locked room: a notice per knocker, with Admit and
// Deny, that stays until the knock is over (let in, turned away, or given up) and never takes
// the focus, with a short beep and the notice read out (toasts are a live region). The
// participants panel lists the same knocks, in its Waiting section.
import { personName, toast } from "./dom.js";
import { personText } from "./format.js";
import { parts, t } from "./i18n.js";

export class KnockNotices {
  /** The notices shown, by knocker id: the function that dismisses each. */
  #shown = new Map();
  #answer;

  /** @param {(type: "admit" | "deny", id: string) => void} answer  sends the host's answer */
  constructor(answer) {
    this.#answer = answer;
  }

  /** Shows a notice for each knock not shown yet (with one beep), and takes away the ended ones. */
  sync(knocks) {
    for (const [id, dismiss] of this.#shown) {
      if (knocks.has(id)) continue;
      dismiss();
      this.#shown.delete(id);
    }
    const fresh = [...knocks.values()].filter(({ id }) => !this.#shown.has(id));
    for (const { id, nick } of fresh) {
      const who = personText(nick, id);
      const dismiss = toast(parts("knock.wants", { name: personName(nick, id) }), "knock", 0, [
        { text: t("people.admit"), label: t("people.admitLabel", { who }), run: () => this.#answer("admit", id) },
        { text: t("people.deny"), label: t("people.denyLabel", { who }), run: () => this.#answer("deny", id) },
      ]);
      this.#shown.set(id, dismiss);
    }
    if (fresh.length) beep();
  }

  clear() {
    this.sync(new Map());
  }
}

let audio = null;

/**
 * A short two-note chime. Browsers may refuse sound until the page was clicked, or have no
 * WebAudio: then there is no sound, and the notice still shows.
 */
function beep() {
  try {
    audio ??= new AudioContext();
    audio.resume().catch(() => {});
    const start = audio.currentTime;
    for (const [i, frequency] of [880, 1175].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = frequency;
      const at = start + i * 0.15;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.14);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.15);
    }
  } catch {
    // No sound: the notice is enough.
  }
}
