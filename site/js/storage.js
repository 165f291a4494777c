// What the page remembers across visits (name, devices, mic and camera on or off), under
// `room.<key>` in localStorage, as JSON.

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
