// The reactions button in the call bar and its small menu: one click sends an emoji that
// floats over my tile on everyone's screen for a few seconds (grid.js `react`). The room takes
// only these six, exactly as written here (❤️ is U+2764 U+FE0F).
import { el } from "./dom.js";
import { translatePage } from "./i18n.js";

/** Each reaction and the key of its name (i18n.js). */
export const REACTIONS = [
  ["👍", "reaction.thumbsUp"],
  ["👏", "reaction.clap"],
  ["😂", "reaction.laugh"],
  ["😮", "reaction.surprised"],
  ["🎉", "reaction.celebrate"],
  ["❤️", "reaction.heart"],
];

/**
 * Wires the menu: the button opens and closes it, a pick sends that reaction, and a pick or
 * Escape closes it with the focus back on the button; a click elsewhere just closes it.
 * Opening puts the focus on the first reaction, so the keyboard goes on from there.
 * @param {{ button: HTMLButtonElement, menu: HTMLElement }} parts
 * @param {(emoji: string) => void} send
 */
export function reactionsMenu({ button, menu }, send) {
  const show = (open) => {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  const close = () => {
    show(false);
    button.focus();
  };
  // Named in the page's language by translatePage, now and after every switch.
  const items = REACTIONS.map(([emoji, name]) => {
    const item = el("button", { type: "button", class: "reaction-pick", "data-i18n-aria-label": name, "data-i18n-title": name }, emoji);
    item.addEventListener("click", () => {
      send(emoji);
      close();
    });
    return item;
  });
  menu.replaceChildren(...items);
  translatePage(menu);
  button.addEventListener("click", () => {
    show(menu.hidden);
    if (!menu.hidden) items[0].focus();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !button.contains(event.target)) show(false);
  });
  return { close: () => show(false) };
}
