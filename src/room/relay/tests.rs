//! The relay's rules, tested natively against a fake `RoomIo`: what each frame causes, for
//! whom, and what the sender's socket remembers afterwards.
use super::*;
use crate::ice::IceConfig;
use serde_json::{json, Value};
use std::cell::Cell;

struct FakeIo {
    next_id: Cell<u32>,
    now_ms: Cell<u64>,
    history: Vec<&'static str>,
    departed: Vec<Member>,
    /// A host lost their connection and may still come back.
    host_away: bool,
    /// Browser keys a host removed.
    removed: Vec<&'static str>,
    /// Knocks the room's budget still allows.
    knocks_left: Cell<u32>,
}

impl FakeIo {
    fn new() -> Self {
        Self {
            next_id: Cell::new(0),
            now_ms: Cell::new(1_700_000_000_000),
            history: vec![],
            departed: vec![],
            host_away: false,
            removed: vec![],
            knocks_left: Cell::new(u32::MAX),
        }
    }
}

impl RoomIo for FakeIo {
    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }
    fn random_id(&self) -> String {
        self.next_id.set(self.next_id.get() + 1);
        format!("id{}", self.next_id.get())
    }
    fn history(&self) -> Vec<Box<RawValue>> {
        self.history
            .iter()
            .map(|h| RawValue::from_string(h.to_string()).unwrap())
            .collect()
    }
    fn departed(&self, token: &str) -> Option<Member> {
        self.departed.iter().find(|m| m.resume == token).cloned()
    }
    fn ice(&self, member_id: &str) -> IceAnswer {
        let vars = |name: &str| match name {
            "TURN_URLS" => Some("turn:turn.example".to_owned()),
            "TURN_SECRET" => Some("s3cret".to_owned()),
            _ => None,
        };
        IceConfig::from_vars(vars).for_member(self.now_ms() / 1000, member_id)
    }
    fn host_may_return(&self) -> bool {
        self.host_away
    }
    fn is_removed(&self, browser: &str) -> bool {
        self.removed.contains(&browser)
    }
    fn take_knock(&self) -> bool {
        let left = self.knocks_left.get();
        self.knocks_left.set(left.saturating_sub(1));
        left > 0
    }
}

fn conn(member: Option<&Member>) -> Conn {
    Conn {
        member: member.cloned(),
        ..Conn::default()
    }
}

fn member(id: &str, nick: &str) -> Member {
    Member {
        peer: PeerInfo {
            id: id.into(),
            nick: nick.into(),
            muted: false,
            camera: true,
            screen: false,
            joined_at: 1,
            webrtc: true,
            host: false,
            hand: None,
            tracks: vec![],
        },
        resume: format!("resume-{id}"),
        browser: None,
        sfu: None,
    }
}

/// Someone who joined without WebRTC.
fn chat_only(id: &str, nick: &str) -> Member {
    let mut member = member(id, nick);
    member.peer.webrtc = false;
    member
}

fn frames(outcome: &Outcome) -> Vec<(Target, Value)> {
    outcome
        .sends
        .iter()
        .map(|s| (s.to.clone(), serde_json::from_str(&s.frame).unwrap()))
        .collect()
}

fn refs(members: &[Member]) -> Vec<&Member> {
    members.iter().collect()
}

fn run(sender: Option<&Member>, text: &str, others: &[Member]) -> Outcome {
    run_with(&FakeIo::new(), sender, text, others)
}

/// `run` with a prepared `io` (history, departed members).
fn run_with(io: &FakeIo, sender: Option<&Member>, text: &str, others: &[Member]) -> Outcome {
    step(io, &conn(sender), text, others)
}

/// An unlocked room with `others` in it and nobody at the door.
fn view(others: &[Member]) -> RoomView<'_> {
    RoomView {
        others: refs(others),
        knocking: vec![],
        locked: false,
        media: MediaMode::Mesh,
    }
}

/// One text frame from a socket whose attachment is `state`, under the default limits.
fn step(io: &FakeIo, state: &Conn, text: &str, others: &[Member]) -> Outcome {
    on_frame(
        state,
        Incoming::Text(text),
        &view(others),
        &Limits::default(),
        io,
    )
}

const CHAT: &str = r#"{"type":"chat","text":"x"}"#;

fn error_code(outcome: &Outcome) -> String {
    let sends = frames(outcome);
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].0, Target::Sender);
    assert_eq!(sends[0].1["type"], "error");
    sends[0].1["code"].as_str().unwrap().to_owned()
}

#[test]
fn join_welcomes_the_joiner_and_tells_the_others() {
    let mut io = FakeIo::new();
    io.history = vec![r#"{"type":"chat","from":"x","nick":"x","text":"hi","ts":1}"#];
    let others = [member("a", "ann")];
    let outcome = run_with(&io, None, r#"{"type":"join","nick":" bob "}"#, &others);
    let sends = frames(&outcome);
    assert_eq!(sends[0].0, Target::Sender);
    let welcome = &sends[0].1;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(
        (
            welcome["you"]["id"].as_str(),
            welcome["you"]["nick"].as_str()
        ),
        (Some("id1"), Some("bob"))
    );
    assert_eq!(welcome["peers"][0]["id"], "a");
    assert_eq!(welcome["count"], 2);
    assert_eq!(welcome["resume"], "id2id3");
    assert_eq!(welcome["history"][0]["text"], "hi");
    assert_eq!(welcome["limits"]["maxPeers"], 8);
    // TURN credentials for this member, valid from now.
    assert_eq!(
        welcome["ice"]["iceServers"][1]["username"],
        "1700000600:id1"
    );
    assert_eq!(welcome["ice"]["expiresAt"], 1_700_000_600);
    assert_eq!(sends[1].0, Target::Others);
    assert_eq!(sends[1].1["type"], "peer_joined");
    assert_eq!(sends[1].1["peer"]["nick"], "bob");
    assert_eq!(sends[1].1["count"], 2);
    assert!(outcome.count_changed);
    assert_eq!(outcome.conn.member.unwrap().peer.id, "id1");
    assert_eq!(welcome["resumed"], false);
    // Only the first joiner of an empty room can make it private.
    assert!(!outcome.make_private);
    let text = r#"{"type":"join","nick":"cy","private":true}"#;
    assert!(!run(None, text, &others).make_private);
    let first = run(None, r#"{"type":"join","nick":"ann","private":true}"#, &[]);
    assert!(first.make_private);
    let public = run(None, r#"{"type":"join","nick":"ann"}"#, &[]);
    assert!(!public.make_private);
}

#[test]
fn a_full_room_refuses_and_closes() {
    let others: Vec<Member> = (0..8).map(|i| member(&format!("p{i}"), "x")).collect();
    let outcome = run(None, r#"{"type":"join","nick":"late"}"#, &others);
    assert_eq!(error_code(&outcome), "room_full");
    assert_eq!(outcome.close, Some(close::ROOM_FULL));
    assert!(outcome.conn.member.is_none());
}

#[test]
fn chat_goes_to_everyone_stamped_by_the_server() {
    let me = member("a", "ann");
    let outcome = run(
        Some(&me),
        r#"{"type":"chat","text":"hello","from":"forged","nick":"eve","ts":5}"#,
        &[],
    );
    let sends = frames(&outcome);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].0, Target::Everyone);
    assert_eq!(
        sends[0].1,
        json!({"type": "chat", "from": "a", "nick": "ann", "text": "hello", "ts": 1_700_000_000_000u64})
    );
    assert_eq!(
        outcome.chat.as_deref(),
        Some(outcome.sends[0].frame.as_str())
    );
}

#[test]
fn signal_goes_to_exactly_one_peer_with_a_stamped_from() {
    let me = member("a", "ann");
    let others = [member("b", "bob"), member("c", "cy")];
    let outcome = run(
        Some(&me),
        r#"{"type":"signal","to":"b","from":"c","data":{"description":{"type":"offer","sdp":"v=0"}}}"#,
        &others,
    );
    let sends = frames(&outcome);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].0, Target::Peer("b".into()));
    assert_eq!(
        sends[0].1,
        json!({"type": "signal", "from": "a", "data": {"description": {"type": "offer", "sdp": "v=0"}}})
    );
    // Unknown, departed or oneself: refused.
    for to in ["zz", "a"] {
        let text = format!(r#"{{"type":"signal","to":"{to}","data":{{}}}}"#);
        assert_eq!(error_code(&run(Some(&me), &text, &others)), "unknown_peer");
    }
    assert_eq!(
        error_code(&run(
            Some(&me),
            r#"{"type":"signal","to":"b","data":"x"}"#,
            &others
        )),
        "bad_message"
    );
}

#[test]
fn signal_data_is_relayed_byte_for_byte() {
    let me = member("a", "ann");
    let others = [member("b", "bob")];
    // Key order, spacing and escapes as the sender wrote them (a re-print would sort the keys).
    let data = r#"{ "z": 1, "a": {"sdp" : "v=0\r\n\u00e9"}, "m": [1.50, true] }"#;
    let text = format!(r#"{{"type":"signal","to":"b","data":{data}}}"#);
    let outcome = run(Some(&me), &text, &others);
    assert_eq!(outcome.sends.len(), 1);
    assert_eq!(
        outcome.sends[0].frame,
        format!(r#"{{"type":"signal","from":"a","data":{data}}}"#)
    );
    // Only an object is relayed: every other kind of value is refused.
    for data in ["null", "[]", "1", "true", r#""{}""#] {
        let text = format!(r#"{{"type":"signal","to":"b","data":{data}}}"#);
        assert_eq!(
            error_code(&run(Some(&me), &text, &others)),
            "bad_message",
            "{data}"
        );
    }
}

#[test]
fn state_and_nick_update_the_attachment_and_are_relayed() {
    let me = member("a", "ann");
    let outcome = run(Some(&me), r#"{"type":"state","muted":true}"#, &[]);
    let updated = outcome.conn.member.clone().unwrap();
    assert!(updated.peer.muted && updated.peer.camera);
    assert_eq!(
        frames(&outcome),
        vec![(
            Target::Others,
            json!({"type": "state", "id": "a", "muted": true, "camera": true, "screen": false})
        )]
    );
    assert_eq!(
        error_code(&run(Some(&me), r#"{"type":"state"}"#, &[])),
        "bad_message"
    );

    let outcome = run(Some(&me), r#"{"type":"nick","nick":"annie"}"#, &[]);
    assert_eq!(outcome.conn.member.clone().unwrap().peer.nick, "annie");
    assert_eq!(
        frames(&outcome),
        vec![(
            Target::Everyone,
            json!({"type": "nick", "id": "a", "nick": "annie"})
        )]
    );
}

#[test]
fn leave_closes_normally_and_the_others_hear_once() {
    let me = member("a", "ann");
    let outcome = run(Some(&me), r#"{"type":"leave"}"#, &[]);
    assert_eq!(outcome.close, Some(close::NORMAL));
    assert!(outcome.sends.is_empty());
    let left = on_leave(&me, 2);
    assert_eq!(left.to, Target::Others);
    assert_eq!(
        serde_json::from_str::<Value>(&left.frame).unwrap(),
        json!({"type": "peer_left", "id": "a", "nick": "ann", "count": 2})
    );
}

#[test]
fn bad_input_gets_the_right_error_code() {
    let me = member("a", "ann");
    let long_nick = format!(r#"{{"type":"join","nick":"{}"}}"#, "n".repeat(33));
    let long_chat = format!(r#"{{"type":"chat","text":"{}"}}"#, "c".repeat(2001));
    let cases: &[(Option<&Member>, &str, &str)] = &[
        (None, "not json", "bad_message"),
        (None, "[1,2]", "bad_message"),
        (None, r#"{"type":"dance"}"#, "bad_message"),
        (None, r#"{"type":"join"}"#, "bad_message"),
        (None, r#"{"type":"join","nick":5}"#, "bad_message"),
        (
            None,
            r#"{"type":"join","nick":"x","webrtc":"no"}"#,
            "bad_message",
        ),
        (None, r#"{"type":"chat","text":"early"}"#, "not_joined"),
        (None, r#"{"type":"join","nick":"   "}"#, "bad_nick"),
        (None, &long_nick, "bad_nick"),
        (None, r#"{"type":"join","nick":"a\u0007b"}"#, "bad_nick"),
        (
            Some(&me),
            r#"{"type":"join","nick":"again"}"#,
            "already_joined",
        ),
        (Some(&me), r#"{"type":"chat","text":" "}"#, "bad_chat"),
        (Some(&me), &long_chat, "bad_chat"),
        (
            Some(&me),
            r#"{"type":"chat","text":"a\u001bb"}"#,
            "bad_chat",
        ),
        (Some(&me), r#"{"type":"nick","nick":""}"#, "bad_nick"),
    ];
    for (sender, text, code) in cases {
        let outcome = run(*sender, text, &[]);
        assert_eq!(&error_code(&outcome), code, "{text}");
        assert_eq!(outcome.close, None, "{text}");
        assert_eq!(outcome.conn.member, sender.cloned(), "{text}");
    }
    // Newlines and tabs are fine in chat.
    assert!(run(Some(&me), r#"{"type":"chat","text":"a\nb\tc"}"#, &[])
        .chat
        .is_some());
}

#[test]
fn binary_and_oversize_frames() {
    let limits = Limits {
        max_frame_bytes: 100,
        ..Limits::default()
    };
    let io = FakeIo::new();
    let outcome = on_frame(&conn(None), Incoming::Binary, &view(&[]), &limits, &io);
    assert_eq!(error_code(&outcome), "bad_message");
    assert_eq!(outcome.close, None);
    let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(100));
    let outcome = on_frame(&conn(None), Incoming::Text(&big), &view(&[]), &limits, &io);
    assert_eq!(error_code(&outcome), "too_large");
    assert_eq!(outcome.close, Some(close::TOO_LARGE));
}

#[test]
fn buckets_refill_with_time() {
    let rate = Rate {
        per_sec: 2.0,
        burst: 3.0,
    };
    let mut bucket = Bucket::default();
    assert!((0..3).all(|_| bucket.take(1000, rate)));
    assert!(!bucket.take(1000, rate));
    assert!(!bucket.take(1400, rate), "0.8 of a token is not a token");
    assert!(bucket.take(1500, rate));
    assert!(bucket.take(10_000, rate) && bucket.take(10_000, rate) && bucket.take(10_000, rate));
    assert!(!bucket.take(10_000, rate), "never more than the burst");
}

#[test]
fn chat_over_budget_is_rate_limited_and_recovers() {
    let io = FakeIo::new();
    let mut state = conn(Some(&member("a", "ann")));
    let mut codes = vec![];
    for _ in 0..25 {
        let outcome = step(&io, &state, CHAT, &[]);
        codes.push(outcome.chat.is_some());
        state = outcome.conn;
    }
    assert_eq!(
        codes.iter().filter(|ok| **ok).count(),
        20,
        "the burst, then refused"
    );
    // Signaling has its own budget: chat abuse does not stall a call.
    let others = [member("b", "bob")];
    let outcome = step(
        &io,
        &state,
        r#"{"type":"signal","to":"b","data":{}}"#,
        &others,
    );
    assert_eq!(outcome.sends[0].to, Target::Peer("b".into()));
    io.now_ms.set(io.now_ms.get() + 1000);
    let outcome = step(&io, &state, CHAT, &[]);
    assert!(
        outcome.chat.is_some(),
        "a second later the budget has refilled"
    );
}

#[test]
fn sustained_abuse_closes_the_socket() {
    let limits = Limits::default();
    let io = FakeIo::new();
    let mut state = conn(None);
    for i in 0..31 {
        let outcome = on_frame(&state, Incoming::Text("garbage"), &view(&[]), &limits, &io);
        state = outcome.conn.clone();
        if i < 30 {
            assert_eq!(error_code(&outcome), "bad_message");
            assert_eq!(outcome.close, None);
        } else {
            assert_eq!(error_code(&outcome), "rate_limited");
            assert_eq!(outcome.close, Some(close::RATE_LIMITED));
        }
    }
}

#[test]
fn resume_takes_over_a_live_socket_unseen() {
    let old = member("a", "ann");
    let others = [old.clone(), member("b", "bob")];
    let outcome = run(
        None,
        r#"{"type":"join","nick":"ann","resume":"resume-a"}"#,
        &others,
    );
    assert_eq!(
        outcome.resumed,
        Some(Resumed::TookOver { old_id: "a".into() })
    );
    let sends = frames(&outcome);
    assert_eq!(sends.len(), 1, "only the welcome: the others see nothing");
    assert_eq!(sends[0].1["you"]["id"], "a");
    assert_eq!(sends[0].1["resumed"], true);
    assert_eq!(sends[0].1["count"], 2);
    let peers: Vec<&Value> = (sends[0].1["peers"].as_array().unwrap().iter())
        .map(|p| &p["id"])
        .collect();
    assert_eq!(peers, [&json!("b")], "the others, never oneself");
    let member = outcome.conn.member.unwrap();
    assert_ne!(member.resume, "resume-a", "a token is used once");
    assert_eq!(sends[0].1["resume"], member.resume.as_str());
    assert!(!outcome.count_changed);
}

#[test]
fn resume_brings_back_a_departed_id_with_one_peer_joined() {
    let mut io = FakeIo::new();
    io.departed = vec![member("a", "ann")];
    let others = [member("b", "bob")];
    let text = r#"{"type":"join","nick":"ann","resume":"resume-a"}"#;
    let outcome = run_with(&io, None, text, &others);
    assert_eq!(
        outcome.resumed,
        Some(Resumed::Returned {
            token: "resume-a".into()
        })
    );
    let sends = frames(&outcome);
    assert_eq!(sends[0].1["you"]["id"], "a");
    assert_eq!(sends[1].0, Target::Others);
    assert_eq!(sends[1].1["peer"]["id"], "a");
    // The token is used up: the person gets a new one, in the welcome and the attachment.
    let member = outcome.conn.member.clone().unwrap();
    assert_ne!(member.resume, "resume-a", "a token is used once");
    assert_eq!(sends[0].1["resume"], member.resume.as_str());
    // A forged or foreign token is just a fresh join.
    let text = r#"{"type":"join","nick":"eve","resume":"resume-zz"}"#;
    let outcome = run_with(&io, None, text, &others);
    assert_eq!(outcome.resumed, None);
    assert_ne!(outcome.conn.member.unwrap().peer.id, "a");
}

#[test]
fn a_member_silent_past_the_heartbeat_timeout_has_vanished() {
    let limits = Limits::default();
    let joined = Conn {
        opened_ms: 0,
        ..conn(Some(&member("a", "ann")))
    };
    let heard = 100_000 - limits.heartbeat_timeout_ms;
    assert_eq!(overdue(&joined, heard, 100_000, &limits), None);
    let code = overdue(&joined, heard - 1, 100_000, &limits);
    assert_eq!(code, Some(close::TIMED_OUT));
}

#[test]
fn a_socket_that_does_not_join_in_time_is_squatting() {
    let limits = Limits::default();
    let unjoined = Conn {
        opened_ms: 50_000,
        ..conn(None)
    };
    // However recently it sent something: only a join counts.
    let deadline = 50_000 + limits.join_timeout_ms;
    assert_eq!(overdue(&unjoined, deadline, deadline, &limits), None);
    let code = overdue(&unjoined, deadline + 1, deadline + 1, &limits);
    assert_eq!(code, Some(close::JOIN_TIMEOUT));
}

#[test]
fn every_frame_is_a_sign_of_life() {
    let io = FakeIo::new();
    let me = member("a", "ann");
    for text in [r#"{"type":"chat","text":"x"}"#, "garbage"] {
        let outcome = step(&io, &conn(Some(&me)), text, &[]);
        assert_eq!(outcome.conn.seen_ms, io.now_ms(), "{text}");
    }
    let outcome = on_frame(
        &conn(None),
        Incoming::Binary,
        &view(&[]),
        &Limits::default(),
        &io,
    );
    assert_eq!(outcome.conn.seen_ms, io.now_ms());
}

/// A joined socket that has spent its whole chat budget (no time passes in `FakeIo`).
fn out_of_chat_budget(io: &FakeIo) -> Conn {
    let mut state = conn(Some(&member("a", "ann")));
    for _ in 0..Limits::default().chat_rate.burst as usize {
        let outcome = step(io, &state, CHAT, &[]);
        assert!(outcome.chat.is_some());
        state = outcome.conn;
    }
    state
}

#[test]
fn a_rate_limited_member_may_still_leave() {
    let io = FakeIo::new();
    let state = out_of_chat_budget(&io);
    let refused = step(&io, &state, CHAT, &[]);
    assert_eq!(error_code(&refused), "rate_limited");
    let outcome = step(&io, &state, r#"{"type":"leave"}"#, &[]);
    assert_eq!(outcome.close, Some(close::NORMAL));
    assert!(outcome.sends.is_empty(), "{:?}", outcome.sends);
    // A second join is refused for what it is, not for the budget.
    let outcome = step(&io, &state, r#"{"type":"join","nick":"ann"}"#, &[]);
    assert_eq!(error_code(&outcome), "already_joined");
}

#[test]
fn a_member_who_keeps_flooding_is_closed_with_4002() {
    let limits = Limits::default();
    let io = FakeIo::new();
    let mut state = out_of_chat_budget(&io);
    let refusals = limits.refusal_rate.burst as usize;
    for i in 0..=refusals {
        let outcome = step(&io, &state, CHAT, &[]);
        assert_eq!(error_code(&outcome), "rate_limited", "refusal {i}");
        assert_eq!(outcome.chat, None);
        let expected = (i == refusals).then_some(close::RATE_LIMITED);
        assert_eq!(outcome.close, expected, "refusal {i}");
        state = outcome.conn;
    }
    assert_eq!(close::RATE_LIMITED, 4002);
}

#[test]
fn limits_are_inclusive() {
    let me = member("a", "ann");
    let limits = Limits::default();
    // Characters, not bytes: 'é' is two bytes.
    let chat = |n: usize| format!(r#"{{"type":"chat","text":"{}"}}"#, "é".repeat(n));
    assert!(run(Some(&me), &chat(limits.max_chat_chars), &[])
        .chat
        .is_some());
    assert_eq!(
        error_code(&run(Some(&me), &chat(limits.max_chat_chars + 1), &[])),
        "bad_chat"
    );
    let nick = "é".repeat(limits.max_nick_chars);
    let join = |nick: &str| format!(r#"{{"type":"join","nick":"{nick}"}}"#);
    let rename = |nick: &str| format!(r#"{{"type":"nick","nick":"{nick}"}}"#);
    let joined = run(None, &join(&nick), &[]).conn.member.unwrap();
    assert_eq!(joined.peer.nick, nick);
    let renamed = run(Some(&me), &rename(&nick), &[]).conn.member.unwrap();
    assert_eq!(renamed.peer.nick, nick);
    let long = format!("{nick}é");
    assert_eq!(error_code(&run(None, &join(&long), &[])), "bad_nick");
    assert_eq!(error_code(&run(Some(&me), &rename(&long), &[])), "bad_nick");

    // A frame of exactly max_frame_bytes is read; one byte more is refused and closed.
    let small = Limits {
        max_frame_bytes: 100,
        ..limits
    };
    let io = FakeIo::new();
    let frame = |len: usize| {
        let text = "x".repeat(len - r#"{"type":"chat","text":""}"#.len());
        format!(r#"{{"type":"chat","text":"{text}"}}"#)
    };
    let exact = frame(100);
    assert_eq!(exact.len(), 100);
    let outcome = on_frame(
        &conn(Some(&me)),
        Incoming::Text(&exact),
        &view(&[]),
        &small,
        &io,
    );
    assert!(outcome.chat.is_some(), "{:?}", outcome.sends);
    let over = frame(101);
    let outcome = on_frame(
        &conn(Some(&me)),
        Incoming::Text(&over),
        &view(&[]),
        &small,
        &io,
    );
    assert_eq!(error_code(&outcome), "too_large");
    assert_eq!(outcome.close, Some(close::TOO_LARGE));
}

#[test]
fn a_new_id_is_never_one_already_in_the_room() {
    // FakeIo's first id is "id1": someone has it already, so the joiner gets the next.
    let others = [member("id1", "ann")];
    let outcome = run(None, r#"{"type":"join","nick":"bob"}"#, &others);
    assert_eq!(outcome.conn.member.unwrap().peer.id, "id2");
}

#[test]
fn a_member_asking_for_ice_gets_fresh_credentials_and_nobody_else_hears() {
    let io = FakeIo::new();
    let me = member("a", "ann");
    io.now_ms.set(1_700_000_100_000);
    let outcome = run_with(&io, Some(&me), r#"{"type":"ice"}"#, &[member("b", "bob")]);
    let sends = frames(&outcome);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].0, Target::Sender);
    assert_eq!(sends[0].1["type"], "ice");
    assert_eq!(sends[0].1["iceServers"][1]["username"], "1700000700:a");
    assert_eq!(sends[0].1["expiresAt"], 1_700_000_700);
}

#[test]
fn ice_before_join_is_refused() {
    assert_eq!(
        error_code(&run(None, r#"{"type":"ice"}"#, &[])),
        "not_joined"
    );
}

#[test]
fn asking_for_ice_spends_the_chat_budget() {
    let io = FakeIo::new();
    let mut state = conn(Some(&member("a", "ann")));
    for _ in 0..Limits::default().chat_rate.burst as usize {
        state = step(&io, &state, r#"{"type":"ice"}"#, &[]).conn;
    }
    let outcome = step(&io, &state, r#"{"type":"ice"}"#, &[]);
    assert_eq!(error_code(&outcome), "rate_limited");
}

#[test]
fn nobody_may_join_or_rename_to_a_name_that_looks_like_someone_elses() {
    let others = [member("a", "alice"), member("b", "bob")];
    for nick in ["alice", "Alice", " ALICE ", "\u{0430}lice"] {
        let text = json!({"type": "join", "nick": nick}).to_string();
        let outcome = run(None, &text, &others);
        let expected = if nick.contains('\u{0430}') {
            "bad_nick" // Latin and Cyrillic mixed: refused before it is compared
        } else {
            "nick_taken"
        };
        assert_eq!(error_code(&outcome), expected, "{nick:?}");
        assert_eq!(outcome.conn.member, None);
    }
    let me = member("c", "carol");
    let rename = run(Some(&me), r#"{"type":"nick","nick":"B0B"}"#, &others);
    assert_eq!(error_code(&rename), "nick_taken", "B0B looks like bob");
    assert_eq!(rename.conn.member.unwrap().peer.nick, "carol");
    // My own name, differently written, is still mine.
    let mine = run(Some(&me), r#"{"type":"nick","nick":"Carol"}"#, &others);
    assert_eq!(frames(&mine)[0].1["nick"], "Carol");
}

#[test]
fn a_nickname_is_stored_normalised_and_refused_with_the_reason() {
    let outcome = run(None, r#"{"type":"join","nick":"Jose\u0301\u3000Kim"}"#, &[]);
    assert_eq!(frames(&outcome)[0].1["you"]["nick"], "José Kim");
    let outcome = run(None, r#"{"type":"join","nick":"\u202eecila"}"#, &[]);
    assert_eq!(error_code(&outcome), "bad_nick");
    let message = frames(&outcome)[0].1["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("U+202E"), "{message}");
}

#[test]
fn a_chat_line_that_shows_nothing_is_refused() {
    let me = member("a", "ann");
    for text in ["\u{200B}", " \u{3164} ", "\n\t"] {
        let frame = json!({"type": "chat", "text": text}).to_string();
        let outcome = run(Some(&me), &frame, &[]);
        assert_eq!(error_code(&outcome), "bad_chat", "{text:?}");
        assert_eq!(outcome.chat, None);
    }
}

#[test]
fn someone_without_webrtc_joins_chat_only_and_everyone_is_told() {
    let others = [member("a", "ann"), chat_only("b", "bob")];
    let text = r#"{"type":"join","nick":"cy","webrtc":false}"#;
    let outcome = run(None, text, &others);
    let sends = frames(&outcome);
    // The joiner learns who of the others can be called…
    let peers: Vec<(&Value, &Value)> = (sends[0].1["peers"].as_array().unwrap().iter())
        .map(|p| (&p["id"], &p["webrtc"]))
        .collect();
    assert_eq!(
        peers,
        [(&json!("a"), &json!(true)), (&json!("b"), &json!(false))]
    );
    // …and the others learn that the joiner cannot be, with no sound or picture to expect.
    assert_eq!(sends[1].0, Target::Others);
    let peer = &sends[1].1["peer"];
    assert_eq!(
        (
            &peer["webrtc"],
            &peer["muted"],
            &peer["camera"],
            &peer["screen"]
        ),
        (&json!(false), &json!(true), &json!(false), &json!(false))
    );
    // The attachment keeps it, so an evicted room wakes up knowing it.
    assert!(!outcome.conn.member.unwrap().peer.webrtc);
    // Without the field, a joiner can be called.
    let outcome = run(None, r#"{"type":"join","nick":"dee"}"#, &others);
    let peer = &frames(&outcome)[1].1["peer"];
    assert_eq!(
        (&peer["webrtc"], &peer["muted"], &peer["camera"]),
        (&json!(true), &json!(false), &json!(true))
    );
}

#[test]
fn a_webrtc_flag_that_is_not_a_boolean_is_refused_and_the_socket_may_join_again() {
    for bad in [r#""no""#, "0", "null"] {
        let text = format!(r#"{{"type":"join","nick":"cy","webrtc":{bad}}}"#);
        let outcome = run(None, &text, &[]);
        assert_eq!(error_code(&outcome), "bad_message", "{text}");
        let message = frames(&outcome)[0].1["message"].clone();
        assert!(
            message
                .as_str()
                .unwrap()
                .contains("`webrtc` must be true or false"),
            "{message}"
        );
        assert_eq!((outcome.close, outcome.conn.member), (None, None), "{text}");
    }
}

#[test]
fn nobody_signals_to_or_from_someone_chat_only() {
    let caller = member("a", "ann");
    let listener = chat_only("b", "bob");
    let others = [listener.clone(), member("c", "cy")];
    let to_b = r#"{"type":"signal","to":"b","data":{"candidate":"x"}}"#;
    let outcome = run(Some(&caller), to_b, &others);
    assert_eq!(error_code(&outcome), "chat_only");
    assert_eq!(outcome.close, None);
    let others = [caller.clone(), member("c", "cy")];
    let to_a = r#"{"type":"signal","to":"a","data":{"candidate":"x"}}"#;
    let outcome = run(Some(&listener), to_a, &others);
    assert_eq!(error_code(&outcome), "chat_only");
    // Between two who can call, signals flow as ever.
    let outcome = run(Some(&member("c", "cy")), to_a, &others);
    assert_eq!(frames(&outcome)[0].0, Target::Peer("a".into()));
}

#[test]
fn someone_chat_only_who_resumes_is_still_chat_only() {
    // Over a live socket, unseen by the others: whatever the new join says.
    let others = [chat_only("a", "ann"), member("b", "bob")];
    let text = r#"{"type":"join","nick":"ann","resume":"resume-a"}"#;
    let outcome = run(None, text, &others);
    assert!(matches!(outcome.resumed, Some(Resumed::TookOver { .. })));
    assert!(!outcome.conn.member.unwrap().peer.webrtc);
    // After a lost connection: the one `peer_joined` says so again.
    let mut io = FakeIo::new();
    io.departed = vec![chat_only("a", "ann")];
    let outcome = run_with(&io, None, text, &[member("b", "bob")]);
    assert!(matches!(outcome.resumed, Some(Resumed::Returned { .. })));
    assert_eq!(frames(&outcome)[1].1["peer"]["webrtc"], false);
}

mod hosts;
mod sfu;
