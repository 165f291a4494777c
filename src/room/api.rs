//! The room's internal HTTP API, reachable only through the `ROOMS` binding (the front door
//! forwards nothing but websocket upgrades to a room). Both sides live here: the typed calls
//! the lobby and the operator API make (`peers`, `kick`), and the paths and bodies the room
//! answers in `Room::fetch`.
//!
//! - `GET /internal/peers`: the room's own account of itself (`Peers`), after a sweep for
//!   vanished sockets. The lobby uses it to repair lost reports, the operator to list people.
//! - `POST /internal/kick` with `{"id": "<peer id>"}`: the room closes that person's socket
//!   with 4003, tells the others, and their resume token dies. 200, or 404 `unknown_peer`;
//!   neither waits on the SFU (their session is closed there in the background).
use serde::{Deserialize, Serialize};
use worker::{Env, Error, Method, Request, RequestInit, Result, Stub};

use crate::protocol::PeerInfo;

pub const PEERS_PATH: &str = "/internal/peers";
pub const KICK_PATH: &str = "/internal/kick";

/// The room as it reports itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peers {
    /// The room's name (`None` only for an object not reached by name, the Worker always uses names).
    pub name: Option<String>,
    pub private: bool,
    /// Whether a host locked the room. Absent from rooms that predate locks.
    #[serde(default)]
    pub locked: bool,
    pub count: usize,
    pub peers: Vec<PeerInfo>,
}

/// The body of a kick.
#[derive(Serialize, Deserialize)]
pub struct Kick {
    pub id: String,
}

/// What became of a kick.
#[derive(Debug, PartialEq, Eq)]
pub enum Kicked {
    Removed,
    /// Nobody in the room has that id (they may have left already).
    UnknownPeer,
}

/// Asks room `name` who is in it.
pub async fn peers(env: &Env, name: &str) -> Result<Peers> {
    let mut res = stub(env, name)?.fetch_with_str(&url(PEERS_PATH)).await?;
    match res.status_code() {
        200 => res.json().await,
        status => Err(Error::RustError(format!("room answered {status}"))),
    }
}

/// Asks room `name` to remove the person with peer id `id`.
pub async fn kick(env: &Env, name: &str, id: &str) -> Result<Kicked> {
    let body = serde_json::to_string(&Kick { id: id.to_owned() })?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init(&url(KICK_PATH), &init)?;
    let mut res = stub(env, name)?.fetch_with_request(request).await?;
    match res.status_code() {
        200 => Ok(Kicked::Removed),
        404 => Ok(Kicked::UnknownPeer),
        status => Err(Error::RustError(format!(
            "room answered {status}: {}",
            res.text().await.unwrap_or_default()
        ))),
    }
}

/// The Durable Object of room `name` (the front door forwards its websockets there too).
pub fn stub(env: &Env, name: &str) -> Result<Stub> {
    env.durable_object("ROOMS")?.get_by_name(name)
}

/// The host part is never looked at: the stub routes the request to the room.
fn url(path: &str) -> String {
    format!("https://room{path}")
}
