// Room's web client: one page with two views. The lobby (live public rooms, name, room, camera
// preview and devices) and the call (video grid, controls, chat). A room's link is
// `/?room=<name>` (plus `private=1` for a private room); it opens the lobby ready to join
// that room. `relay=1` in the page's URL forces TURN relays (a test switch).
import { Call } from "./call.js";
import { ChatPanel } from "./chat.js";
import { $, el, icon, setIcon, toast } from "./dom.js";
import { plural } from "./format.js";
import { Grid, ME } from "./grid.js";
import { watchRooms } from "./room-list.js";
import { LocalMedia } from "./media.js";
import { checkRoomName, pageAddress, privateRoomName, roomLink } from "./names.js";
import { store } from "./storage.js";

const params = new URLSearchParams(location.search);
const relay = params.get("relay") === "1";
const invited = params.has("room") ? { name: params.get("room"), isPrivate: params.get("private") === "1" } : null;

const media = new LocalMedia();
let call = null;
let speaking = 0; // the interval that shows who is talking, while in a call

// ---------------------------------------------------------------------------------------
// Lobby

const form = $("#join-form");
const nickInput = $("#nick");
const roomInput = $("#room-name");
const joinError = $("#join-error");

nickInput.value = store.get("nick", "");
if (invited) {
  roomInput.value = invited.name;
  $("#join-title").textContent = invited.isPrivate ? "Join the private room" : `Join ${invited.name}`;
  $("#join").textContent = "Join now";
}
(!nickInput.value ? nickInput : !roomInput.value ? roomInput : $("#join")).focus();

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const nick = checkedNick();
  if (!nick) return;
  const room = checkRoomName(roomInput.value);
  if (room.error) return fail(room.error, roomInput);
  enterCall(room.name, nick, Boolean(invited?.isPrivate && invited.name === room.name));
});

$("#new-private").addEventListener("click", () => {
  const nick = checkedNick();
  if (nick) enterCall(privateRoomName(), nick, true);
});

nickInput.addEventListener("input", () => {
  joinError.textContent = "";
  updatePreview();
});
roomInput.addEventListener("input", () => (joinError.textContent = ""));

function checkedNick() {
  const nick = nickInput.value.trim();
  if (!nick) return fail("Enter your name first.", nickInput);
  store.set("nick", nick);
  return nick;
}

function fail(message, input) {
  joinError.textContent = message;
  input?.focus();
  return null;
}

// The live room list.
let stopRooms = null;
function startRooms() {
  const status = $("#lobby-status");
  const words = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };
  stopRooms = watchRooms(renderRooms, (state) => {
    status.dataset.state = state;
    status.textContent = words[state];
  });
}

function renderRooms(rooms) {
  const items = rooms.map(({ name, count }) => {
    const join = el("button", { type: "button", class: "secondary small", "aria-label": `Join ${name}` }, "Join");
    join.addEventListener("click", () => {
      roomInput.value = name;
      form.requestSubmit();
    });
    return el(
      "li",
      { "data-room": name },
      el("span", { class: "room-name" }, name),
      el("span", { class: "room-count", "data-count": count, title: plural(count, "person", "people") }, icon("users"), String(count)),
      join,
    );
  });
  $("#rooms").replaceChildren(...items);
  $("#rooms-empty").hidden = rooms.length > 0;
}

// Camera preview, mic and camera switches, device selects (the same selects move into the
// call's Devices dialog).
$("#preview-mic").addEventListener("click", () => media.setEnabled("audio", !media.live("audio")));
$("#preview-cam").addEventListener("click", () => media.setEnabled("video", !media.live("video")));

const selects = { audio: $("#mic-select"), video: $("#camera-select"), speaker: $("#speaker-select") };
for (const kind of ["audio", "video"]) {
  selects[kind].addEventListener("change", () =>
    media.use(kind, selects[kind].value).catch((error) => {
      toast(`Could not switch: ${error.message || error.name}`, "error");
      renderDevices();
    }),
  );
}
selects.speaker.addEventListener("change", () => media.setSpeaker(selects.speaker.value));
$("#speaker-field").hidden = !media.canPickSpeaker;

function renderDevices() {
  fill(selects.video, media.devices.videoinput, media.deviceId("video"), "Camera");
  fill(selects.audio, media.devices.audioinput, media.deviceId("audio"), "Microphone");
  fill(selects.speaker, media.devices.audiooutput, media.speakerId, "Speaker");
}

function fill(select, devices, current, noun) {
  const options = devices.map((d, i) => el("option", { value: d.deviceId }, d.label || `${noun} ${i + 1}`));
  if (!options.length) options.push(el("option", { value: "" }, `No ${noun.toLowerCase()} available`));
  select.replaceChildren(...options);
  select.disabled = !devices.length;
  if (devices.some((d) => d.deviceId === current)) select.value = current;
}

function updatePreview() {
  const preview = $(".preview");
  const camOn = media.live("video");
  // Only a stream with video: an empty one would hold the page's load event forever.
  const video = $("#preview");
  const source = media.track("video") ? media.stream : null;
  if (video.srcObject !== source) video.srcObject = source;
  preview.dataset.camera = camOn ? "on" : "off";
  preview.querySelector(".avatar span").textContent = [...nickInput.value.trim()][0]?.toUpperCase() ?? "";
  switchButton($("#preview-mic"), media.live("audio"), ["mic", "Mute microphone"], ["mic-off", "Unmute microphone"]);
  switchButton($("#preview-cam"), camOn, ["video", "Turn camera off"], ["video-off", "Turn camera on"]);
  const errors = [...new Set([media.errors.video, media.errors.audio].filter(Boolean))];
  const message = $("#media-message");
  message.hidden = !errors.length;
  message.textContent = errors.join(" ");
}

/** Shows a two-state button as on or off: icon, accessible name, visible label if any. */
function switchButton(button, on, [onIcon, onLabel], [offIcon, offLabel]) {
  setIcon(button.querySelector("svg"), on ? onIcon : offIcon);
  button.dataset.off = String(!on);
  const label = button.querySelector("span");
  if (label) label.textContent = on ? onLabel : offLabel;
  else button.setAttribute("aria-label", on ? onLabel : offLabel);
}

media.addEventListener("change", () => {
  updatePreview();
  renderDevices();
  updateCallControls();
});
media.addEventListener("devices", renderDevices);

// ---------------------------------------------------------------------------------------
// Call

const callView = $("#call");
const grid = new Grid($("#grid"), $("#stage"));
const settings = $("#settings");
const chat = new ChatPanel(
  {
    panel: $("#chat"),
    list: $("#messages"),
    form: $("#chat-form"),
    input: $("#chat-input"),
    toggle: $("#chat-btn"),
    badge: $("#unread"),
    close: $("#chat-close"),
  },
  (text) => {
    if (call?.sendChat(text)) return true;
    toast("Not connected: the message was not sent.", "error");
    return false;
  },
);

function enterCall(room, nick, isPrivate) {
  stopRooms?.();
  stopRooms = null;
  const link = roomLink(room, isPrivate);
  history.replaceState(null, "", pageAddress(room, isPrivate));
  document.title = `${isPrivate ? "Private room" : room} · Room`;

  $("#lobby").hidden = true;
  callView.hidden = false;
  $("#call-room").textContent = isPrivate ? "Private room" : room;
  $("#call-lock").toggleAttribute("hidden", !isPrivate); // an <svg>: no .hidden property
  $("#share").hidden = !isPrivate;
  $("#share-link").value = link.href;
  $("#devices-call").append($("#devices"));
  chat.clear();
  chat.setOpen(matchMedia("(min-width: 900px)").matches);
  if (!chat.isOpen) $("#mic-btn").focus();
  grid.clear();
  grid.addCamera(ME, nick).setStream(media.stream);
  updateCallControls();

  call = new Call({ room, nick, isPrivate, media, relay });
  const current = call;
  const on = (type, handler) => current.addEventListener(type, ({ detail }) => call === current && handler(detail));

  on("welcome", ({ me: you, history: past, rejoined, limits }) => {
    grid.camera(ME)?.setNick(you.nick);
    if (limits?.maxChatChars) $("#chat-input").maxLength = limits.maxChatChars;
    for (const frame of past) chat.message(frame, frame.from === you.id);
    if (!rejoined) chat.notice(isPrivate ? "You joined the private room." : `You joined ${room}.`);
  });
  on("count", ({ count }) => {
    const chip = $("#head-count");
    chip.querySelector("span").textContent = String(count);
    chip.setAttribute("aria-label", `${plural(count, "person", "people")} in the room`);
    chip.title = chip.getAttribute("aria-label");
  });
  on("peer", ({ peer, change, quiet }) => {
    if (change === "leave") {
      grid.removePeer(peer.id);
      chat.notice(`${peer.nick} left.`);
      return;
    }
    let tile = grid.camera(peer.id);
    if (!tile || change === "join") {
      tile = grid.addCamera(peer.id, peer.nick);
      if (media.speakerId) tile.setSink(media.speakerId);
      if (!quiet) chat.notice(`${peer.nick} joined.`);
    }
    tile.setNick(peer.nick);
    tile.setMuted(peer.muted);
    if (peer.muted) tile.setSpeaking(false);
    tile.setCamera(peer.camera);
    grid.screen(peer.id)?.setNick(peer.nick);
    if (!peer.screen) grid.removeScreen(peer.id);
  });
  on("track", ({ peer, stream, screen }) => {
    if (!screen) return grid.camera(peer.id)?.setStream(stream);
    const tile = grid.screen(peer.id) ?? grid.addScreen(peer.id, peer.nick);
    tile.setStream(stream);
    stream.addEventListener("removetrack", () => {
      if (!stream.getVideoTracks().length && grid.screen(peer.id) === tile) grid.removeScreen(peer.id);
    });
  });
  on("link", ({ peer, state }) => grid.camera(peer.id)?.setConnection(state));
  on("chat", (frame) => chat.message(frame, frame.from === current.me?.id));
  on("status", showConnection);
  on("error", (frame) => toast(frame.message || frame.code, "error"));
  on("ended", ({ message }) => leaveCall(message));
  current.start();
  speaking = setInterval(() => showSpeaking(current), 300);
}

// Who is talking: a ring around the tile while the audio a connection receives is loud enough.
const SPEAKING_LEVEL = 0.03;
function showSpeaking(current) {
  for (const peer of current.peers.values()) {
    peer.link
      ?.audioLevel()
      .then((level) => grid.camera(peer.id)?.setSpeaking(!peer.muted && level > SPEAKING_LEVEL))
      .catch(() => {});
  }
}

function leaveCall(message) {
  call = null;
  clearInterval(speaking);
  if (settings.open) settings.close();
  media.stopScreen();
  grid.clear();
  $("#devices-home").append($("#devices"));
  callView.hidden = true;
  showConnection({ state: "open" });
  $("#lobby").hidden = false;
  document.title = "Room";
  history.replaceState(null, "", pageAddress());
  joinError.textContent = message ?? "";
  startRooms();
  $("#join").focus();
}

let wasReconnecting = false;
let countdown = 0;
function showConnection({ state, retryAt }) {
  const banner = $("#conn-banner");
  clearInterval(countdown);
  if (state === "open" || state === "ended") {
    banner.hidden = true;
    if (wasReconnecting && state === "open" && call) toast("Reconnected.", "ok", 2500);
    wasReconnecting = false;
    return;
  }
  if (state === "connecting" && !wasReconnecting) return; // the first connection: no news
  wasReconnecting = true;
  banner.hidden = false;
  const tick = () => {
    const seconds = Math.ceil((retryAt - Date.now()) / 1000);
    banner.textContent =
      state === "reconnecting" && seconds > 0 ? `Connection lost. Reconnecting in ${seconds} s…` : "Connection lost. Reconnecting…";
  };
  tick();
  if (state === "reconnecting") countdown = setInterval(tick, 500);
}

function updateCallControls() {
  const micOn = media.live("audio");
  const camOn = media.live("video");
  switchButton($("#mic-btn"), micOn, ["mic", "Mute"], ["mic-off", "Unmute"]);
  switchButton($("#cam-btn"), camOn, ["video", "Stop video"], ["video-off", "Start video"]);
  const sharing = Boolean(media.screen);
  $("#screen-btn").classList.toggle("active", sharing);
  $("#screen-btn span").textContent = sharing ? "Stop sharing" : "Share screen";
  const me = grid.camera(ME);
  me?.setMuted(!micOn);
  me?.setCamera(camOn);
}

$("#mic-btn").addEventListener("click", () => media.setEnabled("audio", !media.live("audio")));
$("#cam-btn").addEventListener("click", () => media.setEnabled("video", !media.live("video")));
$("#screen-btn").addEventListener("click", () => {
  if (media.screen) return media.stopScreen();
  media.startScreen().catch((error) => {
    if (error.name !== "NotAllowedError") toast(`Screen sharing failed: ${error.message || error.name}`, "error");
  });
});
$("#settings-btn").addEventListener("click", () => settings.showModal());
$("#leave-btn").addEventListener("click", () => call?.leave());
for (const button of [$("#copy-link"), $("#share-copy")]) {
  button.addEventListener("click", () =>
    navigator.clipboard.writeText($("#share-link").value).then(
      () => toast("Link copied.", "ok", 2500),
      () => toast("Could not copy: select the link and copy it yourself.", "error"),
    ),
  );
}

media.addEventListener("screen", () => {
  updateCallControls();
  if (!call) return;
  if (media.screen) grid.addScreen(ME, call.nick).setStream(media.screen);
  else grid.removeScreen(ME);
});
media.addEventListener("speaker", () => {
  grid.setSink(media.speakerId);
});

// ---------------------------------------------------------------------------------------
// Start, and a small read-only window for tests and debugging.

startRooms();
media.start();
// Closing the tab is leaving: the others see it at once and the resume token ends.
addEventListener("pagehide", () => call?.leave());

window.room = {
  get state() {
    return call ? (call.me ? "in-call" : "joining") : "lobby";
  },
  get me() {
    return call?.me ?? null;
  },
  /** Each other person: id, nick, and their RTCPeerConnection's states and sent tracks. */
  peers() {
    return [...(call?.peers.values() ?? [])].map((p) => ({
      id: p.id,
      nick: p.nick,
      connectionState: p.link?.pc.connectionState ?? "none",
      iceConnectionState: p.link?.pc.iceConnectionState ?? "none",
      signalingState: p.link?.pc.signalingState ?? "none",
      sending: p.link?.sending() ?? null,
    }));
  },
  /** Each other person: the candidate types (host, srflx, relay) of the pair in use. */
  async routes() {
    const routes = [];
    for (const p of call?.peers.values() ?? []) {
      const stats = [...((await p.link?.pc.getStats()) ?? new Map()).values()];
      const byId = new Map(stats.map((s) => [s.id, s]));
      const transport = stats.find((s) => s.type === "transport");
      const pair = byId.get(transport?.selectedCandidatePairId);
      routes.push({ id: p.id, local: byId.get(pair?.localCandidateId)?.candidateType ?? null, remote: byId.get(pair?.remoteCandidateId)?.candidateType ?? null });
    }
    return routes;
  },
  /** Drops the room socket as a network failure would: the client must reconnect by itself. */
  dropSocket() {
    call?.socket.drop();
  },
};
