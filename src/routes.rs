//! Which handler a request goes to: a pure decision over method, path and the upgrade header,
//! so every rule (bad names, plain GETs to socket paths) is tested natively.
use crate::room_name::{RoomName, RoomNameError};

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Health,
    Rooms,
    Ice,
    /// Everything under `/api/admin/`; the admin module authorises and dispatches the rest.
    Admin,
    LobbySocket,
    RoomSocket(RoomName),
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed,
    /// A plain request to a websocket path.
    UpgradeRequired,
    BadRoomName(RoomNameError),
}

pub fn route(method: &str, path: &str, is_websocket_upgrade: bool) -> Result<Route, RouteError> {
    if path.starts_with("/api/admin/") {
        return Ok(Route::Admin);
    }
    let route = match path {
        "/api/health" => Route::Health,
        "/api/rooms" => Route::Rooms,
        "/api/ice" => Route::Ice,
        "/ws/lobby" => Route::LobbySocket,
        _ => match path.strip_prefix("/ws/rooms/") {
            Some(segment) => Route::RoomSocket(
                RoomName::from_path_segment(segment).map_err(RouteError::BadRoomName)?,
            ),
            None => return Err(RouteError::NotFound),
        },
    };
    if method != "GET" {
        return Err(RouteError::MethodNotAllowed);
    }
    let wants_socket = matches!(route, Route::LobbySocket | Route::RoomSocket(_));
    if wants_socket && !is_websocket_upgrade {
        return Err(RouteError::UpgradeRequired);
    }
    Ok(route)
}

/// Whether a websocket upgrade sent with `origin` may proceed: the site's own origin, or one
/// in the comma-separated `allow_list`. Browsers always send `Origin` on an upgrade, so this
/// stops another site's page from opening sockets under its visitors' names; a client that is
/// not a browser may leave it out (it could forge it anyway).
pub fn origin_allowed(origin: Option<&str>, own_origin: &str, allow_list: &str) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    origin.eq_ignore_ascii_case(own_origin)
        || allow_list
            .split(',')
            .map(|allowed| allowed.trim().trim_end_matches('/'))
            .any(|allowed| !allowed.is_empty() && allowed.eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths() {
        assert_eq!(route("GET", "/api/health", false), Ok(Route::Health));
        assert_eq!(route("GET", "/api/rooms", false), Ok(Route::Rooms));
        assert_eq!(route("GET", "/api/ice", false), Ok(Route::Ice));
        assert_eq!(
            route("POST", "/api/rooms", false),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(route("GET", "/api/nope", false), Err(RouteError::NotFound));
        assert_eq!(route("GET", "/ws/rooms", true), Err(RouteError::NotFound));
    }

    #[test]
    fn admin_paths_go_to_admin_whatever_the_method() {
        assert_eq!(route("GET", "/api/admin/rooms", false), Ok(Route::Admin));
        assert_eq!(
            route("POST", "/api/admin/rooms/a/kick", false),
            Ok(Route::Admin)
        );
    }

    #[test]
    fn socket_paths_need_an_upgrade() {
        assert_eq!(route("GET", "/ws/lobby", true), Ok(Route::LobbySocket));
        assert_eq!(
            route("GET", "/ws/lobby", false),
            Err(RouteError::UpgradeRequired)
        );
        assert_eq!(
            route("GET", "/ws/rooms/%EB%B0%A9-1", true),
            Ok(Route::RoomSocket(RoomName::parse("방-1").unwrap()))
        );
        assert_eq!(
            route("GET", "/ws/rooms/team", false),
            Err(RouteError::UpgradeRequired)
        );
    }

    #[test]
    fn bad_room_names_are_refused_before_anything_else() {
        assert_eq!(
            route("GET", "/ws/rooms/", true),
            Err(RouteError::BadRoomName(RoomNameError::Empty))
        );
        assert_eq!(
            route("GET", "/ws/rooms/a/b", true),
            Err(RouteError::BadRoomName(RoomNameError::BadCharacter('/')))
        );
        assert_eq!(
            route("GET", "/ws/rooms/a%3Cb", false),
            Err(RouteError::BadRoomName(RoomNameError::BadCharacter('<')))
        );
    }

    #[test]
    fn origins_own_and_allow_listed_only() {
        let own = "https://room.example";
        assert!(origin_allowed(None, own, ""));
        assert!(origin_allowed(Some("https://room.example"), own, ""));
        assert!(origin_allowed(Some("https://ROOM.example/"), own, ""));
        assert!(!origin_allowed(Some("https://evil.example"), own, ""));
        assert!(!origin_allowed(Some("null"), own, ""));
        assert!(
            !origin_allowed(Some("http://room.example"), own, ""),
            "scheme counts"
        );
        let list = " https://a.example , https://b.example/ ,";
        assert!(origin_allowed(Some("https://b.example"), own, list));
        assert!(origin_allowed(Some("https://a.example"), own, list));
        assert!(!origin_allowed(Some("https://c.example"), own, list));
        assert!(
            !origin_allowed(Some(""), own, list),
            "an empty entry allows nothing"
        );
    }
}
