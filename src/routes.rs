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
}
