// The operator view: every room (private ones too) with its participants, a page of the
// largest at a time or one found by name, and a button to remove someone. The token lives
// only in this module's memory: never stored, never in a URL, forgotten on reload.
// Everything shown is set with textContent, never parsed as markup, and every name people
// chose (theirs, their room's) is isolated, so right-to-left characters in it cannot reorder
// the text around it. The page speaks Korean or English (js/i18n.js), like the call page, and
// writes itself again when the language changes.
import { $, el, personName } from "./js/dom.js";
import { isolate, personText } from "./js/format.js";
import { currentLanguage, onLanguageChange, say, startLanguage, t } from "./js/i18n.js";

const REFRESH_MS = 5000;
/** Rooms per page of the listing (the API's page size). */
const PAGE = 100;

let token = null;
let timer = null;
let loading = false;
/** What the view shows: a page of the listing from `offset`, or the one room named `name`. */
let showing = { offset: 0, name: null };
/** The last answer shown (a page of the listing or one room), and the status line's message. */
let shown = null;
let status = { message: null, kind: "" };

/** Shows a message (`{ key, params }`, js/i18n.js) in the status line. */
function setStatus(message, kind = "") {
  status = { message, kind };
  showStatus();
}

function showStatus() {
  const line = $("#status");
  line.textContent = status.message ? say(status.message) : "";
  line.className = `status ${status.kind}`.trim();
}

/** The sentence for an API error answer: its code's, else the status. */
function reason(answer) {
  const code = answer.body?.error;
  return code ? t(`error.${code}`) : String(answer.status);
}

/** An admin API call: resolves with the status and the JSON body (or null). */
async function api(path, init = {}) {
  const res = await fetch(`/api/admin${path}`, {
    ...init,
    cache: "no-store",
    headers: { ...init.headers, Authorization: `Bearer ${token}` },
  });
  const body = await res.json().catch(() => null);
  return { status: res.status, body };
}

/** Handles the answers every admin call can get; true when the caller may go on. */
function acceptable({ status, body }) {
  if (status === 401) {
    signOut({ key: "error.unauthorized" }, "error");
    return false;
  }
  if (status === 404 && body?.error === "not_found") {
    signOut({ key: "admin.apiOff" }, "error");
    return false;
  }
  return true;
}

/** Reloads the listing; `outcome` ([message, kind]) is shown after it instead of the time. */
async function refresh(outcome) {
  if (!token) return;
  if (loading) {
    if (outcome) setStatus(...outcome);
    return;
  }
  loading = true;
  try {
    const path = showing.name === null ? `/rooms?offset=${showing.offset}` : `/rooms/${encodeURIComponent(showing.name)}`;
    const answer = await api(path);
    if (!acceptable(answer)) return;
    if (answer.status !== 200) {
      const failed = showing.name === null
        ? { key: "admin.loadRoomsFailed", params: { reason: reason(answer) } }
        : { key: "admin.loadRoomFailed", params: { room: isolate(showing.name), reason: reason(answer) } };
      setStatus(failed, "error");
      return;
    }
    shown = answer.body;
    renderShown();
    $("#signin").hidden = true;
    $("#view").hidden = false;
    $("#forget").hidden = false;
    setStatus(...(outcome ?? [{ key: "admin.updated", params: { time: new Date().toLocaleTimeString(currentLanguage()) } }]));
  } catch {
    setStatus({ key: "admin.unreachable" }, "error");
  } finally {
    loading = false;
  }
}

function renderShown() {
  if (showing.name === null) render(shown);
  else renderOne(shown);
}

/** A page of the listing, largest rooms first. */
function render({ rooms, total, offset, nextOffset }) {
  const people = rooms.reduce((sum, room) => sum + room.peers.length, 0);
  let summary = t("admin.summary", { rooms: t("admin.rooms", { count: rooms.length }), people: t("count.people", { count: people }) });
  if (offset > 0 || nextOffset !== null) summary += ` ${t("admin.range", { from: offset + 1, to: offset + rooms.length, total })}`;
  $("#summary").textContent = summary;
  $("#previous").hidden = offset === 0;
  $("#next").hidden = nextOffset === null;
  $("#show-all").hidden = true;
  const list = rooms.length ? rooms.map(roomCard) : [el("p", { class: "empty" }, t("admin.nobody"))];
  $("#rooms").replaceChildren(...list);
}

/** One room found by name: it answers for itself, listed or not. */
function renderOne(room) {
  $("#summary").textContent = t("admin.oneRoom", { room: isolate(room.name), people: t("count.people", { count: room.count }) });
  $("#previous").hidden = $("#next").hidden = true;
  $("#show-all").hidden = false;
  $("#rooms").replaceChildren(room.count ? roomCard(room) : el("p", { class: "empty" }, t("admin.nobodyIn", { room: isolate(room.name) })));
}

/** Shows a page of the listing, or the room typed in the search field. */
function show(next) {
  showing = { offset: 0, name: null, ...next };
  setStatus({ key: "admin.loading" });
  refresh();
}

function roomCard(room) {
  const title = el(
    "h2",
    {},
    el("bdi", {}, room.name),
    el("span", { class: `badge ${room.private ? "private" : ""}` }, t(room.private ? "admin.private" : "admin.public")),
    el("span", { class: "count" }, t("count.people", { count: room.count })),
  );
  if (room.error) title.append(el("span", { class: "badge error" }, t(`error.${room.error}`)));
  const columns = { nick: "admin.name", id: "admin.id", joined: "admin.joined", media: "admin.media", action: "admin.action" };
  const head = el("tr", {}, ...Object.entries(columns).map(([column, key]) => el("th", { class: column, scope: "col" }, t(key))));
  const rows = room.peers.map((peer) => peerRow(room.name, peer));
  const table = el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
  const card = el("article", { class: "card room" }, title);
  if (rows.length) card.append(table);
  return card;
}

function peerRow(roomName, peer) {
  // Someone whose browser cannot make calls has no mic or camera to speak of.
  const media = el(
    "td",
    { class: "media" },
    ...(peer.webrtc === false
      ? [flag(false, "", "admin.chatOnly")]
      : [flag(!peer.muted, "admin.micOn", "admin.micOff"), flag(peer.camera, "admin.cameraOn", "admin.cameraOff")]),
  );
  if (peer.screen) media.append(flag(true, "admin.sharing", ""));
  const who = personText(peer.nick, peer.id);
  const remove = el("button", { type: "button", class: "danger", "aria-label": t("admin.removeLabel", { who, room: isolate(roomName) }) }, t("admin.remove"));
  remove.addEventListener("click", () => removePeer(roomName, peer, remove));
  const joined = new Date(peer.joinedAt);
  return el(
    "tr",
    {},
    el("td", { class: "nick" }, personName(peer.nick, peer.id)),
    el("td", { class: "id" }, peer.id),
    el("td", { class: "joined", title: joined.toLocaleString(currentLanguage()) }, joined.toLocaleTimeString(currentLanguage())),
    media,
    el("td", { class: "action" }, remove),
  );
}

/** A media state, on or off, with the key of what to say in either case. */
function flag(on, onKey, offKey) {
  return el("span", { class: on ? "on" : "off" }, t(on ? onKey : offKey));
}

async function removePeer(roomName, peer, button) {
  const who = personText(peer.nick, peer.id);
  const where = isolate(roomName);
  if (!confirm(t("admin.confirmRemove", { who, room: where }))) return;
  button.disabled = true;
  try {
    const path = `/rooms/${encodeURIComponent(roomName)}/kick`;
    const answer = await api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: peer.id }),
    });
    if (!acceptable(answer)) return;
    // The outcome stays on screen after the listing reloads.
    if (answer.status === 200) await refresh([{ key: "admin.removed", params: { who, room: where } }, "ok"]);
    else if (answer.status === 404) await refresh([{ key: "admin.alreadyLeft", params: { who, room: where } }]);
    else setStatus({ key: "admin.removeFailed", params: { who, reason: reason(answer) } }, "error");
  } catch {
    setStatus({ key: "admin.unreachable" }, "error");
  }
}

function signIn(event) {
  event.preventDefault();
  const input = $("#token");
  token = input.value.trim();
  // The value leaves the field at once: only this module's variable holds it.
  input.value = "";
  if (!token) return;
  setStatus({ key: "admin.loading" });
  clearInterval(timer);
  // Refreshes pause while the tab is hidden.
  timer = setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
  refresh();
}

function signOut(message = { key: "admin.forgotten" }, kind = "") {
  token = null;
  shown = null;
  clearInterval(timer);
  timer = null;
  $("#rooms").replaceChildren();
  $("#view").hidden = true;
  $("#forget").hidden = true;
  $("#signin").hidden = false;
  $("#token").focus();
  setStatus(message, kind);
}

startLanguage();
onLanguageChange(() => {
  showStatus();
  if (shown) renderShown();
});
$("#signin").addEventListener("submit", signIn);
$("#forget").addEventListener("click", () => signOut());
$("#refresh").addEventListener("click", () => refresh());
$("#find").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("#find-name").value.trim();
  if (name) show({ name });
});
$("#show-all").addEventListener("click", () => show({}));
$("#previous").addEventListener("click", () => show({ offset: Math.max(0, showing.offset - PAGE) }));
$("#next").addEventListener("click", () => show({ offset: showing.offset + PAGE }));
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refresh());
