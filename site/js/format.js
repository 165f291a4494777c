// Counts and times as the page writes them.

/** A count with its noun: "1 person", "3 people". */
export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The time of day of a timestamp (ms), hours and minutes, as the reader's locale writes it. */
export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
