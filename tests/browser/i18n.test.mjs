// The page in Korean and English: a browser that prefers Korean (Chromium with the locale
// ko-KR) gets the lobby, the call, the chat and the room's refusals in Korean, with Korean
// times; switching to English in the call rewrites what is shown without a reload and without
// leaving; the choice is remembered. A browser that prefers English gets English. And in
// Korean, nothing visible is English but what people typed, the brand and device names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_ICE, browserSuite, joinRoom, myId, openLobby, screenshot, sendChat, tagOf, waitPlaying } from "../support/ui.mjs";

// Three people fill a room: the refusal of a fourth is part of the test.
let worker, browser;
browserSuite({ vars: { ...LOCAL_ICE, MAX_PEERS: "3" }, liftLimits: true }, (started) => ({ worker, browser } = started));

const KOREAN_TIME = /^(오전|오후) \d{1,2}:\d{2}$/;
const ENGLISH_TIME = /^\d{1,2}:\d{2}\s?(AM|PM)$/;

/** A person whose browser prefers `locale`, on the lobby (at `address`) once its room list is live. */
async function lobbyIn(locale, address = "/") {
  const page = await openLobby(browser, worker.url + address, { locale });
  await page.waitForSelector('#lobby-status[data-state="live"]');
  return page;
}

/** The texts of the elements `selector` finds. */
function texts(page, selector) {
  return page.locator(selector).allTextContents();
}

test("in Korean: the lobby, joining, the chat and a full room; then English in the call, without a reload", async () => {
  const page = await lobbyIn("ko-KR");
  assert.equal(await page.getAttribute("html", "lang"), "ko");
  assert.equal(await page.textContent("#join-title"), "참여할 준비가 되셨나요?");
  assert.equal(await page.textContent('label[for="nick"]'), "내 이름");
  assert.equal(await page.getAttribute("#nick", "placeholder"), "다른 사람에게 보일 이름");
  assert.equal(await page.textContent("#join"), "참여");
  assert.equal(await page.textContent("#rooms-title"), "공개 방");
  assert.equal(await page.textContent("#lobby-status"), "실시간");
  // "Turn the microphone off" once the page's camera and microphone have started: the page asks
  // for them as it loads, and until they come the button offers to turn it on.
  await page.locator('#preview-mic[aria-label="마이크 끄기"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole("combobox", { name: "언어" }).first().inputValue(), "ko");

  // A full room: the room says no, the lobby says why, in Korean.
  const full = "가득-찬-방";
  const members = await Promise.all(["Ann", "Bob", "Cy"].map((nick) => worker.join(full, nick)));
  await page.fill("#nick", "민지");
  await page.fill("#room-name", full);
  await page.click("#join");
  await page.waitForFunction(() => window.room.state === "lobby" && document.querySelector("#join-error").textContent);
  assert.equal(await page.textContent("#join-error"), "방이 꽉 찼습니다.");
  // A form mistake too.
  await page.fill("#room-name", "a b");
  await page.click("#join");
  assert.equal(await page.textContent("#join-error"), "방 이름에는 글자, 숫자, '-', '_', '.'만 쓸 수 있습니다.");
  await Promise.all(members.map(({ client }) => client.close()));

  // In a call, with Ann already there.
  const room = "회의실";
  const ann = await worker.join(room, "Ann");
  await joinRoom(page, "민지", room);
  // Who was here first is listed (Intl.ListFormat), with the tags of their ids.
  assert.equal(await page.textContent("#messages .notice"), `회의실 방에 참여했습니다. 함께 있는 사람: Ann ${tagOf(ann.id)}`);
  assert.equal(await page.textContent("#mic-btn span"), "음소거");
  assert.equal(await page.textContent("#cam-btn span"), "비디오 끄기");
  assert.equal(await page.textContent("#leave-btn span"), "나가기");
  assert.equal(await page.getAttribute("#head-count", "aria-label"), "방에 2명");
  assert.equal(await page.textContent('.tile[data-local][data-kind="camera"] .name'), "민지 (나)");
  ann.client.send({ type: "chat", text: "안녕, 반가워요" });
  const message = page.locator(".msg", { hasText: "안녕, 반가워요" });
  await message.waitFor();
  const koreanTime = await message.locator("time").textContent();
  assert.match(koreanTime, KOREAN_TIME);
  const bo = await worker.join(room, "Bo");
  await page.locator(".notice", { hasText: "Bo" }).waitFor();
  assert.equal(await page.locator(".notice", { hasText: "Bo" }).textContent(), `Bo ${tagOf(bo.id)} 님이 들어왔습니다.`);
  // Read out politely, whether the chat is open or not.
  assert.deepEqual((await texts(page, "#announcer p")).slice(-2), [`\u2068Ann\u2069 ${tagOf(ann.id)}: 안녕, 반가워요`, `Bo ${tagOf(bo.id)} 님이 들어왔습니다.`]);
  await screenshot(page, "call-ko.png");

  // To English, in the call: the same page (no reload), the same person in the same call.
  const id = await myId(page);
  await page.evaluate(() => (window.stillThisPage = true));
  await page.locator(".call-bar select.language").selectOption("en");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.evaluate(() => window.stillThisPage && window.room.state), "in-call");
  assert.equal(await myId(page), id);
  assert.equal(await page.textContent("#mic-btn span"), "Mute");
  assert.equal(await page.textContent("#leave-btn span"), "Leave");
  assert.equal(await page.textContent("#chat-title"), "Chat");
  assert.equal(await page.getAttribute("#chat-input", "placeholder"), "Message everyone");
  assert.equal(await page.getAttribute("#head-count", "aria-label"), "3 people in the room");
  assert.equal(await page.textContent('.tile[data-local][data-kind="camera"] .name'), "민지 (you)");
  // What the chat already said is said again in English, times included.
  assert.equal(await page.textContent("#messages .notice"), `You joined 회의실, with Ann ${tagOf(ann.id)}.`);
  assert.equal(await page.locator(".notice", { hasText: "Bo" }).textContent(), `Bo ${tagOf(bo.id)} joined.`);
  assert.match(await message.locator("time").textContent(), ENGLISH_TIME);

  // Remembered: the next visit is in English, though the browser prefers Korean.
  assert.equal(await page.evaluate(() => localStorage.getItem("room.language")), '"en"');
  const again = await page.context().newPage();
  await again.goto(worker.url + "/");
  assert.equal(await again.textContent("#join"), "Join");
  assert.equal(await again.getAttribute("html", "lang"), "en");
  await Promise.all([ann.client.close(), bo.client.close()]);
  await page.context().close();
});

test("a browser that prefers English gets English", async () => {
  const page = await lobbyIn("en-US");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.textContent("#join-title"), "Ready to join?");
  assert.equal(await page.textContent("#rooms-title"), "Public rooms");
  // Switched in the lobby, without a reload.
  await page.locator(".brand select.language").selectOption("ko");
  assert.equal(await page.textContent("#join-title"), "참여할 준비가 되셨나요?");
  assert.equal(await page.textContent("#lobby-status"), "실시간");
  await page.context().close();
});

/**
 * Every piece of English the page shows: visible text and placeholders, leaving out what
 * people typed (names, chat messages, room names), the tags of ids, the brand, and device
 * names (which come from the system).
 */
function englishShown(page) {
  return page.evaluate(() => {
    const typed = ".nick, .msg .text, #call-room, .room-name, .tag, #devices select, bdi";
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (parent.closest(typed) || parent.closest("option") || !parent.checkVisibility()) continue;
      if (parent.closest(".visually-hidden")) continue;
      found.push(node.textContent);
    }
    for (const input of document.querySelectorAll("input[placeholder]")) if (input.checkVisibility()) found.push(input.placeholder);
    for (const select of document.querySelectorAll("select")) {
      if (select.checkVisibility() && !select.closest("#devices")) found.push(select.selectedOptions[0]?.textContent ?? "");
    }
    return found.map((text) => text.replace(/\bRoom\b/g, "")).filter((text) => /[A-Za-z]{2,}/.test(text));
  });
}

test("in Korean, nothing the lobby and the call show is English but names, the brand and devices", async () => {
  const page = await lobbyIn("ko-KR", "/?room=spring");
  assert.deepEqual(await englishShown(page), [], "the lobby");

  const ann = await worker.join("spring", "Ann");
  ann.client.send({ type: "chat", text: "hello there" });
  await joinRoom(page, "Minji", "spring");
  await page.locator(".msg", { hasText: "hello there" }).waitFor();
  ann.client.send({ type: "hand", raised: true });
  await page.locator(".notice", { hasText: "손을" }).waitFor();
  assert.deepEqual(await englishShown(page), [], "the call with the chat open");
  await page.click("#people-btn");
  await page.locator("#people-list li").nth(1).waitFor();
  assert.deepEqual(await englishShown(page), [], "the People panel");
  await page.click("#settings-btn");
  assert.deepEqual(await englishShown(page), [], "the Settings dialog");
  await screenshot(page, "call-settings-ko.png");
  await ann.client.close();
  await page.context().close();
});

test("a call of three in Korean (the picture in README.ko.md)", async () => {
  const room = "스터디";
  const people = [];
  for (const nick of ["민지", "서연", "지훈"]) {
    const page = await openLobby(browser, worker.url + "/", { locale: "ko-KR" });
    await joinRoom(page, nick, room);
    people.push({ nick, page, id: await myId(page) });
  }
  for (const person of people) await waitPlaying(person.page, people.filter((other) => other !== person).map((other) => other.id));
  const [minji, seoyeon, jihoon] = people;
  await sendChat(seoyeon.page, "안녕하세요! 다들 잘 들리나요?");
  await sendChat(jihoon.page, "네, 잘 들려요. 화면 공유 준비할게요.");
  await minji.page.locator(".msg", { hasText: "화면 공유" }).waitFor();
  await jihoon.page.click("#mic-btn");
  await minji.page.locator(`.tile[data-peer="${jihoon.id}"] .muted-indicator`).waitFor();
  assert.equal(await minji.page.getAttribute(`.tile[data-peer="${jihoon.id}"] .muted-indicator`, "aria-label"), "음소거됨");
  assert.equal(await minji.page.textContent("#head-count"), "3");
  assert.equal(await minji.page.getAttribute("#head-count", "aria-label"), "방에 3명");
  await screenshot(minji.page, "call-ko.png");
  await Promise.all(people.map(({ page }) => page.context().close()));
});
