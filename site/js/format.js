// People's names as the page writes them (counts and times are the language's: i18n.js).

/**
 * Text someone chose (a name) between Unicode isolates (FSI … PDI), for strings shown as they
 * are (a title, a confirm(), a status line): right-to-left characters in it then cannot
 * reorder the text around it. In the page's elements a <bdi> does the same (dom.js).
 */
export function isolate(text) {
  return `\u2068${text}\u2069`;
}

/**
 * The short tag shown after a person's name: "#" and the first 4 hex digits of their id
 * (16 hex digits, made by the server). Anyone can pick a name that looks like someone
 * else's; the tag tells them apart, and stays the same for as long as they are in the room.
 */
export function idTag(id) {
  return `#${id.slice(0, 4)}`;
}

/** A person's name and tag as text: "Ada #3f2a". */
export function personText(nick, id) {
  return `${isolate(nick)} ${idTag(id)}`;
}
