//! The wire types: every frame a room socket carries, as Rust types. docs/protocol.md is the
//! prose for the same thing; a change here changes the spec there.
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::ice::IceAnswer;

/// What a client may send to a room. Unknown fields are ignored (so a forged `from` or `ts`
/// never reaches anyone: the server builds every outgoing frame itself). Read with
/// [`ClientFrame::parse`], which borrows a signal's `data` from the frame's text.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame<'a> {
    Join {
        nick: String,
        #[serde(default)]
        private: bool,
        #[serde(default)]
        resume: Option<String>,
        /// Whether the joiner's browser can make calls: one without WebRTC (or with it turned
        /// off) joins chat-only with `false`, and nobody tries to call it. Absent means true.
        #[serde(default = "yes", deserialize_with = "webrtc_flag")]
        webrtc: bool,
        /// A random key the page keeps, so that a person a host removed cannot simply walk
        /// back in from the same browser (best effort: docs/security.md).
        #[serde(default, deserialize_with = "browser_key")]
        browser: Option<String>,
    },
    Chat {
        text: String,
    },
    /// Parsed by `parse` on its own: serde cannot keep a `RawValue` inside an internally
    /// tagged enum (it buffers the fields first, and the raw text is lost).
    #[serde(skip_deserializing)]
    Signal {
        to: String,
        /// An SDP description or ICE candidate, as the text it came as: relayed byte for byte,
        /// never parsed into a tree and printed again.
        data: &'a RawValue,
    },
    State {
        muted: Option<bool>,
        camera: Option<bool>,
        screen: Option<bool>,
    },
    Nick {
        nick: String,
    },
    /// Asks for fresh ICE servers (the TURN credentials expire): answered with `ice`.
    Ice,
    /// Raises or lowers my hand; a host may lower someone else's (`id`).
    Hand {
        raised: bool,
        #[serde(default)]
        id: Option<String>,
    },
    React {
        emoji: String,
    },
    // What only a host may do (docs/protocol.md, "Hosts").
    Lock {
        locked: bool,
    },
    Admit {
        id: String,
    },
    Deny {
        id: String,
    },
    Remove {
        id: String,
    },
    Mute {
        id: String,
    },
    MuteAll,
    StopScreen {
        id: String,
    },
    AskUnmute {
        id: String,
    },
    /// Makes someone a host, or (my own id, `false`) gives the role up.
    Host {
        id: String,
        host: bool,
    },
    Leave,
    /// A call to the SFU (docs/protocol.md, "Rooms that grow"). Parsed by `parse` on its own,
    /// like `Signal`: its fields sit beside `type`, and its `call` is a second tag.
    #[serde(skip_deserializing)]
    Sfu(SfuRequest),
}

impl<'a> ClientFrame<'a> {
    /// Reads a frame in two steps: its `type` first, then a signal as [`SignalFrame`] and
    /// anything else as the enum. The first step reads past the other fields without keeping
    /// them, which costs far less than turning a signal's SDP into a tree and back.
    pub fn parse(text: &'a str) -> serde_json::Result<Self> {
        let Tagged { kind } = serde_json::from_str(text)?;
        match &*kind {
            "signal" => {
                let SignalFrame { to, data } = serde_json::from_str(text)?;
                Ok(ClientFrame::Signal { to, data })
            }
            "sfu" => serde_json::from_str(text).map(ClientFrame::Sfu),
            _ => serde_json::from_str(text),
        }
    }
}

/// Just a frame's `type` (a `Cow`: the text may escape its characters).
#[derive(Deserialize)]
struct Tagged<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// A `signal`, on its own (see [`ClientFrame::parse`]).
#[derive(Deserialize)]
struct SignalFrame<'a> {
    to: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// An `sfu` frame: the client's request number, echoed in the answer, and the call. Only the
/// shape is checked here; `room::relay::sfu` checks the rest (counts, mids, duplicates).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SfuRequest {
    pub req: u32,
    #[serde(flatten)]
    pub call: SfuCall,
}

/// What a member asks of the SFU, always about its own session (the room fills in the ids).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum SfuCall {
    /// A new session, replacing any this member had.
    Session,
    /// Publish the offer's transceivers as these kinds.
    Publish {
        offer: String,
        tracks: Vec<PublishTrack>,
    },
    /// Receive these members' tracks.
    Subscribe { tracks: Vec<SubscribeTrack> },
    /// Receive another layer of cameras I receive already.
    Layer { tracks: Vec<LayerTrack> },
    /// The answer to an offer the SFU made.
    Renegotiate { answer: String },
    /// Close these transceivers; with an offer the close is negotiated, without it forced.
    Close {
        mids: Vec<String>,
        #[serde(default)]
        offer: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PublishTrack {
    pub mid: String,
    pub kind: TrackKind,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubscribeTrack {
    /// The member whose track this is.
    pub id: String,
    pub kind: TrackKind,
    /// The layer wanted of a camera (none: the SFU's choice).
    #[serde(default)]
    pub layer: Option<Layer>,
}

/// A camera received already, and the layer now wanted of it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LayerTrack {
    /// The member whose camera this is.
    pub id: String,
    pub kind: TrackKind,
    pub layer: Layer,
}

/// A layer of a camera published with simulcast (docs/protocol.md, "Simulcast"): the picture
/// as captured, or at half its width and height. Only cameras have layers: a screen is
/// published as one picture, and sound has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    High,
    Low,
}

impl Layer {
    /// The RTP stream id (`rid`) the camera's encoding of this layer has. In a-z order, the
    /// high layer first: the SFU's fallback order (`asciibetical`) goes from the first down.
    pub fn rid(self) -> &'static str {
        match self {
            Layer::High => "h",
            Layer::Low => "l",
        }
    }
}

/// What a member can publish on the SFU; also the track's name there (names are per session).
/// Declared in the order lists of kinds are kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    Mic,
    Camera,
    Screen,
}

impl TrackKind {
    pub fn name(self) -> &'static str {
        match self {
            TrackKind::Mic => "mic",
            TrackKind::Camera => "camera",
            TrackKind::Screen => "screen",
        }
    }
}

/// How a room carries media: browser to browser, or through the SFU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    #[default]
    Mesh,
    Sfu,
}

/// One track in the answer to an `sfu` call: what became of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SfuTrack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// The member whose track it is (subscriptions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<TrackKind>,
    /// Why the SFU refused this track: its error code and description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why an `sfu` call was refused, in its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SfuError<'a> {
    pub code: ErrorCode,
    pub message: &'a str,
}

/// The reactions there are: a fixed set, so that a reaction cannot carry a message.
pub const REACTIONS: [&str; 6] = ["👍", "👏", "😂", "😮", "🎉", "❤️"];

/// A participant as the others see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerInfo {
    pub id: String,
    pub nick: String,
    pub muted: bool,
    pub camera: bool,
    pub screen: bool,
    /// Unix milliseconds.
    pub joined_at: u64,
    /// Whether this person can be called; `false`: chat-only (see `ClientFrame::Join`). True
    /// for people recorded before the field existed.
    #[serde(default = "yes")]
    pub webrtc: bool,
    /// Whether this person is a host of the room (docs/protocol.md, "Hosts").
    #[serde(default)]
    pub host: bool,
    /// When this person raised their hand (unix ms), while it is up.
    #[serde(default)]
    pub hand: Option<u64>,
    /// What this person publishes on the SFU now (always empty in a mesh), in `TrackKind`
    /// order. Empty for people recorded before the field existed.
    #[serde(default)]
    pub tracks: Vec<TrackKind>,
}

/// Someone waiting at a locked room's door, as hosts see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knocker {
    pub id: String,
    pub nick: String,
}

/// How a knock ended, for the hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockOutcome {
    Admitted,
    Denied,
    /// The knocker gave up, lost their connection or timed out.
    Left,
}

fn yes() -> bool {
    true
}

/// `webrtc` must be a boolean; anything else is refused with a message that names the field
/// (serde's own says only "expected a boolean").
fn webrtc_flag<'de, D: Deserializer<'de>>(value: D) -> Result<bool, D::Error> {
    bool::deserialize(value).map_err(|_| serde::de::Error::custom("`webrtc` must be true or false"))
}

/// `browser` is 16 to 64 characters of lowercase hex: a random key, nothing else.
fn browser_key<'de, D: Deserializer<'de>>(value: D) -> Result<Option<String>, D::Error> {
    let key = String::deserialize(value).ok().filter(|key| {
        (16..=64).contains(&key.len())
            && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    key.map(Some)
        .ok_or_else(|| serde::de::Error::custom("`browser` must be 16 to 64 characters of 0-9a-f"))
}

/// The limits a client needs to know, sent in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientLimits {
    pub max_peers: usize,
    pub max_nick_chars: usize,
    pub max_chat_chars: usize,
    pub max_frame_bytes: usize,
}

/// What a room sends. Built only by the server, serialised once per fan-out.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Welcome {
        /// Me as the others see me.
        you: &'a PeerInfo,
        peers: &'a [PeerInfo],
        count: usize,
        resume: &'a str,
        /// Whether `join` took back an earlier id with its resume token.
        resumed: bool,
        /// Earlier `chat` frames, oldest first, as they were sent.
        history: &'a [Box<RawValue>],
        limits: ClientLimits,
        /// STUN and, when configured, TURN with credentials for this member.
        ice: &'a IceAnswer,
        locked: bool,
        /// Who is waiting to be let in: for a host; empty for everyone else.
        knocking: &'a [Knocker],
        media: MediaMode,
    },
    /// The room moved to the SFU, to everyone already in it.
    Media {
        mode: MediaMode,
    },
    /// What a member publishes on the SFU now, after a change.
    Tracks {
        id: &'a str,
        tracks: &'a [TrackKind],
    },
    /// The answer to an `sfu` call: the SFU's session description, if it sent one (`answer` or
    /// `offer` by its type), whether the client must renegotiate, and each track's result.
    #[serde(rename = "sfu")]
    SfuAnswer {
        req: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        offer: Option<&'a str>,
        renegotiate: bool,
        tracks: &'a [SfuTrack],
    },
    /// An `sfu` call refused, by the room or by the SFU.
    #[serde(rename = "sfu")]
    SfuRefused {
        req: u32,
        error: SfuError<'a>,
    },
    PeerJoined {
        peer: &'a PeerInfo,
        count: usize,
    },
    PeerLeft {
        id: &'a str,
        nick: &'a str,
        count: usize,
    },
    Chat {
        from: &'a str,
        nick: &'a str,
        text: &'a str,
        ts: u64,
    },
    Signal {
        from: &'a str,
        data: &'a RawValue,
    },
    State {
        id: &'a str,
        muted: bool,
        camera: bool,
        screen: bool,
        /// The host who changed it (muted them, stopped their share); absent when the
        /// person did.
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<&'a str>,
    },
    Nick {
        id: &'a str,
        nick: &'a str,
    },
    /// A host asks the person it goes to to unmute.
    AskUnmute {
        by: &'a str,
    },
    Hand {
        id: &'a str,
        hand: Option<u64>,
        by: &'a str,
    },
    Reaction {
        from: &'a str,
        emoji: &'a str,
    },
    /// Someone became host or gave it up; `by` is `None` when the room handed the role on.
    Host {
        id: &'a str,
        host: bool,
        by: Option<&'a str>,
    },
    /// The room was locked or unlocked; `by` is `None` when the room unlocked itself.
    Room {
        locked: bool,
        by: Option<&'a str>,
    },
    /// To a knocker: the room is locked, wait for a host.
    Knocking,
    /// To the hosts: someone knocks.
    Knock(&'a Knocker),
    KnockEnded {
        id: &'a str,
        outcome: KnockOutcome,
    },
    /// Fresh ICE servers, to the member who asked.
    Ice(&'a IceAnswer),
    Error {
        code: ErrorCode,
        message: &'a str,
        /// The nickname of the host who did it (`removed`, `denied`), so that the client can
        /// name them in its own language: `message` is English.
        #[serde(rename = "hostNick", skip_serializing_if = "Option::is_none")]
        host_nick: Option<&'a str>,
    },
}

impl ServerFrame<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

/// Why a frame was refused. The socket stays open unless `close_code` says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, an unknown `type`, a missing or mistyped field, a binary frame.
    BadMessage,
    /// The frame is over `MAX_FRAME_BYTES`: refused and the socket closed with 1009.
    TooLarge,
    /// A frame other than `join` before `join`.
    NotJoined,
    /// A second `join` on a joined socket.
    AlreadyJoined,
    /// Empty, too long, holding invisible, formatting or control characters, piling up
    /// accents, or mixing lookalike alphabets (`text::nickname`).
    BadNick,
    /// Looks like the nickname of someone in the room (`text::lookalike_key`).
    NickTaken,
    /// Showing nothing, too long, or holding control characters other than newline and tab.
    BadChat,
    /// A `signal` to a peer that is not (or no longer) in the room, or to oneself.
    UnknownPeer,
    /// A `signal` to or from someone who joined chat-only (`"webrtc": false`): no call can
    /// be made with them.
    ChatOnly,
    RateLimited,
    /// The room is at capacity: refused and the socket closed with 4001 (a host admitting
    /// someone into a full room keeps theirs).
    RoomFull,
    /// A host action from someone who is not a host, or taking the role from another host.
    Forbidden,
    /// A host removed me, or this browser was removed from the room: closed with 4003.
    Removed,
    /// A host turned my knock away: closed with 4007.
    Denied,
    /// Too many people knocking at once, or the room took too many knocks: closed with 4008.
    KnockLimit,
    // The refusals of `sfu` calls, in their answer (docs/protocol.md, "Errors of `sfu` calls").
    /// The room is a mesh.
    NotSfu,
    /// The call needs the member's session, and there is none (or it was replaced meanwhile).
    NoSession,
    /// The SFU no longer knows the member's session.
    SessionGone,
    /// A subscription to a kind that member does not publish.
    NoTrack,
    /// A publish of a kind the member publishes already.
    AlreadyPublished,
    /// The SFU refused the call.
    SfuRefused,
    /// The SFU could not be reached, timed out, failed, or answered unreadably.
    SfuUnavailable,
}

/// Close codes the room uses (docs/protocol.md lists them).
pub mod close {
    pub const NORMAL: u16 = 1000;
    /// A lobby socket sent something other than `ping`.
    pub const POLICY: u16 = 1008;
    pub const TOO_LARGE: u16 = 1009;
    pub const ROOM_FULL: u16 = 4001;
    pub const RATE_LIMITED: u16 = 4002;
    pub const REMOVED: u16 = 4003;
    pub const REPLACED: u16 = 4004;
    pub const TIMED_OUT: u16 = 4005;
    pub const JOIN_TIMEOUT: u16 = 4006;
    pub const DENIED: u16 = 4007;
    pub const KNOCK_LIMIT: u16 = 4008;
    pub const KNOCK_TIMEOUT: u16 = 4009;

    /// The code to close our side with after a client closed. The reserved codes (1005 no
    /// status, 1006 abnormal, 1015 TLS) may not be sent, and a close that is not echoed at
    /// all makes the client see 1006.
    pub fn echo(code: usize) -> u16 {
        match code {
            1005 | 1006 | 1015 => NORMAL,
            code => u16::try_from(code).unwrap_or(NORMAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_client_frame() {
        let join = ClientFrame::parse(r#"{"type":"join","nick":"ann"}"#).unwrap();
        assert!(
            matches!(join, ClientFrame::Join { ref nick, private: false, resume: None, webrtc: true, browser: None } if nick == "ann")
        );
        let chat_only =
            ClientFrame::parse(r#"{"type":"join","nick":"ann","webrtc":false}"#).unwrap();
        assert!(matches!(chat_only, ClientFrame::Join { webrtc: false, .. }));
        let signal =
            ClientFrame::parse(r#"{"type":"signal","to":"b","from":"forged","data":{"sdp":"x"}}"#)
                .unwrap();
        let ClientFrame::Signal { to, data } = signal else {
            panic!()
        };
        assert_eq!((to.as_str(), data.get()), ("b", r#"{"sdp":"x"}"#));
        let state = ClientFrame::parse(r#"{"type":"state","muted":true}"#).unwrap();
        assert!(matches!(
            state,
            ClientFrame::State {
                muted: Some(true),
                camera: None,
                screen: None
            }
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"leave"}"#).unwrap(),
            ClientFrame::Leave
        ));
    }

    #[test]
    fn parses_the_frames_of_hosts_hands_and_reactions() {
        let parse = |text: &'static str| ClientFrame::parse(text).unwrap();
        assert!(matches!(
            parse(r#"{"type":"hand","raised":true}"#),
            ClientFrame::Hand {
                raised: true,
                id: None
            }
        ));
        assert!(matches!(
            parse(r#"{"type":"hand","raised":false,"id":"b"}"#),
            ClientFrame::Hand { raised: false, id: Some(ref id) } if id == "b"
        ));
        assert!(matches!(
            parse(r#"{"type":"mute_all"}"#),
            ClientFrame::MuteAll
        ));
        assert!(matches!(
            parse(r#"{"type":"host","id":"b","host":true}"#),
            ClientFrame::Host { host: true, .. }
        ));
        assert!(matches!(
            parse(r#"{"type":"stop_screen","id":"b"}"#),
            ClientFrame::StopScreen { ref id } if id == "b"
        ));
        for bad in [
            r#"{"type":"lock"}"#,
            r#"{"type":"lock","locked":1}"#,
            r#"{"type":"admit","id":7}"#,
            r#"{"type":"host","id":"b"}"#,
            r#"{"type":"hand"}"#,
            r#"{"type":"react"}"#,
        ] {
            assert!(ClientFrame::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_unknown_types_and_mistyped_fields() {
        for bad in [
            r#"{"type":"shout","text":"x"}"#,
            r#"{"type":"chat","text":7}"#,
            r#"{"type":"chat"}"#,
            r#"{"text":"no type"}"#,
            r#"["chat"]"#,
            r#"{"type":"state","muted":"yes"}"#,
        ] {
            assert!(ClientFrame::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_webrtc_flag_that_is_not_a_boolean_is_refused_by_name() {
        for bad in [r#""no""#, "0", "null", "[]", "{}"] {
            let frame = format!(r#"{{"type":"join","nick":"ann","webrtc":{bad}}}"#);
            let error = ClientFrame::parse(&frame).unwrap_err();
            assert!(
                error.to_string().contains("`webrtc` must be true or false"),
                "{frame}: {error}"
            );
        }
    }

    #[test]
    fn a_peer_recorded_before_the_webrtc_field_can_be_called() {
        let old =
            r#"{"id":"a","nick":"ann","muted":false,"camera":true,"screen":false,"joinedAt":1}"#;
        assert!(serde_json::from_str::<PeerInfo>(old).unwrap().webrtc);
    }

    #[test]
    fn a_client_close_is_echoed_unless_reserved_or_out_of_range() {
        for (code, echoed) in [
            (1000, 1000),
            (1001, 1001),
            (4000, 4000),
            (4999, 4999),
            (1005, close::NORMAL),
            (1006, close::NORMAL),
            (1015, close::NORMAL),
            (65_535, 65_535),
            (65_536, close::NORMAL),
            (1_000_000, close::NORMAL),
        ] {
            assert_eq!(close::echo(code), echoed, "{code}");
        }
    }

    #[test]
    fn server_frames_have_the_contract_shape() {
        let data = RawValue::from_string(r#"{"candidate":"c"}"#.into()).unwrap();
        assert_eq!(
            ServerFrame::Signal {
                from: "a",
                data: &data
            }
            .to_json(),
            r#"{"type":"signal","from":"a","data":{"candidate":"c"}}"#
        );
        assert_eq!(
            ServerFrame::Error {
                code: ErrorCode::UnknownPeer,
                message: "gone",
                host_nick: None,
            }
            .to_json(),
            r#"{"type":"error","code":"unknown_peer","message":"gone"}"#
        );
        assert_eq!(
            ServerFrame::Error {
                code: ErrorCode::Denied,
                message: "Ann did not let you in",
                host_nick: Some("Ann"),
            }
            .to_json(),
            r#"{"type":"error","code":"denied","message":"Ann did not let you in","hostNick":"Ann"}"#
        );
        assert_eq!(
            ServerFrame::Host {
                id: "a",
                host: true,
                by: None
            }
            .to_json(),
            r#"{"type":"host","id":"a","host":true,"by":null}"#
        );
        assert_eq!(ServerFrame::Knocking.to_json(), r#"{"type":"knocking"}"#);
        assert_eq!(
            ServerFrame::KnockEnded {
                id: "k",
                outcome: KnockOutcome::Left
            }
            .to_json(),
            r#"{"type":"knock_ended","id":"k","outcome":"left"}"#
        );
        assert_eq!(
            ServerFrame::PeerLeft {
                id: "a",
                nick: "ann",
                count: 2
            }
            .to_json(),
            r#"{"type":"peer_left","id":"a","nick":"ann","count":2}"#
        );
    }
}
