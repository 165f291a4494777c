//! The room's chat history: the last `CHAT_HISTORY` lines, kept in memory and written to the
//! Durable Object's key-value storage in batches, under `chat:<seq>` keys.
//!
//! Why batches: a storage write per chat line was half of the room's CPU time and most of its
//! latency tail (docs/benchmarks.md). Lines are written `FLUSH_AFTER_MS` after the first one
//! not yet stored, all at once. Why unconfirmed writes: the runtime's output gate holds every
//! message a Durable Object sends after an ordinary write until that write is durable, which
//! would put a commit on the next frames of the whole room. What both risk is the newest
//! lines in a crash: a late joiner misses them, nobody misses a delivery. A room is only
//! evicted after seconds of silence, long after its last batch was written.
//!
//! `Recent` is the pure part (which lines to keep, write and delete); `History` applies it to
//! the storage.
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::{spawn_local, JsFuture};
use worker::{console_warn, Delay};

const PREFIX: &str = "chat:";
/// How long a line may wait in memory before it is written with the others of its batch.
/// Each write stalls the room for a moment whatever its size, so a busy room writes once a
/// second; a crash then costs the history at most its last second.
const FLUSH_AFTER_MS: u64 = 1000;
/// The most keys one `put` or `delete` takes.
const BATCH: usize = 128;

/// The storage key of line number `seq` (zero-padded, so key order is line order).
pub fn key(seq: u64) -> String {
    format!("{PREFIX}{seq:016}")
}

fn seq_of(key: &str) -> Option<u64> {
    let digits = key.strip_prefix(PREFIX)?;
    (digits.len() == 16).then(|| digits.parse().ok())?
}

/// The last `limit` lines, numbered, and what storage still lacks or holds in excess.
#[derive(Debug, Default)]
pub struct Recent {
    limit: usize,
    /// `(seq, line)`, oldest first, at most `limit`.
    lines: VecDeque<(u64, String)>,
    next_seq: u64,
    /// Lines up to this number were handed to storage (`None`: none yet).
    written_through: Option<u64>,
    /// Stored lines no longer kept: to delete.
    dropped: Vec<u64>,
    /// Stored keys that are not lines of ours (another key format): to delete.
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
    /// What storage holds, as `(key, line)` in key order.
    pub fn from_stored(limit: usize, stored: Vec<(String, String)>) -> Self {
        let mut recent = Self {
            limit,
            ..Self::default()
        };
        for (key, line) in stored {
            match seq_of(&key) {
                Some(seq) => {
                    recent.next_seq = seq + 1;
                    recent.written_through = Some(seq);
                    recent.keep(seq, line);
                }
                None => recent.foreign.push(key),
            }
        }
        recent
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|(_, line)| line.as_str())
    }

    /// Adds the newest line.
    pub fn push(&mut self, line: String) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.keep(seq, line);
    }

    /// Everything storage lacks or holds in excess, handed over: the lines count as written.
    pub fn take_batch(&mut self) -> Batch {
        let after = self.written_through;
        let put = (self.lines.iter())
            .filter(|(seq, _)| after.is_none_or(|through| *seq > through))
            .map(|(seq, line)| (key(*seq), line.clone()))
            .collect();
        if let Some((newest, _)) = self.lines.back() {
            self.written_through = Some(*newest);
        }
        let mut delete: Vec<String> = self.dropped.drain(..).map(key).collect();
        delete.append(&mut self.foreign);
        Batch { put, delete }
    }

    /// Forgets every line (the room is empty): returns the batch deleting the stored ones.
    pub fn clear(&mut self) -> Batch {
        let stored = (self.lines.drain(..))
            .map(|(seq, _)| seq)
            .filter(|seq| self.written_through.is_some_and(|through| *seq <= through));
        self.dropped.extend(stored);
        let mut delete: Vec<String> = self.dropped.drain(..).map(key).collect();
        delete.append(&mut self.foreign);
        Batch {
            put: vec![],
            delete,
        }
    }

    fn keep(&mut self, seq: u64, line: String) {
        self.lines.push_back((seq, line));
        while self.lines.len() > self.limit {
            let Some((old, _)) = self.lines.pop_front() else {
                break;
            };
            // A line never handed to storage needs no delete.
            if self.written_through.is_some_and(|through| old <= through) {
                self.dropped.push(old);
            }
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

    fn puts(batch: &Batch) -> Vec<(u64, &str)> {
        (batch.put.iter())
            .map(|(key, line)| (seq_of(key).unwrap(), line.as_str()))
            .collect()
    }

    fn deletes(batch: &Batch) -> Vec<String> {
        batch.delete.clone()
    }

    #[test]
    fn keys_sort_in_line_order() {
        let mut keys = vec![key(10), key(2), key(100)];
        keys.sort();
        assert_eq!(keys, [key(2), key(10), key(100)]);
        assert_eq!(seq_of(&key(12_345)), Some(12_345));
        assert_eq!(seq_of("chat:1700000000000:0000000001"), None);
    }

    #[test]
    fn keeps_the_last_limit_lines_and_writes_each_once() {
        let mut recent = Recent::from_stored(3, vec![]);
        recent.push("a".into());
        recent.push("b".into());
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(0, "a"), (1, "b")]);
        assert!(batch.delete.is_empty());
        assert!(recent.take_batch().is_empty(), "nothing is written twice");

        for line in ["c", "d", "e"] {
            recent.push(line.into());
        }
        assert_eq!(lines(&recent), ["c", "d", "e"]);
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(2, "c"), (3, "d"), (4, "e")]);
        assert_eq!(
            deletes(&batch),
            [key(0), key(1)],
            "stored lines that fell out go"
        );
    }

    #[test]
    fn a_line_that_falls_out_before_it_is_written_is_neither_written_nor_deleted() {
        let mut recent = Recent::from_stored(2, vec![]);
        for line in ["a", "b", "c", "d"] {
            recent.push(line.into());
        }
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(2, "c"), (3, "d")]);
        assert!(batch.delete.is_empty());
    }

    #[test]
    fn reading_storage_continues_the_numbering_and_sheds_the_excess() {
        let stored = vec![
            (key(7), "old".into()),
            (key(8), "x".into()),
            (key(9), "y".into()),
            (
                "chat:1700000000000:0000000001".into(),
                "older format".into(),
            ),
        ];
        let mut recent = Recent::from_stored(2, stored);
        assert_eq!(lines(&recent), ["x", "y"]);
        recent.push("z".into());
        let batch = recent.take_batch();
        assert_eq!(puts(&batch), [(10, "z")]);
        assert_eq!(
            deletes(&batch),
            [key(7), key(8), "chat:1700000000000:0000000001".into()]
        );
    }

    #[test]
    fn clearing_deletes_what_was_stored_and_forgets_the_rest() {
        let mut recent = Recent::from_stored(5, vec![(key(0), "a".into())]);
        recent.push("b".into());
        let batch = recent.clear();
        assert!(batch.put.is_empty());
        assert_eq!(deletes(&batch), [key(0)], "line 1 was never written");
        assert_eq!(lines(&recent).len(), 0);
        recent.push("c".into());
        assert_eq!(puts(&recent.take_batch()), [(2, "c")]);
    }
}
