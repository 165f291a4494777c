//! Property tests: whatever a client sends, the room never panics, and every refusal is one
//! `error` frame to the sender with a code from the contract.
use proptest::prelude::*;
use serde_json::{json, Value};

use super::relay::{on_frame, Conn, Incoming, Member, Outcome, RoomIo, Target};
use crate::config::Limits;
use crate::protocol::PeerInfo;

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
    };
    Member {
        peer,
        resume: format!("token-{id}"),
    }
}

/// Runs one frame as a joined and as a fresh socket and checks the invariants of both.
fn check(text: &str) -> Result<(), TestCaseError> {
    let limits = Limits {
        max_frame_bytes: 4096,
        ..Limits::default()
    };
    let members = [member("b"), member("c")];
    let others: Vec<_> = members.iter().collect();
    for conn in [
        Conn::default(),
        Conn {
            member: Some(member("a")),
            ..Conn::default()
        },
    ] {
        let outcome = on_frame(&conn, Incoming::Text(text), &others, &limits, &Io);
        check_outcome(&outcome)?;
    }
    Ok(())
}

fn check_outcome(outcome: &Outcome) -> Result<(), TestCaseError> {
    for send in &outcome.sends {
        let frame: Value = serde_json::from_str(&send.frame).expect("the server sends JSON");
        prop_assert!(frame["type"].is_string());
        if frame["type"] == "error" {
            prop_assert_eq!(&send.to, &Target::Sender);
            prop_assert_eq!(outcome.sends.len(), 1, "a refusal sends only the error");
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
        json!({"type": "leave"}),
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
        which in 0usize..8,
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
        kind in prop::sample::select(vec!["join", "chat", "signal", "state", "nick", "leave", "other"]),
        fields in prop::collection::btree_map(
            prop::sample::select(vec!["nick", "text", "to", "data", "muted", "camera", "screen", "private", "resume", "webrtc", "from"]),
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
