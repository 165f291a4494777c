//! The operator API, everything under `/api/admin/`, behind `Authorization: Bearer
//! <ADMIN_TOKEN>` (a secret):
//!
//! - `GET /api/admin/rooms?offset=N`: the rooms the lobby knows, private ones too, largest
//!   first, a page of 100 from `offset` (default 0), each with its participants as the room
//!   itself reports them (`room::peers`).
//! - `GET /api/admin/rooms/{name}`: one room by name, asked directly, whether or not the
//!   lobby lists it (a private room, a new one, one crowded off the first pages).
//! - `POST /api/admin/rooms/{name}/kick` with `{"id": "<peer id>"}`: the room closes that
//!   socket with 4003 and tells the others (`room::kick`).
//!
//! With no token configured every admin path is the plain 404 of an unknown path, so nothing
//! tells that the API exists; a missing or wrong token is 401. Authorisation, routing and the
//! listing's shape are pure and tested natively.
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use worker::*;

use crate::http;
use crate::lobby::{self, Report};
use crate::room::{self, Kicked, Peers};
use crate::room_name::{RoomName, RoomNameError};

/// A page of the listing holds this many rooms, one subrequest each.
pub const MAX_LISTED_ROOMS: usize = 100;
/// Peer ids are short server-made tokens; anything longer is not one.
const MAX_PEER_ID_CHARS: usize = 64;

#[derive(Debug, PartialEq, Eq)]
pub enum AdminRoute {
    /// A page of the listing, from this offset.
    Rooms {
        offset: usize,
    },
    Room(RoomName),
    Kick(RoomName),
}

/// Why an admin request is not carried out, each with its HTTP answer (`respond`).
#[derive(Debug, PartialEq, Eq)]
pub enum AdminError {
    /// No `ADMIN_TOKEN` configured.
    Disabled,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    BadRoomName(RoomNameError),
    BadOffset,
}

impl AdminError {
    fn respond(&self) -> Result<Response> {
        match self {
            Self::Disabled | Self::NotFound => http::error(404, "not_found", "no such path"),
            Self::Unauthorized => {
                let mut res = http::error(
                    401,
                    "unauthorized",
                    "send Authorization: Bearer <ADMIN_TOKEN>",
                )?;
                res.headers_mut().set("WWW-Authenticate", "Bearer")?;
                Ok(res)
            }
            Self::MethodNotAllowed => http::error(
                405,
                "method_not_allowed",
                "GET /api/admin/rooms, POST /api/admin/rooms/{name}/kick",
            ),
            Self::BadRoomName(why) => http::error(400, "bad_room_name", &why.message()),
            Self::BadOffset => http::error(400, "bad_request", "offset is a whole number"),
        }
    }
}

/// Checks the `Authorization` header against the configured token (`None` or empty: the admin
/// API is off). Both are trimmed: a secret pasted with a newline still works.
pub fn authorize(configured: Option<&str>, authorization: Option<&str>) -> Result<(), AdminError> {
    let token = configured
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AdminError::Disabled)?;
    let offered = authorization
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, value)| value.trim());
    if constant_time_eq(offered.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(AdminError::Unauthorized)
    }
}

/// Compares without stopping at the first difference: every byte of the longer input is
/// looked at, so the time taken tells nothing about how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

/// Which admin action a request asks for (only called once authorised); `offset` is the
/// query's `offset` parameter, if any.
pub fn admin_route(
    method: &str,
    path: &str,
    offset: Option<&str>,
) -> Result<AdminRoute, AdminError> {
    let rest = path
        .strip_prefix("/api/admin/")
        .ok_or(AdminError::NotFound)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let allowed = match segments.as_slice() {
        ["rooms"] | ["rooms", _] => "GET",
        ["rooms", _, "kick"] => "POST",
        _ => return Err(AdminError::NotFound),
    };
    if method != allowed {
        return Err(AdminError::MethodNotAllowed);
    }
    let name =
        |segment: &str| RoomName::from_path_segment(segment).map_err(AdminError::BadRoomName);
    match segments.as_slice() {
        ["rooms"] => {
            let offset = offset.map_or(Ok(0), |raw| raw.parse().map_err(|_| AdminError::BadOffset));
            Ok(AdminRoute::Rooms { offset: offset? })
        }
        ["rooms", segment] => name(segment).map(AdminRoute::Room),
        _ => name(segments[1]).map(AdminRoute::Kick),
    }
}

/// The body of a kick: which participant to remove.
#[derive(Debug, Deserialize)]
pub struct Kick {
    pub id: String,
}

impl Kick {
    pub fn parse(body: &str) -> Option<Self> {
        let kick: Self = serde_json::from_str(body).ok()?;
        let fits = !kick.id.is_empty() && kick.id.chars().count() <= MAX_PEER_ID_CHARS;
        fits.then_some(kick)
    }
}

/// A page of the operator's listing of rooms.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub rooms: Vec<ListedRoom>,
    /// How many rooms the lobby knows, of which `rooms` are a page, largest first.
    pub total: usize,
    /// Where this page starts, and where the next one does (`None`: this is the last).
    pub offset: usize,
    pub next_offset: Option<usize>,
}

/// One room of the listing: as it answered for itself, or, when it could not be reached, what
/// the lobby last heard of it with `"error": "unreachable"`.
#[derive(Debug, Serialize)]
pub struct ListedRoom {
    #[serde(flatten)]
    pub room: Peers,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

/// A page of the listing from what the lobby knows (`known`: the page's rooms, from `offset`
/// of `total`) and what each room answered (`None`: unreachable). Rooms that answered with
/// nobody in them are left out (they emptied since the lobby heard). Largest first.
pub fn listing(
    known: &[Report],
    answers: Vec<Option<Peers>>,
    offset: usize,
    total: usize,
) -> Listing {
    let mut rooms: Vec<ListedRoom> = known
        .iter()
        .zip(answers)
        .filter_map(|(known, answer)| match answer {
            Some(room) if room.count == 0 => None,
            Some(room) => Some(ListedRoom { room, error: None }),
            None => Some(ListedRoom {
                room: Peers {
                    name: Some(known.name.clone()),
                    private: known.private,
                    locked: known.locked,
                    count: known.count as usize,
                    peers: vec![],
                },
                error: Some("unreachable"),
            }),
        })
        .collect();
    rooms.sort_by(|a, b| {
        (b.room.count.cmp(&a.room.count)).then_with(|| a.room.name.cmp(&b.room.name))
    });
    let end = offset + known.len();
    Listing {
        rooms,
        total,
        offset,
        next_offset: (end < total).then_some(end),
    }
}

/// Everything under `/api/admin/`.
pub async fn handle(mut req: Request, env: &Env) -> Result<Response> {
    let token = env.secret("ADMIN_TOKEN").ok().map(|s| s.to_string());
    let authorization = req.headers().get("Authorization")?;
    let url = req.url()?;
    let offset = url.query_pairs().find(|(key, _)| key == "offset");
    let route = authorize(token.as_deref(), authorization.as_deref()).and_then(|()| {
        admin_route(
            req.method().as_ref(),
            &req.path(),
            offset.as_ref().map(|(_, v)| v.as_ref()),
        )
    });
    let mut res = match route {
        Ok(AdminRoute::Rooms { offset }) => list_rooms(env, offset).await?,
        Ok(AdminRoute::Room(name)) => look_up(env, &name).await?,
        Ok(AdminRoute::Kick(name)) => match Kick::parse(&req.text().await?) {
            Some(kick) => kick_peer(env, &name, &kick).await?,
            None => http::error(400, "bad_request", "expected {\"id\": \"<peer id>\"}")?,
        },
        Err(refusal) => refusal.respond()?,
    };
    // Participant lists are nobody's to cache.
    res.headers_mut().set("Cache-Control", "no-store")?;
    Ok(res)
}

async fn list_rooms(env: &Env, offset: usize) -> Result<Response> {
    let known = match lobby::all_rooms(env).await {
        Ok(known) => known,
        // A listing without one shard's rooms would hide them: say so instead.
        Err(e) => {
            console_error!("admin: the lobby's shards did not all answer: {e}");
            return http::error(
                503,
                "lobby_unavailable",
                "a lobby shard did not answer: try again",
            );
        }
    };
    let start = offset.min(known.len());
    let shown = &known[start..known.len().min(start.saturating_add(MAX_LISTED_ROOMS))];
    let answers = join_all(shown.iter().map(|r| room::peers(env, &r.name))).await;
    let answers = answers
        .into_iter()
        .zip(shown)
        .map(|(answer, room)| {
            answer
                .inspect_err(|e| console_warn!("admin: room {:?} unreachable: {e}", room.name))
                .ok()
        })
        .collect();
    http::json(200, &listing(shown, answers, start, known.len()))
}

/// One room as it answers for itself, known to the lobby or not (nobody there: count 0).
async fn look_up(env: &Env, name: &RoomName) -> Result<Response> {
    let room = room::peers(env, name.as_str()).await?;
    http::json(200, &ListedRoom { room, error: None })
}

async fn kick_peer(env: &Env, name: &RoomName, kick: &Kick) -> Result<Response> {
    match room::kick(env, name.as_str(), &kick.id).await? {
        Kicked::Removed => http::ok(),
        Kicked::UnknownPeer => http::error(404, "unknown_peer", "no such peer in this room"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerInfo;
    use serde_json::json;

    #[test]
    fn no_token_configured_means_no_admin_api() {
        for configured in [None, Some(""), Some("  \n")] {
            assert_eq!(
                authorize(configured, Some("Bearer anything")),
                Err(AdminError::Disabled)
            );
            assert_eq!(authorize(configured, None), Err(AdminError::Disabled));
        }
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        let token = Some("s3cret-token");
        assert_eq!(authorize(token, Some("Bearer s3cret-token")), Ok(()));
        assert_eq!(authorize(token, Some("bearer  s3cret-token ")), Ok(()));
        assert_eq!(
            authorize(Some("s3cret-token\n"), Some("Bearer s3cret-token")),
            Ok(())
        );
        for wrong in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("s3cret-token"),
            Some("Basic s3cret-token"),
            Some("Bearer s3cret-toke"),
            Some("Bearer s3cret-tokenx"),
            Some("Bearer S3CRET-TOKEN"),
        ] {
            assert_eq!(
                authorize(token, wrong),
                Err(AdminError::Unauthorized),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn constant_time_eq_compares_whole_inputs() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        // A shorter input padded with what would be zero bytes is still different.
        assert!(!constant_time_eq(b"ab", b"ab\0"));
        assert!(!constant_time_eq(b"", b"\0"));
        // Two differences that would cancel out if they were XORed together rather than ORed.
        assert!(!constant_time_eq(b"ab", b"ba"));
    }

    #[test]
    fn routes() {
        assert_eq!(
            admin_route("GET", "/api/admin/rooms", None),
            Ok(AdminRoute::Rooms { offset: 0 })
        );
        assert_eq!(
            admin_route("GET", "/api/admin/rooms", Some("200")),
            Ok(AdminRoute::Rooms { offset: 200 })
        );
        for bad in ["", "-1", "x", "1.5"] {
            let route = admin_route("GET", "/api/admin/rooms", Some(bad));
            assert_eq!(route, Err(AdminError::BadOffset), "{bad:?}");
        }
        assert_eq!(
            admin_route("GET", "/api/admin/rooms/%EB%B0%A9-1", None),
            Ok(AdminRoute::Room(RoomName::parse("방-1").unwrap()))
        );
        assert_eq!(
            admin_route("GET", "/api/admin/rooms/a%3Cb", None),
            Err(AdminError::BadRoomName(RoomNameError::BadCharacter('<')))
        );
        assert_eq!(
            admin_route("POST", "/api/admin/rooms/%EB%B0%A9-1/kick", None),
            Ok(AdminRoute::Kick(RoomName::parse("방-1").unwrap()))
        );
        assert_eq!(
            admin_route("POST", "/api/admin/rooms", None),
            Err(AdminError::MethodNotAllowed)
        );
        assert_eq!(
            admin_route("GET", "/api/admin/rooms/a/kick", None),
            Err(AdminError::MethodNotAllowed)
        );
        assert_eq!(
            admin_route("POST", "/api/admin/rooms/a%20b/kick", None),
            Err(AdminError::BadRoomName(RoomNameError::BadCharacter(' ')))
        );
        for path in [
            "/api/admin/",
            "/api/admin/rooms/a/kick/x",
            "/api/admin/rooms/a/b",
            "/api/admin/nope",
        ] {
            assert_eq!(
                admin_route("GET", path, None),
                Err(AdminError::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn kick_bodies() {
        assert_eq!(Kick::parse(r#"{"id":"ab12"}"#).unwrap().id, "ab12");
        for bad in ["", "{}", r#"{"id":""}"#, r#"{"id":7}"#, "[1]"] {
            assert!(Kick::parse(bad).is_none(), "{bad}");
        }
        let id = |n: usize| json!({ "id": "é".repeat(n) }).to_string();
        assert_eq!(
            Kick::parse(&id(MAX_PEER_ID_CHARS))
                .unwrap()
                .id
                .chars()
                .count(),
            64
        );
        assert!(Kick::parse(&id(MAX_PEER_ID_CHARS + 1)).is_none());
    }

    #[test]
    fn the_listing_takes_each_room_at_its_word() {
        let known = |name: &str, count, private| Report {
            locked: false,
            name: name.to_owned(),
            count,
            private,
        };
        let lobby_view = [
            known("a", 3, false),
            known("secret", 2, true),
            known("left", 1, false),
            known("down", 1, false),
        ];
        let peer = PeerInfo {
            host: false,
            hand: None,
            id: "p1".to_owned(),
            nick: "ann".to_owned(),
            muted: false,
            camera: true,
            screen: false,
            joined_at: 5,
            webrtc: true,
            tracks: vec![],
        };
        let answer = |name: &str, private, peers: Vec<PeerInfo>| {
            Some(Peers {
                locked: false,
                name: Some(name.to_owned()),
                private,
                count: peers.len(),
                peers,
            })
        };
        let answers = vec![
            answer("a", false, vec![peer.clone()]),
            answer("secret", true, vec![peer.clone(), peer]),
            answer("left", false, vec![]),
            None,
        ];
        let out = serde_json::to_value(listing(&lobby_view, answers, 0, 7)).unwrap();
        let names: Vec<&str> = out["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["secret", "a", "down"]);
        assert_eq!(out["rooms"][0]["private"], true);
        assert_eq!(out["rooms"][1]["peers"][0]["nick"], "ann");
        assert_eq!(out["rooms"][2]["error"], "unreachable");
        assert_eq!(out["rooms"][2]["count"], 1);
        assert_eq!(out["total"], 7);
        assert_eq!(out["offset"], 0);
        assert_eq!(out["nextOffset"], 4, "three more rooms after these four");
        // The last page says so.
        let last = listing(&lobby_view[..3], vec![None, None, None], 4, 7);
        assert_eq!((last.offset, last.next_offset), (4, None));
        let whole = listing(&lobby_view[..1], vec![None], 0, 1);
        assert_eq!(whole.next_offset, None);
        assert_eq!(whole.total, 1);
    }
}
