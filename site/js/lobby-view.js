// The lobby: the live list of public rooms, the join form (name, room, and whether to hide my
// network address), and my camera preview with the mic and camera switches and the device
// selects. The selects and the privacy option move into the call's Settings dialog during a
// call (call-view.js) and come back after it. In a browser that cannot make calls (no
// WebRTC) the card says so instead of offering a camera: the person joins to chat.
// Everything it writes is written again when the language changes.
import { $, el, icon, switchButton, toast } from "./dom.js";
import { isolate } from "./format.js";
import { onLanguageChange, parts, say, t } from "./i18n.js";
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

const ROOMS_STATE_TEXT = { connecting: "common.connecting", live: "rooms.live", reconnecting: "common.reconnecting" };

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
  /** What the form says is wrong (a message: `{ key, params }`), or null. */
  #error = null;
  /** The public rooms last heard of, and the state of the live list. */
  #rooms = [];
  #roomsState = "connecting";

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
    if (invited) roomInput.value = invited.name;
    this.#showTitle();
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
          toast(t("lobby.switchFailed", { reason: error.message || error.name }), "error");
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
    onLanguageChange(() => {
      this.#showTitle();
      this.#showError();
      this.#showRoomsState();
      this.#renderRooms();
      this.#renderDevices();
      this.#updatePreview();
    });

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
    this.#error = message;
    this.#showError();
    $("#join").focus();
  }

  /** The card's title and button: for the room of the page's link, if any. */
  #showTitle() {
    const invited = this.#invited;
    const title = $("#join-title");
    if (!invited) title.textContent = t("join.title");
    else if (invited.isPrivate) title.textContent = t("join.titlePrivate");
    else title.replaceChildren(...parts("join.joinRoom", { room: el("bdi", {}, invited.name) }));
    $("#join").textContent = t(invited ? "join.joinNow" : "join.join");
  }

  #showError() {
    this.#joinError.textContent = this.#error ? say(this.#error) : "";
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
    if (!nick) return this.#fail({ key: "join.noNick" }, this.#nickInput);
    store.set("nick", nick);
    return nick;
  }

  /** Says what is wrong (a message: `{ key, params }`) and puts the focus on the field to fix, marked as wrong. */
  #fail(message, input) {
    this.#error = message;
    this.#showError();
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }

  #clearError() {
    this.#error = null;
    this.#showError();
    for (const input of [this.#nickInput, this.#roomInput]) input.removeAttribute("aria-invalid");
  }

  #watchRooms() {
    this.#stopRooms = watchRooms(
      (rooms) => {
        this.#rooms = rooms;
        this.#renderRooms();
      },
      (state) => {
        this.#roomsState = state;
        this.#showRoomsState();
      },
    );
  }

  #showRoomsState() {
    const status = $("#lobby-status");
    status.dataset.state = this.#roomsState;
    status.textContent = t(ROOMS_STATE_TEXT[this.#roomsState]);
  }

  #renderRooms() {
    const rooms = this.#rooms;
    const items = rooms.map(({ name, count, locked }) => {
      const join = el("button", { type: "button", class: "secondary small", "aria-label": t("join.joinRoom", { room: isolate(name) }) }, t("join.join"));
      join.addEventListener("click", () => {
        this.#roomInput.value = name;
        this.#form.requestSubmit();
      });
      return el(
        "li",
        { "data-room": name },
        el("bdi", { class: "room-name" }, name),
        // Locked: joining knocks, and a host of the room lets you in (or not).
        locked ? el("span", { class: "room-locked", title: t("rooms.lockedHint") }, icon("lock", t("common.locked"))) : "",
        el("span", { class: "room-count", "data-count": count, title: t("count.people", { count }) }, icon("users"), String(count)),
        join,
      );
    });
    $("#rooms").replaceChildren(...items);
    $("#rooms-empty").hidden = rooms.length > 0;
  }

  #renderDevices() {
    const media = this.#media;
    fill(this.#selects.video, media.devices.videoinput, media.deviceId("video"), ["devices.cameraN", "devices.noCamera"]);
    fill(this.#selects.audio, media.devices.audioinput, media.deviceId("audio"), ["devices.microphoneN", "devices.noMicrophone"]);
    fill(this.#selects.speaker, media.devices.audiooutput, media.speakerId, ["devices.speakerN", "devices.noSpeaker"]);
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
    switchButton($("#preview-mic"), media.live("audio"), ["mic", t("preview.mute")], ["mic-off", t("preview.unmute")]);
    switchButton($("#preview-cam"), camOn, ["video", t("preview.cameraOff")], ["video-off", t("preview.cameraOn")]);
    for (const button of [$("#preview-mic"), $("#preview-cam")]) button.disabled = !media.canCapture;
    const errors = [...new Set([media.errors.video, media.errors.audio].filter(Boolean).map(say))];
    const notes = this.#canCall ? errors : [t("lobby.chatOnly")];
    const message = $("#media-message");
    message.hidden = !notes.length;
    message.textContent = notes.join(" ");
  }
}

/**
 * Lists the devices of one kind in a select, keeping `current` chosen. Devices keep the names
 * the system gives them; one without is numbered (`numbered`: "Camera 2"), and `none` says
 * that there is none.
 */
function fill(select, devices, current, [numbered, none]) {
  const options = devices.map((d, i) => el("option", { value: d.deviceId }, d.label || t(numbered, { n: i + 1 })));
  if (!options.length) options.push(el("option", { value: "" }, t(none)));
  select.replaceChildren(...options);
  select.disabled = !devices.length;
  if (devices.some((d) => d.deviceId === current)) select.value = current;
}
