//! Room: video rooms on the edge.
//!
//! - `routes`: which handler a request goes to (pure).
//! - `admission`: limits on opening sockets, per network and per room.
//! - `room_name`: what a room may be called (pure).
//! - `text`: what people may call themselves and write: no invisible characters, no
//!   lookalikes (pure).
//! - `protocol`: the wire types (pure); `config`: limits from `[vars]` (pure).
//! - `ice`: STUN/TURN servers and TURN credentials for `/api/ice` (pure but for `respond`).
//! - `realtime`: the SFU (Cloudflare Realtime) rooms move to when they grow: its configuration
//!   and the Connection API calls (pure but for the fetch).
//! - `room`: the Durable Object holding one room's sockets (`mod.rs` applies what a frame
//!   causes); `room::relay`: what goes to whom (pure); `room::sockets`, `room::storage`,
//!   `room::history`, `room::lobby_report`: its sockets, SQL, chat history and lobby reports;
//!   `room::api`: its internal HTTP API (`room::peers`, `room::kick`), used by the lobby and
//!   the operator API.
//! - `lobby`: the Durable Objects holding the public room list: shards of the table, a hub
//!   that merges them, and fan-out objects that hold the lobby sockets.
//! - `admin`: the operator API under `/api/admin/`.
//!
//! This file is the Worker's front door: it answers the small HTTP API itself and forwards
//! websocket upgrades to the Durable Object that owns them. The site itself is served by
//! Workers static assets before this code runs.
use worker::*;

mod admin;
pub mod admission;
pub mod config;
mod http;
pub mod ice;
pub mod ids;
mod lobby;
pub mod protocol;
pub mod realtime;
mod room;
pub mod room_name;
pub mod routes;
pub mod text;

pub use lobby::{Lobby, LobbyFanout, LobbyHub};
pub use room::Room;

use admission::Limit;
use routes::{origin_allowed, route, Route, RouteError};

/// Crate version and git revision, stamped by build.rs.
pub const VERSION: &str = env!("ROOM_VERSION");

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let is_upgrade = req
        .headers()
        .get("Upgrade")?
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    match route(req.method().as_ref(), &req.path(), is_upgrade) {
        Ok(Route::Health) => http::json(
            200,
            &Health {
                ok: true,
                version: VERSION,
            },
        ),
        Ok(Route::RoomSocket(_) | Route::LobbySocket) if !same_site_or_allowed(&req, &env)? => {
            http::error(
                403,
                "forbidden_origin",
                "websockets are only open to this site's pages",
            )
        }
        Ok(Route::RoomSocket(name)) => {
            let network = admission::network(&req);
            if !admission::admit(&env, Limit::SocketsPerNetwork, &network).await {
                return Limit::SocketsPerNetwork.refuse();
            }
            let room = room::stub(&env, name.as_str())?;
            room.fetch_with_request(req).await
        }
        Ok(Route::LobbySocket) => {
            let network = admission::network(&req);
            if !admission::admit(&env, Limit::SocketsPerNetwork, &network).await {
                return Limit::SocketsPerNetwork.refuse();
            }
            lobby::connect(&env, req).await
        }
        Ok(Route::Ice) => ice::respond(&env),
        Ok(Route::Rooms) => lobby::public_rooms(&env, &req.url()?).await,
        Ok(Route::Admin) => admin::handle(req, &env).await,
        Err(RouteError::NotFound) => http::error(404, "not_found", "no such path"),
        Err(RouteError::MethodNotAllowed) => {
            http::error(405, "method_not_allowed", "this path answers GET only")
        }
        Err(RouteError::UpgradeRequired) => http::error(
            426,
            "upgrade_required",
            "this path is a websocket: connect with Upgrade: websocket",
        ),
        Err(RouteError::BadRoomName(why)) => http::error(400, "bad_room_name", &why.message()),
    }
}

/// What `/api/health` answers.
#[derive(serde::Serialize)]
struct Health {
    ok: bool,
    version: &'static str,
}

/// The upgrade's `Origin` against the site's own origin and `ALLOWED_ORIGINS`.
fn same_site_or_allowed(req: &Request, env: &Env) -> Result<bool> {
    let origin = req.headers().get("Origin")?;
    let own = req.url()?.origin().ascii_serialization();
    let allow_list = env
        .var("ALLOWED_ORIGINS")
        .map(|v| v.to_string())
        .unwrap_or_default();
    Ok(origin_allowed(origin.as_deref(), &own, &allow_list))
}
