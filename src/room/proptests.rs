//! Property tests: whatever a client sends, the room never panics, and every refusal is one
//! `error` frame to the sender with a code from the contract.
use proptest::prelude::*;
use serde_json::{json, Value};

use super::relay::sfu::Published;
use super::relay::{
    on_frame, Conn, Incoming, Knock, Member, Outcome, RoomIo, RoomView, SfuSession, Target,
};
use crate::config::Limits;
use crate::protocol::{MediaMode, PeerInfo, TrackKind};

const CODES: &[&str] = &[
    "bad_message",
    "too_large",
    "not_joined",
    "already_joined",
    "bad_nick",
    "bad_chat",
    "unknown_peer",
    "chat_only",
    "rate_limited",
    "room_full",
    "forbidden",
    "removed",
    "denied",
    "knock_limit",
    "not_sfu",
    "no_session",
    "no_track",
    "already_published",
];

struct Io;

impl RoomIo for Io {
    fn now_ms(&self) -> u64 {
        1_000
    }
    fn random_id(&self) -> String {
        "0123456789abcdef".to_owned()
    }
    fn history(&self) -> Vec<Box<serde_json::value::RawValue>> {
        vec![]
    }
    fn departed(&self, _token: &str) -> Option<Member> {
        None
    }
    fn ice(&self, _member_id: &str) -> crate::ice::IceAnswer {
        crate::ice::IceConfig::from_vars(|_| None).stun_only()
    }
    fn host_may_return(&self) -> bool {
        false
    }
    fn is_removed(&self, browser: &str) -> bool {
        browser == "0123456789abcdef"
    }
    fn take_knock(&self) -> bool {
        true
    }
}

fn member(id: &str) -> Member {
    let peer = PeerInfo {
        id: id.into(),
        nick: id.into(),
        muted: false,
        camera: true,
        screen: false,
        joined_at: 0,
        // The people of a test room: one who can be called, one chat-only.
        webrtc: id != "c",
        host: id == "a",
        hand: None,
        tracks: vec![],
    };
    let mut member = Member {
        peer,
        resume: format!("token-{id}"),
        browser: None,
        sfu: None,
    };
    // Everyone who can be called has a session on the SFU, publishing their camera.
    if member.peer.webrtc {
        member.sfu = Some(SfuSession {
            id: format!("session-{id}"),
            published: vec![Published {
                kind: TrackKind::Camera,
                mid: "1".into(),
            }],
        });
        member.peer.tracks = vec![TrackKind::Camera];
    }
    member
}

/// Runs one frame as a fresh socket, a host, someone who is not, and someone knocking, in a
/// room that is open and one that is locked with someone at the door, as a mesh and on the
/// SFU, and checks the invariants of each.
fn check(text: &str) -> Result<(), TestCaseError> {
    let limits = Limits {
        max_frame_bytes: 4096,
        mesh_max: 2,
        ..Limits::default().with_sfu()
    };
    let members = [member("b"), member("c")];
    let knock = Knock {
        id: "k".into(),
        nick: "kim".into(),
        webrtc: true,
        browser: None,
        since_ms: 0,
    };
    let host = Conn {
        member: Some(member("a")),
        ..Conn::default()
    };
    let guest = Conn {
        member: Some(member("d")),
        ..Conn::default()
    };
    let knocking = Conn {
        knock: Some(knock.clone()),
        ..Conn::default()
    };
    for (locked, media) in [false, true]
        .into_iter()
        .flat_map(|locked| [MediaMode::Mesh, MediaMode::Sfu].map(|media| (locked, media)))
    {
        let room = RoomView {
            others: members.iter().collect(),
            knocking: if locked { vec![&knock] } else { vec![] },
            locked,
            media,
        };
        for conn in [&Conn::default(), &host, &guest, &knocking] {
            let outcome = on_frame(conn, Incoming::Text(text), &room, &limits, &Io);
            check_outcome(&outcome)?;
        }
    }
    Ok(())
}

fn check_outcome(outcome: &Outcome) -> Result<(), TestCaseError> {
    for send in &outcome.sends {
        let frame: Value = serde_json::from_str(&send.frame).expect("the server sends JSON");
        prop_assert!(frame["type"].is_string());
        if frame["type"] == "sfu" {
            // Before the SFU answers, only a refusal goes back, to the caller alone.
            prop_assert_eq!(&send.to, &Target::Sender);
            prop_assert_eq!(outcome.sends.len(), 1, "a refusal sends only the refusal");
            prop_assert!(frame["req"].is_u64());
            let code = frame["error"]["code"].as_str().unwrap_or_default();
            prop_assert!(CODES.contains(&code), "unknown code {}", code);
            prop_assert!(frame["error"]["message"].is_string());
        }
        if frame["type"] == "error" {
            // A refusal is the sender's alone; a host's answer may close someone else
            // (`denied`, `removed`), who is told why, and is then closed.
            match &send.to {
                Target::Sender => {
                    prop_assert_eq!(outcome.sends.len(), 1, "a refusal sends only the error")
                }
                Target::Peer(id) => {
                    prop_assert!(outcome.close_others.iter().any(|(closed, _)| closed == id))
                }
                other => prop_assert!(false, "an error to {:?}", other),
            }
            let code = frame["code"].as_str().unwrap_or_default();
            prop_assert!(CODES.contains(&code), "unknown code {}", code);
            prop_assert!(frame["message"].is_string());
        }
    }
    Ok(())
}

/// Valid frames of every type, to mutate.
fn valid_frames() -> Vec<String> {
    [
        json!({"type": "join", "nick": "ann", "private": true, "resume": "token-b"}),
        json!({"type": "join", "nick": "ann", "webrtc": false}),
        json!({"type": "chat", "text": "hello\nthere"}),
        json!({"type": "signal", "to": "b", "data": {"description": {"type": "offer", "sdp": "v=0"}}}),
        json!({"type": "signal", "to": "c", "data": {"candidate": {"candidate": "a", "sdpMid": "0"}}}),
        json!({"type": "state", "muted": true, "camera": false, "screen": true}),
        json!({"type": "nick", "nick": "bob"}),
        json!({"type": "join", "nick": "eve", "browser": "0123456789abcdef"}),
        json!({"type": "hand", "raised": false, "id": "b"}),
        json!({"type": "react", "emoji": "🎉"}),
        json!({"type": "lock", "locked": false}),
        json!({"type": "admit", "id": "k"}),
        json!({"type": "deny", "id": "k"}),
        json!({"type": "remove", "id": "b"}),
        json!({"type": "mute", "id": "b"}),
        json!({"type": "mute_all"}),
        json!({"type": "stop_screen", "id": "c"}),
        json!({"type": "ask_unmute", "id": "c"}),
        json!({"type": "host", "id": "a", "host": false}),
        json!({"type": "leave"}),
        json!({"type": "sfu", "req": 1, "call": "session"}),
        json!({"type": "sfu", "req": 2, "call": "publish", "offer": "v=0", "tracks": [{"mid": "0", "kind": "mic"}]}),
        json!({"type": "sfu", "req": 3, "call": "subscribe", "tracks": [{"id": "b", "kind": "camera"}]}),
        json!({"type": "sfu", "req": 4, "call": "renegotiate", "answer": "v=0"}),
        json!({"type": "sfu", "req": 5, "call": "close", "mids": ["1"], "offer": "v=0"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect()
}

/// A JSON value of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        check(&text)?;
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        which in 0usize..25,
        cut in any::<prop::sample::Index>(),
        insert in any::<prop::sample::Index>(),
        noise in "\\PC{0,4}",
        truncate in any::<bool>(),
    ) {
        let mut frame = valid_frames()[which].clone();
        let at = |i: prop::sample::Index, s: &str| {
            let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
            boundaries[i.index(boundaries.len())]
        };
        if truncate {
            frame.truncate(at(cut, &frame));
        }
        let pos = at(insert, &frame);
        frame.insert_str(pos, &noise);
        check(&frame)?;
    }

    #[test]
    fn frames_of_the_right_types_with_wrong_fields_never_panic(
        kind in prop::sample::select(vec![
            "join", "chat", "signal", "state", "nick", "leave", "hand", "react", "lock", "admit",
            "deny", "remove", "mute", "mute_all", "stop_screen", "ask_unmute", "host", "sfu",
            "other",
        ]),
        fields in prop::collection::btree_map(
            prop::sample::select(vec![
                "nick", "text", "to", "data", "muted", "camera", "screen", "private", "resume",
                "webrtc", "from", "browser", "raised", "id", "emoji", "locked", "host", "req",
                "call", "offer", "answer", "tracks", "mids",
            ]),
            any_json(),
            0..5,
        ),
    ) {
        let mut frame = serde_json::Map::new();
        frame.insert("type".into(), kind.into());
        frame.extend(fields.into_iter().map(|(k, v)| (k.to_owned(), v)));
        check(&Value::Object(frame).to_string())?;
    }
}
