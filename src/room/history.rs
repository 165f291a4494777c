//! The room's chat history, kept in the Durable Object's key-value storage under `chat:` keys
//! (newest last in key order) and written with `allowUnconfirmed`.
//!
//! Why not SQLite like the rest: the runtime's output gate holds every message a Durable Object
//! sends after an ordinary write until that write is durable, so storing each chat line put a
//! commit's latency on the next frames of the whole room (its p99, see docs/benchmarks.md).
//! An unconfirmed write does not close the gate. What it risks is one history line in a crash:
//! a late joiner misses it, nobody misses a delivery. Reads use the synchronous `storage.kv`
//! API, which sees writes still in flight.
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

const PREFIX: &str = "chat:";
/// The most keys one `delete` takes.
const DELETE_BATCH: usize = 128;

/// The storage key of a line: time, then a per-instance counter for lines of the same ms.
pub fn key(ts_ms: u64, n: u32) -> String {
    format!("{PREFIX}{ts_ms:013}:{n:010}")
}

/// The last `limit` lines, oldest first.
pub fn recent(storage: &JsValue, limit: usize) -> Vec<String> {
    let mut lines: Vec<String> = newest_first(storage, Some(limit))
        .into_iter()
        .map(|(_, line)| line)
        .collect();
    lines.reverse();
    lines
}

/// Stores a line; resolves once the write is cached, without waiting for it to be durable.
pub async fn append(storage: &JsValue, key: String, line: &str) -> Result<(), JsValue> {
    let args = Array::of3(&key.into(), &line.into(), &unconfirmed());
    settle(call(storage, "put", &args)?).await
}

/// Deletes all but the newest `keep` lines (`keep` 0: all of them).
pub async fn trim(storage: &JsValue, keep: usize) -> Result<(), JsValue> {
    let old: Vec<JsValue> = newest_first(storage, None)
        .into_iter()
        .skip(keep)
        .map(|(key, _)| key.into())
        .collect();
    for batch in old.chunks(DELETE_BATCH) {
        let keys: Array = batch.iter().collect();
        settle(call(storage, "delete", &Array::of2(&keys, &unconfirmed()))?).await?;
    }
    Ok(())
}

/// `(key, line)` pairs, newest first, through the synchronous `storage.kv.list`.
fn newest_first(storage: &JsValue, limit: Option<usize>) -> Vec<(String, String)> {
    let listed = (|| {
        let kv = Reflect::get(storage, &"kv".into())?;
        let options = Object::new();
        Reflect::set(&options, &"prefix".into(), &PREFIX.into())?;
        Reflect::set(&options, &"reverse".into(), &true.into())?;
        if let Some(limit) = limit {
            Reflect::set(&options, &"limit".into(), &(limit as f64).into())?;
        }
        let entries = call(&kv, "list", &Array::of1(&options))?;
        Ok::<_, JsValue>(js_sys::try_iter(&entries)?.into_iter().flatten())
    })();
    let Ok(entries) = listed else { return vec![] };
    entries
        .filter_map(|entry| {
            let pair: Array = entry.ok()?.dyn_into().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
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

    #[test]
    fn keys_sort_in_time_then_arrival_order() {
        let mut keys = vec![
            key(1_700_000_000_001, 0),
            key(1_700_000_000_000, 2),
            key(1_700_000_000_000, 10),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                key(1_700_000_000_000, 2),
                key(1_700_000_000_000, 10),
                key(1_700_000_000_001, 0)
            ]
        );
    }
}
