// Room names and links. The rules mirror src/room_name.rs, so a bad name is caught in the
// form instead of by a refused websocket.

const MAX_ROOM_NAME_CHARS = 64;
const NAME = /^[\p{Alphabetic}\p{N}_.-]+$/u;

/** `{ name }` (trimmed) or `{ error }`, a message (`{ key, params }`, see i18n.js) for the form. */
export function checkRoomName(raw) {
  const name = raw.trim();
  if (!name) return { error: { key: "roomName.empty" } };
  if ([...name].length > MAX_ROOM_NAME_CHARS) {
    return { error: { key: "roomName.tooLong", params: { max: MAX_ROOM_NAME_CHARS } } };
  }
  if (!NAME.test(name)) return { error: { key: "roomName.characters" } };
  return { name };
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** 128 random bits in lowercase base32 (26 characters): a name nobody can guess. */
export function privateRoomName() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The link that opens a room: `/?room=<name>`, plus `private=1` so that whoever opens a
 * private room's link first keeps it off the public list.
 */
export function roomLink(name, isPrivate) {
  const url = new URL("/", location.origin);
  url.searchParams.set("room", name);
  if (isPrivate) url.searchParams.set("private", "1");
  return url;
}

/** What the address bar shows: the room's link while in a room, the lobby's `/` without one. */
export function pageAddress(name = null, isPrivate = false) {
  return name === null ? new URL("/", location.origin) : roomLink(name, isPrivate);
}
