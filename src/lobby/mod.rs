//! The lobby: the public list of rooms, live, spread over Durable Objects so that no single
//! object stands between every room and every visitor (`docs/scaling.md`).
//!
//! - **Shards** (`shard.rs`, class `Lobby`, binding `LOBBY`): `LOBBY_SHARDS` of them; a room
//!   reports to the one its name hashes to, which keeps that part of the table in SQLite,
//!   repairs it by asking rooms it has not heard from, and offers its own public list to the hub.
//! - **The hub** (`hub.rs`, `LobbyHub`, `LOBBY_HUB`): one object that merges the shards' lists
//!   and hands the merged list to every fan-out object, at a bounded rate.
//! - **Fan-out objects** (`fanout.rs`, `LobbyFanout`, `LOBBY_SOCKETS`): `LOBBY_FANOUT` of them;
//!   each new `/ws/lobby` socket goes to a random one, which pushes it every new list. A change
//!   costs one send per fan-out object, not one per visitor.
//! - `/api/rooms` comes from a fan-out object through the edge cache (`ROOMS_CACHE_SECONDS`),
//!   so polling clients rarely reach a Durable Object at all.
//!
//! The decisions are pure and tested natively: the table (`list.rs`), who is where
//! (`topology.rs`), merging and who to tell (`merge.rs`). The objects only move bytes.
mod alarm;
mod fanout;
mod hub;
mod list;
mod merge;
mod shard;
mod topology;

use std::cell::RefCell;

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use worker::*;

use alarm::KnownAlarm;
pub use fanout::LobbyFanout;
pub use hub::LobbyHub;
pub use list::Report;
pub use shard::Lobby;
use topology::{shard_name, Layout};

/// How long an edge keeps a copy of `/api/rooms`: the list a page polls is at most this much
/// older than the one the sockets get, and each Cloudflare location asks a fan-out object at
/// most once per this interval, however many clients poll.
const ROOMS_CACHE_SECONDS: u32 = 2;

// The shards' own endpoints, reachable only through the LOBBY binding.
const REPORT_URL: &str = "https://lobby/report";
const ALL_URL: &str = "https://lobby/all";

/// What a shard answers at `ALL_URL`: every room it knows.
#[derive(Serialize, Deserialize)]
struct All {
    rooms: Vec<Report>,
}

/// Tells the room's shard how many are in a room now (0: the room is empty). The caller logs
/// an error and goes on: the shard's periodic check repairs a lost report.
pub async fn report_count(env: &Env, report: &Report) -> Result<()> {
    let shard = layout(env).shard_of(&report.name);
    let stub = env
        .durable_object("LOBBY")?
        .get_by_name(&shard_name(shard))?;
    post_json(&stub, REPORT_URL, serde_json::to_string(report)?).await
}

/// `GET /api/rooms`: the public list, from the edge cache if it has a fresh copy, else from a
/// random fan-out object (then cached). `url` is the request's: the cache key is its origin
/// and path only, so that made-up query strings cannot go around the cache.
pub async fn public_rooms(env: &Env, url: &Url) -> Result<Response> {
    let key = format!("{}/api/rooms", url.origin().ascii_serialization());
    let cache = Cache::default();
    // The cache only spares the objects work: when it fails, the list comes from them.
    match cache.get(key.as_str(), false).await {
        Ok(Some(hit)) => return Ok(hit),
        Ok(None) => {}
        Err(e) => console_warn!("lobby: cannot read the cached room list: {e}"),
    }
    let mut res = fanout::public_rooms(env, random_fanout(env)).await?;
    if res.status_code() != 200 {
        return Ok(res);
    }
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set(
        "Cache-Control",
        &format!("public, max-age={ROOMS_CACHE_SECONDS}"),
    )?;
    let mut fresh = Response::ok(res.text().await?)?.with_headers(headers);
    if let Err(e) = cache.put(key.as_str(), fresh.cloned()?).await {
        console_warn!("lobby: cannot cache the room list: {e}");
    }
    Ok(fresh)
}

/// Forwards a `/ws/lobby` upgrade to a random fan-out object.
pub async fn connect(env: &Env, req: Request) -> Result<Response> {
    fanout::connect(env, random_fanout(env), req).await
}

/// Every room any shard knows, private ones too, largest first: for the operator. Every shard
/// is asked; one that cannot answer fails the whole listing rather than hide its rooms.
pub async fn all_rooms(env: &Env) -> Result<Vec<Report>> {
    let shards = env.durable_object("LOBBY")?;
    let asks = layout(env).shard_names().map(|name| {
        let shard = shards.get_by_name(&name);
        async move {
            let mut res = shard?.fetch_with_str(ALL_URL).await?;
            Ok::<_, Error>(res.json::<All>().await?.rooms)
        }
    });
    let parts = join_all(asks).await.into_iter().collect::<Result<_>>()?;
    Ok(merge::merge_all(parts))
}

/// The lobby's layout from `LOBBY_SHARDS` and `LOBBY_FANOUT`.
fn layout(env: &Env) -> Layout {
    let var = |name| env.var(name).ok().map(|v| v.to_string());
    Layout::from_vars(
        var("LOBBY_SHARDS").as_deref(),
        var("LOBBY_FANOUT").as_deref(),
    )
}

fn random_fanout(env: &Env) -> u32 {
    layout(env).fanout_for((js_sys::Math::random() * f64::from(u32::MAX)) as u32)
}

/// POSTs a JSON body to one of the lobby's objects, which answers 204 when it took it.
async fn post_json(stub: &Stub, url: &str, body: String) -> Result<()> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let mut res = stub
        .fetch_with_request(Request::new_with_init(url, &init)?)
        .await?;
    match res.status_code() {
        204 => Ok(()),
        // Reading the body also ends the other side of the request (an unread one would keep
        // it open until this event is torn down).
        status => Err(Error::RustError(format!(
            "{url} answered {status}: {}",
            res.text().await.unwrap_or_default()
        ))),
    }
}

fn now_ms() -> u64 {
    Date::now().as_millis()
}

/// Makes sure the object's alarm fires by `at` (ms since the epoch): sets it unless one is
/// already due by then. `known` spares the storage calls when this instance knows.
async fn alarm_by(storage: &Storage, known: &RefCell<KnownAlarm>, at: u64) -> Result<()> {
    if known.borrow().covers(at) {
        return Ok(());
    }
    match storage.get_alarm().await? {
        Some(due) if due as u64 <= at => known.borrow_mut().set(due as u64),
        _ => {
            storage.set_alarm(scheduled_at(at)).await?;
            known.borrow_mut().set(at);
        }
    }
    Ok(())
}

fn scheduled_at(ms: u64) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&(ms as f64).into()))
}
