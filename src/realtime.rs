//! Cloudflare Realtime, the SFU a room moves to when it grows: its configuration, and the
//! calls of its Connection API that Room makes, with the request and response shapes of the
//! API's OpenAPI schema (`realtime-api-2024-05-21.yaml`).
//!
//! Configuration: `REALTIME_APP_ID` (a var) and the secret `REALTIME_APP_SECRET`, both needed;
//! `REALTIME_API_URL` (default: the service) and `REALTIME_TIMEOUT_MS`.
//!
//! The app secret never leaves this module but in the `Authorization` header of a call to the
//! API: `Debug` leaves it out, and what the API says goes on to clients only as an error code
//! and a short description, cleaned of control characters, cut short, and with the secret cut
//! out should the API ever echo it. Response headers are never passed on.
//!
//! Everything but `RealtimeConfig::call` (the fetch itself) is pure and tested natively.
use std::fmt;
use std::time::Duration;

use futures::future::{select, Either};
use serde::{Deserialize, Serialize};
use worker::{
    console_warn, AbortController, AbortSignal, Delay, Env, Fetch, Headers, Method, Request,
    RequestInit,
};

pub const DEFAULT_API_URL: &str = "https://rtc.live.cloudflare.com/v1";
/// The API may itself wait up to 5 s for a session's peer connection before it answers.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The most of an error description that reaches a client.
const DESCRIPTION_CHARS: usize = 200;

/// Where the SFU is and how to authenticate to it. `None` from `from_vars` without an app id
/// and a secret: the deployment has no SFU.
#[derive(Clone, PartialEq, Eq)]
pub struct RealtimeConfig {
    app_id: String,
    secret: String,
    api_url: String,
    timeout_ms: u64,
}

impl fmt::Debug for RealtimeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealtimeConfig")
            .field("app_id", &self.app_id)
            .field("secret", &"<hidden>")
            .field("api_url", &self.api_url)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl RealtimeConfig {
    /// Reads the configuration through `var` (the Worker's vars and secrets in production, a
    /// map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |name: &str| {
            var(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let api_url = set("REALTIME_API_URL")
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let timeout_ms = set("REALTIME_TIMEOUT_MS")
            .and_then(|ms| ms.parse::<u64>().ok())
            .filter(|ms| (1..=60_000).contains(ms))
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        Some(Self {
            app_id: set("REALTIME_APP_ID")?,
            secret: set("REALTIME_APP_SECRET")?,
            api_url: api_url.trim_end_matches('/').to_owned(),
            timeout_ms,
        })
    }

    /// The configuration in the Worker's vars and its secret `REALTIME_APP_SECRET`.
    pub fn from_env(env: &Env) -> Option<Self> {
        Self::from_vars(|name| match name {
            "REALTIME_APP_SECRET" => env.secret(name).ok().map(|s| s.to_string()),
            _ => env.var(name).ok().map(|v| v.to_string()),
        })
    }

    /// The full URL of a call.
    pub fn url(&self, call: &ApiCall) -> String {
        let app = path_segment(&self.app_id);
        format!("{}/apps/{app}/{}", self.api_url, call.path())
    }

    /// Makes the call, and gives up after `timeout_ms`: a room never waits on the SFU for
    /// longer, and the caller gets `sfu_unavailable` rather than no answer.
    pub async fn call(&self, call: &ApiCall) -> ApiResult {
        let controller = AbortController::default();
        let answer = Box::pin(self.send(call, controller.signal()));
        let timeout = Delay::from(Duration::from_millis(self.timeout_ms));
        match select(answer, timeout).await {
            Either::Left((answer, _)) => answer,
            Either::Right(((), _)) => {
                controller.abort();
                let message = format!("the SFU did not answer within {} ms", self.timeout_ms);
                Err(ApiFailure::Unavailable(message))
            }
        }
    }

    async fn send(&self, call: &ApiCall, signal: AbortSignal) -> ApiResult {
        let unreachable = |why: worker::Error| {
            console_warn!("calling the SFU ({}) failed: {why}", call.path());
            ApiFailure::Unavailable("the SFU could not be reached".to_owned())
        };
        let headers = Headers::new();
        let bearer = format!("Bearer {}", self.secret);
        headers.set("Authorization", &bearer).map_err(unreachable)?;
        headers
            .set("Content-Type", "application/json")
            .map_err(unreachable)?;
        let mut init = RequestInit::new();
        init.with_method(call.method())
            .with_headers(headers)
            .with_body(call.body().map(Into::into));
        let request = Request::new_with_init(&self.url(call), &init).map_err(unreachable)?;
        let mut response =
            (Fetch::Request(request).send_with_signal(&signal).await).map_err(unreachable)?;
        let body = response.text().await.map_err(unreachable)?;
        self.interpret(call, response.status_code(), &body)
    }

    /// What the API's answer to `call` means: its HTTP status, and the error codes in its body
    /// (a successful status can carry one for the whole call, and one for each track).
    pub fn interpret(&self, call: &ApiCall, status: u16, body: &str) -> ApiResult {
        let parsed =
            || serde_json::from_str::<RawAnswer>(if body.is_empty() { "{}" } else { body });
        match status {
            200..=299 => {
                let raw = parsed().map_err(|_| {
                    ApiFailure::Unavailable("the SFU's answer could not be read".to_owned())
                })?;
                if let Some(code) = &raw.error_code {
                    return Err(ApiFailure::Refused(
                        self.describe(code, raw.error_description.as_deref()),
                    ));
                }
                Ok(self.clean(raw))
            }
            400..=499 => {
                let raw = parsed().unwrap_or_default();
                // The service answers an unknown or expired session with 410 `session_error`.
                let gone = status == 410 || raw.error_code.as_deref() == Some("session_error");
                if gone && call.session().is_some() {
                    return Err(ApiFailure::SessionGone);
                }
                let code = raw.error_code.unwrap_or_else(|| format!("http_{status}"));
                let described = self.describe(&code, raw.error_description.as_deref());
                Err(ApiFailure::Refused(described))
            }
            _ => Err(ApiFailure::Unavailable(format!(
                "the SFU failed (HTTP {status})"
            ))),
        }
    }

    fn clean(&self, raw: RawAnswer) -> ApiAnswer {
        let tracks = (raw.tracks.into_iter())
            .map(|track| TrackResult {
                error: (track.error_code.as_deref())
                    .map(|code| self.describe(code, track.error_description.as_deref())),
                mid: track.mid,
                session_id: track.session_id,
                track_name: track.track_name,
                location: track.location,
                status: track.status,
            })
            .collect();
        ApiAnswer {
            session_id: raw.session_id,
            session_description: raw.session_description,
            renegotiate: raw.requires_immediate_renegotiation,
            tracks,
        }
    }

    /// An error of the API as a client may see it: `code: description`, printable, short, and
    /// never holding the secret.
    fn describe(&self, code: &str, description: Option<&str>) -> String {
        let text = match description {
            Some(description) => format!("{code}: {description}"),
            None => code.to_owned(),
        };
        let printable: String = text
            .replace(&self.secret, "…")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        match printable.char_indices().nth(DESCRIPTION_CHARS) {
            Some((cut, _)) => format!("{}…", &printable[..cut]),
            None => printable,
        }
    }
}

/// A percent-encoded path segment: ids come from configuration and from the API's answers,
/// and neither may change the path they are put in.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The calls Room makes, each on the app in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiCall {
    /// `POST /apps/{appId}/sessions/new`
    NewSession,
    /// `POST /apps/{appId}/sessions/{session}/tracks/new`: publish local tracks, or subscribe
    /// to remote ones.
    NewTracks {
        session: String,
        body: TracksRequest,
    },
    /// `PUT /apps/{appId}/sessions/{session}/renegotiate`
    Renegotiate {
        session: String,
        body: RenegotiateRequest,
    },
    /// `PUT /apps/{appId}/sessions/{session}/tracks/close`
    CloseTracks {
        session: String,
        body: CloseTracksRequest,
    },
    /// `PUT /apps/{appId}/sessions/{session}/tracks/update`: point receiving transceivers (by
    /// mid) at a track or a simulcast layer, without renegotiation. Its body,
    /// `UpdateTracksRequest`, has the fields of `TracksRequest`.
    UpdateTracks {
        session: String,
        body: TracksRequest,
    },
    /// `GET /apps/{appId}/sessions/{session}`: the session's tracks, with their status.
    GetSession { session: String },
}

impl ApiCall {
    pub fn method(&self) -> Method {
        match self {
            ApiCall::NewSession | ApiCall::NewTracks { .. } => Method::Post,
            ApiCall::Renegotiate { .. }
            | ApiCall::CloseTracks { .. }
            | ApiCall::UpdateTracks { .. } => Method::Put,
            ApiCall::GetSession { .. } => Method::Get,
        }
    }

    /// The path below `/apps/{appId}/`.
    pub fn path(&self) -> String {
        let under =
            |session: &str, rest: &str| format!("sessions/{}/{rest}", path_segment(session));
        match self {
            ApiCall::NewSession => "sessions/new".to_owned(),
            ApiCall::NewTracks { session, .. } => under(session, "tracks/new"),
            ApiCall::Renegotiate { session, .. } => under(session, "renegotiate"),
            ApiCall::CloseTracks { session, .. } => under(session, "tracks/close"),
            ApiCall::UpdateTracks { session, .. } => under(session, "tracks/update"),
            ApiCall::GetSession { session } => format!("sessions/{}", path_segment(session)),
        }
    }

    /// The JSON body, if the call has one.
    pub fn body(&self) -> Option<String> {
        let json = match self {
            ApiCall::NewSession | ApiCall::GetSession { .. } => return None,
            ApiCall::NewTracks { body, .. } | ApiCall::UpdateTracks { body, .. } => {
                serde_json::to_string(body)
            }
            ApiCall::Renegotiate { body, .. } => serde_json::to_string(body),
            ApiCall::CloseTracks { body, .. } => serde_json::to_string(body),
        };
        Some(json.expect("API requests always serialise"))
    }

    /// The session the call acts on (all but `NewSession`).
    pub fn session(&self) -> Option<&str> {
        match self {
            ApiCall::NewSession => None,
            ApiCall::NewTracks { session, .. }
            | ApiCall::Renegotiate { session, .. }
            | ApiCall::CloseTracks { session, .. }
            | ApiCall::UpdateTracks { session, .. }
            | ApiCall::GetSession { session } => Some(session),
        }
    }

    /// Closes these mids of `session` without an SDP exchange: tracks whose sender is gone.
    pub fn force_close(session: &str, mids: impl IntoIterator<Item = String>) -> Self {
        ApiCall::CloseTracks {
            session: session.to_owned(),
            body: CloseTracksRequest {
                tracks: mids
                    .into_iter()
                    .map(|mid| CloseTrackObject { mid })
                    .collect(),
                force: true,
                session_description: None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    #[serde(rename = "type")]
    pub kind: SdpType,
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    Offer,
    Answer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// A track this session sends.
    Local,
    /// A track of another session, to receive.
    Remote,
}

/// `TracksRequest` of the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracksRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_description: Option<SessionDescription>,
    pub tracks: Vec<TrackObject>,
}

/// `TrackObject` of the schema, as far as Room uses it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackObject {
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// The owner's session, for a remote track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub track_name: String,
    /// For a remote track published with simulcast: the layer to receive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulcast: Option<Simulcast>,
}

/// The `simulcast` object of a remote `TrackObject`: the layer (`rid`) preferred, and what the
/// SFU may do instead. Both fallbacks are `asciibetical` (the default, `none`, leaves a
/// subscriber with no picture when the publisher stops sending the preferred layer): on too
/// little bandwidth, or when that layer is not sent, the SFU takes the next layer in a-z
/// order of their rids.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulcast {
    pub preferred_rid: String,
    priority_ordering: &'static str,
    rid_not_available: &'static str,
}

impl Simulcast {
    pub fn preferring(rid: &str) -> Self {
        Simulcast {
            preferred_rid: rid.to_owned(),
            priority_ordering: "asciibetical",
            rid_not_available: "asciibetical",
        }
    }
}

/// `RenegotiateRequest` of the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenegotiateRequest {
    pub session_description: SessionDescription,
}

/// `CloseTracksRequest` of the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseTracksRequest {
    pub tracks: Vec<CloseTrackObject>,
    pub force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_description: Option<SessionDescription>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloseTrackObject {
    pub mid: String,
}

/// What came back from a call, or why nothing usable did.
pub type ApiResult = Result<ApiAnswer, ApiFailure>;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// Not reached, no answer in time, a server error, or an answer that could not be read.
    Unavailable(String),
    /// The API refused the call: its error, described (see `RealtimeConfig::describe`).
    Refused(String),
    /// The API does not know the session the call named (410 `session_error`).
    SessionGone,
}

/// A successful answer: the fields of `NewSessionResponse`, `TracksResponse`,
/// `CloseTracksResponse`, `RenegotiateResponse`, `UpdateTracksResponse` and
/// `GetSessionStateResponse` that Room uses (each has a subset).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiAnswer {
    pub session_id: Option<String>,
    pub session_description: Option<SessionDescription>,
    /// `requiresImmediateRenegotiation`
    pub renegotiate: bool,
    pub tracks: Vec<TrackResult>,
}

/// One track's result, its error described; or, in a session's state (`GetSession`), one of
/// its tracks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackResult {
    pub mid: Option<String>,
    pub session_id: Option<String>,
    pub track_name: Option<String>,
    pub error: Option<String>,
    /// `local` or `remote` (in a session's state).
    pub location: Option<String>,
    /// `active`, `inactive` or `initializing` (in a session's state).
    pub status: Option<String>,
}

impl TrackResult {
    /// Closed, or collected by the SFU (`status: "inactive"` in a session's state).
    pub fn inactive(&self) -> bool {
        self.status.as_deref() == Some("inactive")
    }
}

/// The answer as the API sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAnswer {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    session_description: Option<SessionDescription>,
    #[serde(default)]
    requires_immediate_renegotiation: bool,
    #[serde(default)]
    tracks: Vec<RawTrack>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrack {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    track_name: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RealtimeConfig {
        RealtimeConfig::from_vars(|name| match name {
            "REALTIME_APP_ID" => Some("app1".into()),
            "REALTIME_APP_SECRET" => Some("s3cret-value".into()),
            "REALTIME_API_URL" => Some("http://127.0.0.1:9000/v1/".into()),
            _ => None,
        })
        .unwrap()
    }

    fn publish() -> ApiCall {
        ApiCall::NewTracks {
            session: "sess/1".into(),
            body: TracksRequest {
                session_description: Some(SessionDescription {
                    kind: SdpType::Offer,
                    sdp: "v=0".into(),
                }),
                tracks: vec![TrackObject {
                    location: Location::Local,
                    mid: Some("0".into()),
                    session_id: None,
                    track_name: "mic".into(),
                    simulcast: None,
                }],
            },
        }
    }

    #[test]
    fn an_sfu_needs_both_the_app_id_and_the_secret() {
        let only = |set: &'static str| {
            RealtimeConfig::from_vars(move |name| (name == set).then(|| "x".to_owned()))
        };
        assert_eq!(only("REALTIME_APP_ID"), None);
        assert_eq!(only("REALTIME_APP_SECRET"), None);
        let blank = RealtimeConfig::from_vars(|name| match name {
            "REALTIME_APP_ID" => Some("app".into()),
            _ => Some("  ".into()),
        });
        assert_eq!(blank, None);
        let both = RealtimeConfig::from_vars(|name| match name {
            "REALTIME_APP_ID" | "REALTIME_APP_SECRET" => Some("x".into()),
            "REALTIME_API_URL" => Some("ftp://elsewhere".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(both.api_url, DEFAULT_API_URL);
        assert_eq!(both.timeout_ms, DEFAULT_TIMEOUT_MS);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("app1"));
    }

    #[test]
    fn calls_have_the_schema_paths_methods_and_bodies() {
        let config = config();
        assert_eq!(
            config.url(&ApiCall::NewSession),
            "http://127.0.0.1:9000/v1/apps/app1/sessions/new"
        );
        assert_eq!(ApiCall::NewSession.body(), None);
        let call = publish();
        // A session id cannot leave its path segment.
        assert_eq!(
            config.url(&call),
            "http://127.0.0.1:9000/v1/apps/app1/sessions/sess%2F1/tracks/new"
        );
        assert_eq!(call.method(), Method::Post);
        assert_eq!(
            call.body().unwrap(),
            r#"{"sessionDescription":{"type":"offer","sdp":"v=0"},"tracks":[{"location":"local","mid":"0","trackName":"mic"}]}"#
        );
        let close = ApiCall::force_close("s", ["3".to_owned()]);
        assert_eq!(close.method(), Method::Put);
        assert_eq!(close.path(), "sessions/s/tracks/close");
        assert_eq!(
            close.body().unwrap(),
            r#"{"tracks":[{"mid":"3"}],"force":true}"#
        );
        let renegotiate = ApiCall::Renegotiate {
            session: "s".into(),
            body: RenegotiateRequest {
                session_description: SessionDescription {
                    kind: SdpType::Answer,
                    sdp: "v=0".into(),
                },
            },
        };
        assert_eq!(renegotiate.path(), "sessions/s/renegotiate");
        let state = ApiCall::GetSession {
            session: "sess/1".into(),
        };
        assert_eq!(
            config.url(&state),
            "http://127.0.0.1:9000/v1/apps/app1/sessions/sess%2F1"
        );
        assert_eq!((state.method(), state.body()), (Method::Get, None));
        assert_eq!(
            renegotiate.body().unwrap(),
            r#"{"sessionDescription":{"type":"answer","sdp":"v=0"}}"#
        );
        let read = ApiCall::GetSession {
            session: "s/1".into(),
        };
        assert_eq!(
            (read.method(), read.path(), read.body()),
            (Method::Get, "sessions/s%2F1".to_owned(), None)
        );
        let update = ApiCall::UpdateTracks {
            session: "s".into(),
            body: TracksRequest {
                session_description: None,
                tracks: vec![TrackObject {
                    location: Location::Remote,
                    mid: Some("7".into()),
                    session_id: Some("other".into()),
                    track_name: "camera".into(),
                    simulcast: Some(Simulcast::preferring("h")),
                }],
            },
        };
        assert_eq!(
            (update.method(), update.path()),
            (Method::Put, "sessions/s/tracks/update".to_owned())
        );
        assert_eq!(
            update.body().unwrap(),
            r#"{"tracks":[{"location":"remote","mid":"7","sessionId":"other","trackName":"camera","simulcast":{"preferredRid":"h","priorityOrdering":"asciibetical","ridNotAvailable":"asciibetical"}}]}"#
        );
    }

    #[test]
    fn a_sessions_state_says_where_each_track_is_and_whether_it_is_active() {
        let body = r#"{"tracks":[
            {"location":"local","mid":"0","trackName":"camera","status":"active"},
            {"location":"remote","mid":"3","sessionId":"other","trackName":"camera",
             "simulcast":{"preferredRid":"l"},"status":"inactive"}],"dataChannels":[]}"#;
        let read = ApiCall::GetSession {
            session: "s".into(),
        };
        let state = config().interpret(&read, 200, body).unwrap();
        let seen: Vec<_> = (state.tracks.iter())
            .map(|t| {
                (
                    t.location.as_deref(),
                    t.status.as_deref(),
                    t.session_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (Some("local"), Some("active"), None),
                (Some("remote"), Some("inactive"), Some("other"))
            ]
        );
    }

    #[test]
    fn each_tracks_error_is_read_not_only_the_status() {
        let body = r#"{"requiresImmediateRenegotiation":false,
            "sessionDescription":{"type":"answer","sdp":"v=0 answer"},
            "tracks":[{"mid":"0","trackName":"mic"},
                      {"mid":"1","trackName":"camera","errorCode":"bad_mid","errorDescription":"no such\nmid"}]}"#;
        let answer = config().interpret(&publish(), 200, body).unwrap();
        assert_eq!(answer.session_description.unwrap().sdp, "v=0 answer");
        assert_eq!(answer.tracks[0].error, None);
        assert_eq!(
            answer.tracks[1].error.as_deref(),
            Some("bad_mid: no such mid")
        );
    }

    #[test]
    fn a_sessions_state_says_which_tracks_are_inactive() {
        let call = ApiCall::GetSession {
            session: "s".into(),
        };
        let body = r#"{"tracks":[
            {"location":"local","mid":"0","trackName":"camera","status":"active"},
            {"location":"remote","mid":"1","sessionId":"t","trackName":"mic","status":"inactive"},
            {"location":"remote","mid":"2","sessionId":"t","trackName":"camera","status":"waiting"}],
            "dataChannels":[]}"#;
        let state = config().interpret(&call, 200, body).unwrap();
        let seen: Vec<_> = (state.tracks.iter())
            .map(|t| (t.mid.as_deref().unwrap(), t.inactive()))
            .collect();
        assert_eq!(seen, [("0", false), ("1", true), ("2", false)]);
        assert_eq!(
            config().interpret(&call, 410, r#"{"errorCode":"session_error"}"#),
            Err(ApiFailure::SessionGone)
        );
    }

    #[test]
    fn failures_are_told_apart() {
        let config = config();
        let refused = r#"{"errorCode":"invalid_request","errorDescription":"bad sdp"}"#;
        assert_eq!(
            config.interpret(&publish(), 200, refused),
            Err(ApiFailure::Refused("invalid_request: bad sdp".into()))
        );
        assert_eq!(
            config.interpret(&publish(), 400, refused),
            Err(ApiFailure::Refused("invalid_request: bad sdp".into()))
        );
        assert_eq!(
            config.interpret(&publish(), 403, "<html>"),
            Err(ApiFailure::Refused("http_403".into()))
        );
        let expired = r#"{"errorCode":"session_error","errorDescription":"expired"}"#;
        assert_eq!(
            config.interpret(&publish(), 410, expired),
            Err(ApiFailure::SessionGone)
        );
        assert_eq!(
            config.interpret(&publish(), 400, expired),
            Err(ApiFailure::SessionGone)
        );
        // An unknown app is not a lost session.
        let no_app = r#"{"errorCode":"not_found","errorDescription":"The SFU app was not found"}"#;
        assert_eq!(
            config.interpret(&publish(), 404, no_app),
            Err(ApiFailure::Refused(
                "not_found: The SFU app was not found".into()
            ))
        );
        assert!(matches!(
            config.interpret(&ApiCall::NewSession, 410, ""),
            Err(ApiFailure::Refused(_))
        ));
        assert!(matches!(
            config.interpret(&publish(), 502, "bad gateway"),
            Err(ApiFailure::Unavailable(_))
        ));
        assert!(matches!(
            config.interpret(&publish(), 200, "not json"),
            Err(ApiFailure::Unavailable(_))
        ));
        let session = config
            .interpret(&ApiCall::NewSession, 201, r#"{"sessionId":"abc"}"#)
            .unwrap();
        assert_eq!(session.session_id.as_deref(), Some("abc"));
        assert_eq!(
            config.interpret(&publish(), 200, ""),
            Ok(ApiAnswer::default())
        );
    }

    #[test]
    fn errors_passed_on_are_short_and_never_hold_the_secret() {
        let config = config();
        let echo =
            r#"{"errorCode":"unauthorized","errorDescription":"Bearer s3cret-value is not valid"}"#;
        let Err(ApiFailure::Refused(message)) = config.interpret(&publish(), 401, echo) else {
            panic!()
        };
        assert!(!message.contains("s3cret"), "{message}");
        let long = format!(
            r#"{{"errorCode":"x","errorDescription":"{}"}}"#,
            "é".repeat(500)
        );
        let Err(ApiFailure::Refused(message)) = config.interpret(&publish(), 400, &long) else {
            panic!()
        };
        assert_eq!(message.chars().count(), DESCRIPTION_CHARS + 1);
    }
}
