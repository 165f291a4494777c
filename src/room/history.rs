//! The room's chat history: the last `CHAT_HISTORY` lines, kept in memory and written to the
//! Durable Object's key-value storage in batches, as pages of up to `PAGE_LINES` lines under
//! `chat:<page>` keys.
//!
//! Why batches and pages: a storage write per chat line was half of the room's CPU time and
//! most of its latency tail (docs/benchmarks.md), and each row written stalls the room for a
//! moment. Lines are written `FLUSH_AFTER_MS` after the first one not yet stored, all at once,
//! a page to a row: a busy room writes a few rows a second, not one per line (and pays for
//! as few). Why unconfirmed writes: the runtime's output gate holds every message a Durable
//! Object sends after an ordinary write until that write is durable, which would put a commit
//! on the next frames of the whole room. What both risk is the newest lines in a crash: a
//! late joiner misses them, nobody misses a delivery. A room is only evicted after seconds of
//! silence, long after its last batch was written.
//!
//! `Recent` is the pure part (which lines to keep, which pages to write and delete); `History`
//! applies it to the storage.
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::{spawn_local, JsFuture};
use worker::{console_warn, Delay};

const PREFIX: &str = "chat:";
/// How long a line may wait in memory before it is written with the others of its batch.
/// Each write stalls the room for a moment, so a busy room writes once a second; a crash then
/// costs the history at most its last second.
const FLUSH_AFTER_MS: u64 = 1000;
/// A page holds this many lines at most, and this many bytes unless one line is larger: a
/// value well under the storage's 128 KiB.
const PAGE_LINES: usize = 16;
const PAGE_BYTES: usize = 32 * 1024;
/// The most keys one `put` or `delete` takes.
const BATCH: usize = 128;
/// Lines within a page: chat frames are JSON from serde_json, which never has a raw newline.
const SEPARATOR: char = '\n';

/// The storage key of page `page` (zero-padded, so key order is page order).
pub fn key(page: u64) -> String {
    format!("{PREFIX}{page:016}")
}

fn page_of(key: &str) -> Option<u64> {
    let digits = key.strip_prefix(PREFIX)?;
    (digits.len() == 16).then(|| digits.parse().ok())?
}

/// The last `limit` lines, each with its page, and which pages storage lacks or holds in excess.
#[derive(Debug, Default)]
pub struct Recent {
    limit: usize,
    /// `(page, line)`, oldest first, at most `limit`.
    lines: VecDeque<(u64, String)>,
    /// The page new lines go to, and how full it is.
    page: u64,
    page_lines: usize,
    page_bytes: usize,
    /// Pages in storage.
    stored: BTreeSet<u64>,
    /// Pages with lines storage lacks.
    dirty: BTreeSet<u64>,
    /// Stored keys that are not pages of ours (another key format): to delete.
    foreign: Vec<String>,
}

/// One batch for storage: lines to write, keys to delete.
#[derive(Debug, Default, PartialEq)]
pub struct Batch {
    pub put: Vec<(String, String)>,
    pub delete: Vec<String>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

impl Recent {
    /// What storage holds, as `(key, page)` in key order.
    pub fn from_stored(limit: usize, stored: Vec<(String, String)>) -> Self {
        let mut recent = Self {
            limit,
            ..Self::default()
        };
        for (key, value) in stored {
            let Some(page) = page_of(&key) else {
                recent.foreign.push(key);
                continue;
            };
            let lines = value.split(SEPARATOR).filter(|line| !line.is_empty());
            recent
                .lines
                .extend(lines.map(|line| (page, line.to_owned())));
            recent.stored.insert(page);
            // Stored pages are never written again: new lines start a page of their own.
            recent.page = page + 1;
        }
        recent.keep_limit();
        recent
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|(_, line)| line.as_str())
    }

    /// Adds the newest line.
    pub fn push(&mut self, line: String) {
        let full = self.page_lines == PAGE_LINES
            || (self.page_lines > 0 && self.page_bytes + line.len() > PAGE_BYTES);
        if full {
            self.page += 1;
            self.page_lines = 0;
            self.page_bytes = 0;
        }
        self.page_lines += 1;
        self.page_bytes += line.len() + 1;
        self.dirty.insert(self.page);
        self.lines.push_back((self.page, line));
        self.keep_limit();
    }

    /// Everything storage lacks or holds in excess, handed over: the pages count as written.
    pub fn take_batch(&mut self) -> Batch {
        let mut put = Vec::new();
        for page in std::mem::take(&mut self.dirty) {
            let lines: Vec<&str> = (self.lines.iter())
                .filter(|(p, _)| *p == page)
                .map(|(_, line)| line.as_str())
                .collect();
            // A page whose lines all fell out before it was written is never written.
            if !lines.is_empty() {
                put.push((key(page), lines.join(&SEPARATOR.to_string())));
                self.stored.insert(page);
            }
        }
        // Pages older than the oldest line kept hold nothing a joiner gets.
        let oldest_kept = self.lines.front().map_or(u64::MAX, |(page, _)| *page);
        let stale: Vec<u64> = self.stored.range(..oldest_kept).copied().collect();
        Batch {
            put,
            delete: self.forget(stale),
        }
    }

    /// Forgets every line (the room is empty): returns the batch deleting the stored pages.
    pub fn clear(&mut self) -> Batch {
        self.lines.clear();
        self.dirty.clear();
        // The next line starts a page that was never stored.
        self.page += 1;
        self.page_lines = 0;
        self.page_bytes = 0;
        let stored: Vec<u64> = self.stored.iter().copied().collect();
        Batch {
            put: vec![],
            delete: self.forget(stored),
        }
    }

    /// Drops `pages` from `stored`; their keys, and the foreign ones, to delete.
    fn forget(&mut self, pages: Vec<u64>) -> Vec<String> {
        let mut delete: Vec<String> = (pages.into_iter())
            .inspect(|page| {
                self.stored.remove(page);
            })
            .map(key)
            .collect();
        delete.append(&mut self.foreign);
        delete
    }

    fn keep_limit(&mut self) {
        while self.lines.len() > self.limit {
            self.lines.pop_front();
        }
    }
}

/// The history of one room: `Recent` read from storage on first use after a wake-up, and
/// written back in batches.
pub struct History {
    storage: JsValue,
    limit: usize,
    recent: RefCell<Option<Recent>>,
    flush_pending: Cell<bool>,
}

impl History {
    /// `storage` is the Durable Object's storage object (workers-rs does not wrap `kv` or
    /// `allowUnconfirmed`).
    pub fn new(storage: JsValue, limit: usize) -> Rc<Self> {
        Rc::new(Self {
            storage,
            limit,
            recent: RefCell::new(None),
            flush_pending: Cell::new(false),
        })
    }

    /// The lines a joiner gets, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.with_recent(|recent| recent.lines().map(str::to_owned).collect())
    }

    /// Adds a line, and makes sure a write follows within `FLUSH_AFTER_MS`.
    pub fn push(self: &Rc<Self>, line: String) {
        self.with_recent(|recent| recent.push(line));
        if !self.flush_pending.replace(true) {
            let history = Rc::clone(self);
            spawn_local(async move {
                Delay::from(Duration::from_millis(FLUSH_AFTER_MS)).await;
                history.flush_pending.set(false);
                let batch = history.with_recent(Recent::take_batch);
                history.apply(batch).await;
            });
        }
    }

    /// Forgets the conversation, in memory and in storage.
    pub async fn clear(&self) {
        let batch = self.with_recent(Recent::clear);
        self.apply(batch).await;
    }

    fn with_recent<T>(&self, f: impl FnOnce(&mut Recent) -> T) -> T {
        let mut recent = self.recent.borrow_mut();
        let recent =
            recent.get_or_insert_with(|| Recent::from_stored(self.limit, self.stored_lines()));
        f(recent)
    }

    async fn apply(&self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        if let Err(why) = self.write(batch).await {
            console_warn!("storing chat history failed: {why:?}");
        }
    }

    async fn write(&self, batch: Batch) -> Result<(), JsValue> {
        for lines in batch.put.chunks(BATCH) {
            let entries = Object::new();
            for (key, line) in lines {
                Reflect::set(&entries, &key.into(), &line.into())?;
            }
            settle(self.call("put", &Array::of2(&entries, &unconfirmed()))?).await?;
        }
        for keys in batch.delete.chunks(BATCH) {
            let keys: Array = keys.iter().map(JsValue::from).collect();
            settle(self.call("delete", &Array::of2(&keys, &unconfirmed()))?).await?;
        }
        Ok(())
    }

    /// Every `chat:` entry in key order, through the synchronous `storage.kv.list` (which sees
    /// writes still in flight).
    fn stored_lines(&self) -> Vec<(String, String)> {
        let listed = (|| {
            let kv = Reflect::get(&self.storage, &"kv".into())?;
            let options = Object::new();
            Reflect::set(&options, &"prefix".into(), &PREFIX.into())?;
            let entries = call(&kv, "list", &Array::of1(&options))?;
            Ok::<_, JsValue>(js_sys::try_iter(&entries)?.into_iter().flatten())
        })();
        let entries = match listed {
            Ok(entries) => entries,
            Err(why) => {
                console_warn!("reading chat history failed: {why:?}");
                return vec![];
            }
        };
        entries
            .filter_map(|entry| {
                let pair: Array = entry.ok()?.dyn_into().ok()?;
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect()
    }

    fn call(&self, method: &str, args: &Array) -> Result<JsValue, JsValue> {
        call(&self.storage, method, args)
    }
}

fn unconfirmed() -> JsValue {
    let options = Object::new();
    Reflect::set(&options, &"allowUnconfirmed".into(), &true.into()).ok();
    options.into()
}

fn call(target: &JsValue, method: &str, args: &Array) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(target, &method.into())?.dyn_into()?;
    function.apply(target, args)
}

async fn settle(promise: JsValue) -> Result<(), JsValue> {
    JsFuture::from(promise.dyn_into::<Promise>()?)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(recent: &Recent) -> Vec<&str> {
        recent.lines().collect()
    }

    /// The batch's puts as `(page, stored value)`.
    fn puts(batch: &Batch) -> Vec<(u64, &str)> {
        (batch.put.iter())
            .map(|(key, value)| (page_of(key).unwrap(), value.as_str()))
            .collect()
    }

    /// Lines `l<n>` for `range`, one per line as a page stores them.
    fn page(range: std::ops::Range<usize>) -> String {
        range
            .map(|n| format!("l{n}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn push_numbered(recent: &mut Recent, range: std::ops::Range<usize>) {
        for n in range {
            recent.push(format!("l{n}"));
        }
    }

    #[test]
    fn keys_sort_in_page_order() {
        let mut keys = vec![key(10), key(2), key(100)];
        keys.sort();
        assert_eq!(keys, [key(2), key(10), key(100)]);
        assert_eq!(page_of(&key(12_345)), Some(12_345));
        assert_eq!(page_of("chat:1700000000000:0000000001"), None);
    }

    #[test]
    fn lines_fill_pages_and_a_page_is_written_again_only_when_it_grows() {
        let mut recent = Recent::from_stored(100, vec![]);
        push_numbered(&mut recent, 0..20);
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(0, &*page(0..16)), (1, &*page(16..20))]);
        assert!(batch.delete.is_empty());
        assert!(!batch.is_empty(), "puts alone make a batch");
        assert!(recent.take_batch().is_empty(), "nothing is written twice");
        recent.push("l20".into());
        assert_eq!(puts(&recent.take_batch()), [(1, &*page(16..21))]);
    }

    #[test]
    fn pages_that_fall_out_are_deleted_and_lines_that_fall_out_unwritten_are_not_written() {
        let mut recent = Recent::from_stored(3, vec![]);
        push_numbered(&mut recent, 0..20);
        assert_eq!(lines(&recent), ["l17", "l18", "l19"]);
        let batch = recent.take_batch();
        assert_eq!(
            puts(&batch),
            [(1, &*page(17..20))],
            "page 0 fell out unwritten"
        );
        assert!(batch.delete.is_empty());

        push_numbered(&mut recent, 20..36);
        assert_eq!(lines(&recent), ["l33", "l34", "l35"]);
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(2, &*page(33..36))]);
        assert_eq!(batch.delete, [key(1)]);
    }

    #[test]
    fn a_large_line_starts_a_page() {
        let mut recent = Recent::from_stored(10, vec![]);
        recent.push("small".into());
        recent.push("x".repeat(PAGE_BYTES));
        recent.push("after".into());
        let pages: Vec<u64> = puts(&recent.take_batch()).iter().map(|(p, _)| *p).collect();
        assert_eq!(pages, [0, 1, 2], "the large line has a page to itself");
        // A large line on an empty page stays there: no empty page before it.
        let mut recent = Recent::from_stored(10, vec![]);
        recent.push("x".repeat(PAGE_BYTES + 1));
        recent.push("after".into());
        let pages: Vec<u64> = puts(&recent.take_batch()).iter().map(|(p, _)| *p).collect();
        assert_eq!(pages, [0, 1]);
    }

    #[test]
    fn a_page_holds_exactly_page_bytes_with_its_separators() {
        // Three lines and two separators that add up to PAGE_BYTES share a page; one byte
        // more and the third line starts the next page.
        for (extra, pages) in [(0, vec![0, 0, 0]), (1, vec![0, 0, 1])] {
            let mut recent = Recent::from_stored(10, vec![]);
            recent.push("a".repeat(1000));
            recent.push("b".repeat(2000));
            recent.push("c".repeat(PAGE_BYTES - 3002 + extra));
            let on: Vec<u64> = recent.lines.iter().map(|(page, _)| *page).collect();
            assert_eq!(on, pages, "{extra} byte over");
            let batch = recent.take_batch();
            assert!(batch.put.iter().all(|(_, value)| value.len() <= PAGE_BYTES));
        }
        assert_eq!(PAGE_BYTES, 32_768);
    }

    #[test]
    fn reading_storage_keeps_the_last_lines_and_new_ones_start_a_page() {
        let stored = vec![
            (key(0), "a\nb".into()),
            (key(1), "c".into()),
            (
                "chat:1700000000000:0000000001".into(),
                "older format".into(),
            ),
        ];
        let mut recent = Recent::from_stored(2, stored);
        assert_eq!(lines(&recent), ["b", "c"]);
        recent.push("d".into());
        assert_eq!(lines(&recent), ["c", "d"]);
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(2, "d")], "stored pages are not rewritten");
        assert_eq!(
            batch.delete,
            [key(0), "chat:1700000000000:0000000001".into()]
        );
    }

    #[test]
    fn clearing_deletes_the_stored_pages_and_forgets_the_rest() {
        let mut recent = Recent::from_stored(5, vec![(key(0), "a".into())]);
        recent.push("b".into());
        let batch = recent.clear();
        assert!(batch.put.is_empty());
        assert_eq!(batch.delete, [key(0)], "page 1 was never written");
        assert!(!batch.is_empty(), "deletes alone make a batch");
        assert_eq!(lines(&recent).len(), 0);
        recent.push("c".into());
        assert_eq!(puts(&recent.take_batch()), [(2, "c")]);
    }
}
