// Room's web client: one page with two views. The lobby (live public rooms, name, room, camera
// preview and devices) and the call (video grid, controls, chat). A room's link is
// `/?room=<name>` (plus `private=1` for a private room); it opens the lobby ready to join
// that room.
//
// This module only starts the page: the views are lobby-view.js and call-view.js.
import { CallView } from "./call-view.js";
import { startLanguage } from "./i18n.js";
import { LobbyView } from "./lobby-view.js";
import { LocalMedia } from "./media.js";
import { canCall } from "./peer.js";
import { exposeTestHook } from "./test-hook.js";

startLanguage();
const params = new URLSearchParams(location.search);
const invited = params.has("room") ? { name: params.get("room"), isPrivate: params.get("private") === "1" } : null;

// One camera and microphone for the whole visit: the lobby's preview and every call use it.
const media = new LocalMedia();
const lobbyView = new LobbyView(media, { invited, canCall, onJoin: (room, nick, isPrivate, hideAddress) => callView.enter(room, nick, isPrivate, hideAddress) });
const callView = new CallView(media, { onLeave: (message, refusal) => lobbyView.show(message, refusal) });
exposeTestHook(() => callView.call);
// A browser that cannot make calls is not asked for a camera and microphone it could not send.
if (canCall) media.start();
