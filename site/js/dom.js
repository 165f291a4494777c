// Small DOM helpers shared by the modules. Text always goes in as text nodes
// (el's children, textContent): nothing a user typed is ever parsed as HTML.
import { idTag } from "./format.js";

export const $ = (selector) => document.querySelector(selector);

/** Builds an element: `el("li", { class: "msg", "data-id": id }, "text", child)`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

/** An icon from the sprite in icons.svg. */
export function icon(name, label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "icon");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `/icons.svg#${name}`);
  svg.append(use);
  return svg;
}

/** Points an existing icon (an <svg> holding a <use>) at another symbol. */
function setIcon(svg, name) {
  svg.querySelector("use").setAttribute("href", `/icons.svg#${name}`);
}

/**
 * A person's name and their tag (format.js idTag): the name in a <bdi>, so that right-to-left
 * characters in it cannot reorder the text around it, the tag after it.
 */
export function personName(nick, id) {
  return el("span", { class: "person" }, el("bdi", { class: "nick" }, nick), " ", el("span", { class: "tag" }, idTag(id)));
}

/**
 * A short message in the corner (text, or an array of text and elements) that goes away by
 * itself after `ms` (0: only when dismissed). `actions` are buttons in it, `{ text, label,
 * run }` (label: the accessible name, when the text alone does not say enough); each
 * dismisses it. It never takes the focus, and when it goes while it holds the focus (someone
 * tabbed to a button in it), the focus goes back to where it came from. Returns the function
 * that dismisses it.
 */
export function toast(message, kind = "info", ms = 5000, actions = []) {
  const buttons = actions.map(({ text, label, run }) => {
    const button = el("button", { type: "button", class: "secondary small", "aria-label": label }, text);
    button.addEventListener("click", () => {
      dismiss();
      run();
    });
    return button;
  });
  const text = el("span", { class: "toast-text" }, ...[message].flat());
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  if (buttons.length) node.append(el("div", { class: "toast-actions" }, ...buttons));
  $("#toasts").append(node);
  let cameFrom = null;
  node.addEventListener("focusin", ({ relatedTarget }) => {
    if (!node.contains(relatedTarget)) cameFrom = relatedTarget;
  });
  let timer = ms ? setTimeout(dismiss, ms) : 0;
  function dismiss() {
    if (timer === -1) return;
    clearTimeout(timer);
    timer = -1;
    if (node.contains(document.activeElement) && cameFrom?.isConnected) cameFrom.focus();
    node.classList.add("leaving");
    setTimeout(() => node.remove(), 300);
  }
  return dismiss;
}

/** Shows a two-state button as on or off: icon, accessible name, visible label if any. */
export function switchButton(button, on, [onIcon, onLabel], [offIcon, offLabel]) {
  setIcon(button.querySelector("svg"), on ? onIcon : offIcon);
  button.dataset.off = String(!on);
  const label = button.querySelector("span");
  if (label) label.textContent = on ? onLabel : offLabel;
  else button.setAttribute("aria-label", on ? onLabel : offLabel);
}
