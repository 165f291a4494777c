// The operator view: every room (private ones too) with its participants, a page of the
// largest at a time or one found by name, and a button to remove someone. The token lives
// only in this module's memory: never stored, never in a URL, forgotten on reload.
// Everything shown is set with textContent, never parsed as markup, and every name people
// chose (theirs, their room's) is isolated, so right-to-left characters in it cannot reorder
// the text around it.
import { $, el, personName } from "./js/dom.js";
import { isolate, personText, plural } from "./js/format.js";

const REFRESH_MS = 5000;
/** Rooms per page of the listing (the API's page size). */
const PAGE = 100;

let token = null;
let timer = null;
let loading = false;
/** What the view shows: a page of the listing from `offset`, or the one room named `name`. */
let showing = { offset: 0, name: null };

function setStatus(text, kind = "") {
  const status = $("#status");
  status.textContent = text;
  status.className = `status ${kind}`.trim();
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
    signOut("That token is not right.", "error");
    return false;
  }
  if (status === 404 && body?.error === "not_found") {
    signOut("The operator API is off: set the ADMIN_TOKEN secret.", "error");
    return false;
  }
  return true;
}

/** Reloads the listing; `status` ([text, kind]) is shown after it instead of the time. */
async function refresh(status) {
  if (!token) return;
  if (loading) {
    if (status) setStatus(...status);
    return;
  }
  loading = true;
  try {
    const path = showing.name === null ? `/rooms?offset=${showing.offset}` : `/rooms/${encodeURIComponent(showing.name)}`;
    const answer = await api(path);
    if (!acceptable(answer)) return;
    if (answer.status !== 200) {
      setStatus(`Could not load ${showing.name === null ? "the rooms" : isolate(showing.name)} (${answer.body?.message ?? answer.status}).`, "error");
      return;
    }
    if (showing.name === null) render(answer.body);
    else renderOne(answer.body);
    $("#signin").hidden = true;
    $("#view").hidden = false;
    $("#forget").hidden = false;
    setStatus(...(status ?? [`Updated at ${new Date().toLocaleTimeString()}.`]));
  } catch {
    setStatus("The server cannot be reached.", "error");
  } finally {
    loading = false;
  }
}

/** A page of the listing, largest rooms first. */
function render({ rooms, total, offset, nextOffset }) {
  const people = rooms.reduce((sum, room) => sum + room.peers.length, 0);
  let summary = `${plural(rooms.length, "room", "rooms")}, ${plural(people, "person", "people")}`;
  if (offset > 0 || nextOffset !== null) summary += ` (rooms ${offset + 1}–${offset + rooms.length} of ${total}, largest first)`;
  $("#summary").textContent = summary;
  $("#previous").hidden = offset === 0;
  $("#next").hidden = nextOffset === null;
  $("#show-all").hidden = true;
  const list = rooms.length ? rooms.map(roomCard) : [el("p", { class: "empty" }, "No one is in any room.")];
  $("#rooms").replaceChildren(...list);
}

/** One room found by name: it answers for itself, listed or not. */
function renderOne(room) {
  $("#summary").textContent = `Room ${isolate(room.name)}: ${plural(room.count, "person", "people")}`;
  $("#previous").hidden = $("#next").hidden = true;
  $("#show-all").hidden = false;
  $("#rooms").replaceChildren(room.count ? roomCard(room) : el("p", { class: "empty" }, `No one is in ${isolate(room.name)}.`));
}

/** Shows a page of the listing, or the room typed in the search field. */
function show(next) {
  showing = { offset: 0, name: null, ...next };
  setStatus("Loading…");
  refresh();
}

function roomCard(room) {
  const title = el(
    "h2",
    {},
    el("bdi", {}, room.name),
    el("span", { class: `badge ${room.private ? "private" : ""}` }, room.private ? "private" : "public"),
    el("span", { class: "count" }, plural(room.count, "person", "people")),
  );
  if (room.error) title.append(el("span", { class: "badge error" }, "unreachable"));
  const head = el(
    "tr",
    {},
    ...["Name", "Id", "Joined", "Media", ""].map((text, i) =>
      el("th", { class: ["nick", "id", "joined", "media", "action"][i], scope: "col" }, text),
    ),
  );
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
      ? [flag(false, "", "chat only (no WebRTC)")]
      : [flag(!peer.muted, "mic on", "mic off"), flag(peer.camera, "camera on", "camera off")]),
  );
  if (peer.screen) media.append(flag(true, "sharing screen", ""));
  const remove = el("button", { type: "button", class: "danger", "aria-label": `Remove ${personText(peer.nick, peer.id)} from ${isolate(roomName)}` }, "Remove");
  remove.addEventListener("click", () => removePeer(roomName, peer, remove));
  const joined = new Date(peer.joinedAt);
  return el(
    "tr",
    {},
    el("td", { class: "nick" }, personName(peer.nick, peer.id)),
    el("td", { class: "id" }, peer.id),
    el("td", { class: "joined", title: joined.toLocaleString() }, joined.toLocaleTimeString()),
    media,
    el("td", { class: "action" }, remove),
  );
}

function flag(on, onText, offText) {
  return el("span", { class: on ? "on" : "off" }, on ? onText : offText);
}

async function removePeer(roomName, peer, button) {
  const who = personText(peer.nick, peer.id);
  const where = isolate(roomName);
  if (!confirm(`Remove ${who} from ${where}? Their connection is closed.`)) return;
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
    if (answer.status === 200) await refresh([`Removed ${who} from ${where}.`, "ok"]);
    else if (answer.status === 404) await refresh([`${who} had already left ${where}.`]);
    else setStatus(`Could not remove ${who} (${answer.body?.message ?? answer.status}).`, "error");
  } catch {
    setStatus("The server cannot be reached.", "error");
  }
}

function signIn(event) {
  event.preventDefault();
  const input = $("#token");
  token = input.value.trim();
  // The value leaves the field at once: only this module's variable holds it.
  input.value = "";
  if (!token) return;
  setStatus("Loading…");
  clearInterval(timer);
  // Refreshes pause while the tab is hidden.
  timer = setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
  refresh();
}

function signOut(message = "Token forgotten.", kind = "") {
  token = null;
  clearInterval(timer);
  timer = null;
  $("#rooms").replaceChildren();
  $("#view").hidden = true;
  $("#forget").hidden = true;
  $("#signin").hidden = false;
  $("#token").focus();
  setStatus(message, kind);
}

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
