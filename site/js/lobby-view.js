// The lobby: the live list of public rooms, the join form (name, room, and whether to hide my
// network address), and my camera preview with the mic and camera switches and the device
// selects. The selects and the privacy option move into the call's Settings dialog during a
// call (call-view.js) and come back after it. In a browser that cannot make calls (no
// WebRTC) the card says so instead of offering a camera: the person joins to chat.
import { $, el, icon, switchButton, toast } from "./dom.js";
import { plural } from "./format.js";
import { checkRoomName, privateRoomName } from "./names.js";
import { watchRooms } from "./room-list.js";
import { store } from "./storage.js";

/** The room's refusals of a name: the person has to pick another one (docs/protocol.md). */
const NICK_REFUSALS = new Set(["bad_nick", "nick_taken"]);

/** The stored choice to hide my network address (relay-only calls), if the person made one. */
const HIDE_ADDRESS = "hideAddress";

/**
 * Whether to hide my network address in a room: the person's own choice once made; until
 * then, hidden from strangers in a public room and not from the people of a private one.
 */
function hideAddressIn(isPrivate) {
  return store.get(HIDE_ADDRESS, !isPrivate);
}

const ROOMS_STATE_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

const CHAT_ONLY =
  "This browser cannot make video calls (it has no WebRTC). You can still join a room and chat: the others will see you as chat-only.";

export class LobbyView {
  #media;
  #canCall;
  #onJoin;
  #invited;
  /** Stops the live room list; null while it is stopped (during a call). */
  #stopRooms = null;
  #form = $("#join-form");
  #nickInput = $("#nick");
  #roomInput = $("#room-name");
  #hideAddress = $("#hide-address");
  #joinError = $("#join-error");
  #selects = { audio: $("#mic-select"), video: $("#camera-select"), speaker: $("#speaker-select") };

  /**
   * Fills in the remembered name and the room of the link that opened the page, and starts
   * the live room list.
   * @param {import("./media.js").LocalMedia} media
   * @param {object} options
   * @param {{ name: string, isPrivate: boolean } | null} options.invited the room in the page's link
   * @param {boolean} options.canCall whether this browser can make calls (has WebRTC)
   * @param {(room: string, nick: string, isPrivate: boolean, hideAddress: boolean) => void} options.onJoin
   *   called once the lobby is hidden
   */
  constructor(media, { invited, canCall, onJoin }) {
    this.#media = media;
    this.#canCall = canCall;
    this.#onJoin = onJoin;
    this.#invited = invited;
    const nickInput = this.#nickInput;
    const roomInput = this.#roomInput;

    nickInput.value = store.get("nick", "");
    if (invited) {
      roomInput.value = invited.name;
      const title = $("#join-title");
      if (invited.isPrivate) title.textContent = "Join the private room";
      else title.replaceChildren("Join ", el("bdi", {}, invited.name));
      $("#join").textContent = "Join now";
    }
    (!nickInput.value ? nickInput : !roomInput.value ? roomInput : $("#join")).focus();

    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      const nick = this.#checkedNick();
      if (!nick) return;
      const room = checkRoomName(roomInput.value);
      if (room.error) return this.#fail(room.error, roomInput);
      this.#join(room.name, nick, this.#isInvitedPrivate(room.name));
    });
    $("#new-private").addEventListener("click", () => {
      const nick = this.#checkedNick();
      if (!nick) return;
      // The box showed the choice for the room in the form, which may be public.
      this.#hideAddress.checked = hideAddressIn(true);
      this.#join(privateRoomName(), nick, true);
    });
    nickInput.addEventListener("input", () => {
      this.#clearError();
      this.#updatePreview();
    });
    roomInput.addEventListener("input", () => {
      this.#clearError();
      this.#showHideAddress();
    });
    this.#hideAddress.addEventListener("change", () => store.set(HIDE_ADDRESS, this.#hideAddress.checked));
    this.#showHideAddress();

    $("#preview-mic").addEventListener("click", () => media.setEnabled("audio", !media.live("audio")));
    $("#preview-cam").addEventListener("click", () => media.setEnabled("video", !media.live("video")));
    const selects = this.#selects;
    for (const kind of ["audio", "video"]) {
      selects[kind].addEventListener("change", () =>
        media.use(kind, selects[kind].value).catch((error) => {
          toast(`Could not switch: ${error.message || error.name}`, "error");
          this.#renderDevices();
        }),
      );
    }
    selects.speaker.addEventListener("change", () => media.setSpeaker(selects.speaker.value));
    $("#speaker-field").hidden = !media.canPickSpeaker;
    // Without calls there is no camera to preview, no device to pick and no address to hide.
    for (const part of [$(".preview-controls"), $("#devices"), $("#privacy")]) part.hidden = !canCall;
    this.#updatePreview();

    media.addEventListener("change", () => {
      this.#updatePreview();
      this.#renderDevices();
    });
    media.addEventListener("devices", () => this.#renderDevices());

    this.#watchRooms();
  }

  /**
   * Shows the lobby again after a call, with why the call ended (nothing after Leave). When
   * the room refused the name (`refusal` is its error code), the name field is marked wrong
   * and ready to be changed.
   */
  show(message, refusal = null) {
    $("#lobby").hidden = false;
    $("#privacy-home").append($("#privacy"));
    this.#showHideAddress();
    this.#watchRooms();
    this.#clearError();
    if (NICK_REFUSALS.has(refusal)) {
      this.#fail(message, this.#nickInput);
      this.#nickInput.select();
      return;
    }
    this.#joinError.textContent = message ?? "";
    $("#join").focus();
  }

  #join(room, nick, isPrivate) {
    this.#stopRooms?.();
    this.#stopRooms = null;
    $("#lobby").hidden = true;
    this.#onJoin(room, nick, isPrivate, this.#hideAddress.checked);
  }

  /** Whether the room named is the private one whose link opened the page. */
  #isInvitedPrivate(name) {
    return Boolean(this.#invited?.isPrivate && this.#invited.name === name);
  }

  /** Ticks the privacy box as it applies to the room in the form. */
  #showHideAddress() {
    this.#hideAddress.checked = hideAddressIn(this.#isInvitedPrivate(this.#roomInput.value.trim()));
  }

  #checkedNick() {
    const nick = this.#nickInput.value.trim();
    if (!nick) return this.#fail("Enter your name first.", this.#nickInput);
    store.set("nick", nick);
    return nick;
  }

  /** Says what is wrong and puts the focus on the field to fix, marked as wrong. */
  #fail(message, input) {
    this.#joinError.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }

  #clearError() {
    this.#joinError.textContent = "";
    for (const input of [this.#nickInput, this.#roomInput]) input.removeAttribute("aria-invalid");
  }

  #watchRooms() {
    const status = $("#lobby-status");
    this.#stopRooms = watchRooms(
      (rooms) => this.#renderRooms(rooms),
      (state) => {
        status.dataset.state = state;
        status.textContent = ROOMS_STATE_TEXT[state];
      },
    );
  }

  #renderRooms(rooms) {
    const items = rooms.map(({ name, count, locked }) => {
      const join = el("button", { type: "button", class: "secondary small", "aria-label": `Join ${name}` }, "Join");
      join.addEventListener("click", () => {
        this.#roomInput.value = name;
        this.#form.requestSubmit();
      });
      return el(
        "li",
        { "data-room": name },
        el("bdi", { class: "room-name" }, name),
        // Locked: joining knocks, and a host of the room lets you in (or not).
        locked ? el("span", { class: "room-locked", title: "Locked: a host lets you in" }, icon("lock", "locked")) : "",
        el("span", { class: "room-count", "data-count": count, title: plural(count, "person", "people") }, icon("users"), String(count)),
        join,
      );
    });
    $("#rooms").replaceChildren(...items);
    $("#rooms-empty").hidden = rooms.length > 0;
  }

  #renderDevices() {
    const media = this.#media;
    fill(this.#selects.video, media.devices.videoinput, media.deviceId("video"), "Camera");
    fill(this.#selects.audio, media.devices.audioinput, media.deviceId("audio"), "Microphone");
    fill(this.#selects.speaker, media.devices.audiooutput, media.speakerId, "Speaker");
  }

  #updatePreview() {
    const media = this.#media;
    const preview = $(".preview");
    const camOn = media.live("video");
    // Only a stream with video: an empty one would hold the page's load event forever.
    const video = $("#preview");
    const source = media.track("video") ? media.stream : null;
    if (video.srcObject !== source) video.srcObject = source;
    preview.dataset.camera = camOn ? "on" : "off";
    preview.querySelector(".avatar span").textContent = [...this.#nickInput.value.trim()][0]?.toUpperCase() ?? "";
    switchButton($("#preview-mic"), media.live("audio"), ["mic", "Mute microphone"], ["mic-off", "Unmute microphone"]);
    switchButton($("#preview-cam"), camOn, ["video", "Turn camera off"], ["video-off", "Turn camera on"]);
    for (const button of [$("#preview-mic"), $("#preview-cam")]) button.disabled = !media.canCapture;
    const errors = [...new Set([media.errors.video, media.errors.audio].filter(Boolean))];
    const notes = this.#canCall ? errors : [CHAT_ONLY];
    const message = $("#media-message");
    message.hidden = !notes.length;
    message.textContent = notes.join(" ");
  }
}

/** Lists the devices of one kind in a select, keeping `current` chosen. */
function fill(select, devices, current, noun) {
  const options = devices.map((d, i) => el("option", { value: d.deviceId }, d.label || `${noun} ${i + 1}`));
  if (!options.length) options.push(el("option", { value: "" }, `No ${noun.toLowerCase()} available`));
  select.replaceChildren(...options);
  select.disabled = !devices.length;
  if (devices.some((d) => d.deviceId === current)) select.value = current;
}
