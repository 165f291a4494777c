// What the page remembers across visits (name, devices, mic and camera on or off, the
// browser's key for the rooms), under `room.<key>` in localStorage, as JSON.

/** localStorage that never throws (it can in private windows or when storage is off). */
export const store = {
  get(key, fallback) {
    try {
      const raw = localStorage.getItem(`room.${key}`);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(`room.${key}`, JSON.stringify(value));
    } catch {
      // Not remembered: fine.
    }
  },
};

/**
 * This browser's key for the rooms (`join`'s `browser`): 32 random hex digits, made once and
 * kept, so that a room can keep out a browser a host removed (best effort: clearing storage
 * makes a new one).
 */
export function browserKey() {
  const kept = store.get("browser", "");
  if (/^[0-9a-f]{32}$/.test(kept)) return kept;
  const key = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  store.set("browser", key);
  return key;
}
