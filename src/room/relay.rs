//! What a room does with each frame: who gets what, what the sender's socket remembers, when
//! a socket is closed. Pure logic with no Workers types, so every rule is tested natively;
//! the Durable Object in `mod.rs` only moves bytes and stores attachments.
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::config::Limits;
use crate::protocol::{close, ClientFrame, ErrorCode, PeerInfo, ServerFrame, You};

/// What a joined socket's attachment holds: all the room needs to know about that person,
/// so nothing is lost when the room is evicted and woken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub peer: PeerInfo,
    /// The secret that lets this person take the same id back after a reconnect.
    pub resume: String,
}

/// A frame as it arrived on the socket.
pub enum Incoming<'a> {
    Text(&'a str),
    Binary,
}

/// Whom a frame goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sender,
    /// Exactly one peer, by id.
    Peer(String),
    /// Every joined member but the sender.
    Others,
    /// Every joined member, the sender included.
    Everyone,
}

#[derive(Debug, PartialEq)]
pub struct Send {
    pub to: Target,
    pub frame: String,
}

/// Everything one frame causes. The Durable Object applies it in this order: store the
/// attachment, persist the room's privacy and chat history, deliver, then close.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub sends: Vec<Send>,
    /// The sender's new attachment (after join, state, nick).
    pub member: Option<Member>,
    /// Set by the first joiner of an empty room: whether the room is private.
    pub room_private: Option<bool>,
    /// A chat frame to append to the room's history.
    pub chat: Option<String>,
    /// Close the sender's socket with this code, after the sends.
    pub close: Option<u16>,
    /// The head count changed (a join or a leave): the lobby must hear of it.
    pub count_changed: bool,
}

impl Outcome {
    fn send(mut self, to: Target, frame: ServerFrame) -> Self {
        self.sends.push(Send {
            to,
            frame: frame.to_json(),
        });
        self
    }

    fn error(code: ErrorCode, message: &str) -> Self {
        Self::default().send(Target::Sender, ServerFrame::Error { code, message })
    }
}

/// What the room provides that is not pure: the clock, fresh random ids, stored history.
pub trait RoomIo {
    fn now_ms(&self) -> u64;
    fn random_id(&self) -> String;
    fn history(&self) -> Vec<Box<RawValue>>;
}

/// Handles one frame from a socket. `sender` is its attachment (`None` before `join`);
/// `others` are the joined members on the other sockets.
pub fn on_frame(
    sender: Option<&Member>,
    incoming: Incoming,
    others: &[Member],
    limits: &Limits,
    io: &impl RoomIo,
) -> Outcome {
    let text = match incoming {
        Incoming::Binary => {
            return Outcome::error(
                ErrorCode::BadMessage,
                "binary frames are not accepted: send JSON text",
            )
        }
        Incoming::Text(text) => text,
    };
    if text.len() > limits.max_frame_bytes {
        let message = format!("frames are limited to {} bytes", limits.max_frame_bytes);
        let mut outcome = Outcome::error(ErrorCode::TooLarge, &message);
        outcome.close = Some(close::TOO_LARGE);
        return outcome;
    }
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(why) => {
            return Outcome::error(ErrorCode::BadMessage, &format!("not a valid frame: {why}"))
        }
    };
    match (sender, frame) {
        (None, ClientFrame::Join { nick, private, .. }) => join(&nick, private, others, limits, io),
        (None, _) => Outcome::error(ErrorCode::NotJoined, "send join first"),
        (Some(_), ClientFrame::Join { .. }) => {
            Outcome::error(ErrorCode::AlreadyJoined, "this socket has joined already")
        }
        (Some(me), ClientFrame::Chat { text }) => chat(me, &text, limits, io),
        (Some(me), ClientFrame::Signal { to, data }) => signal(me, &to, &data, others),
        (
            Some(me),
            ClientFrame::State {
                muted,
                camera,
                screen,
            },
        ) => state(me, muted, camera, screen),
        (Some(me), ClientFrame::Nick { nick }) => rename(me, &nick, limits),
        (Some(_), ClientFrame::Leave) => Outcome {
            close: Some(close::NORMAL),
            ..Outcome::default()
        },
    }
}

/// The frame everyone left gets when `member` leaves, however it left.
pub fn on_leave(member: &Member, remaining: usize) -> Send {
    let peer = &member.peer;
    Send {
        to: Target::Others,
        frame: ServerFrame::PeerLeft {
            id: &peer.id,
            nick: &peer.nick,
            count: remaining,
        }
        .to_json(),
    }
}

fn join(
    nick: &str,
    private: bool,
    others: &[Member],
    limits: &Limits,
    io: &impl RoomIo,
) -> Outcome {
    let nick = match valid_nick(nick, limits) {
        Ok(nick) => nick,
        Err(why) => return Outcome::error(ErrorCode::BadNick, &why),
    };
    if others.len() >= limits.max_peers {
        let message = format!("this room is full ({} people)", limits.max_peers);
        let mut outcome = Outcome::error(ErrorCode::RoomFull, &message);
        outcome.close = Some(close::ROOM_FULL);
        return outcome;
    }
    let member = Member {
        peer: PeerInfo {
            id: unused_id(others, io),
            nick,
            muted: false,
            camera: true,
            screen: false,
            joined_at: io.now_ms(),
        },
        resume: io.random_id() + &io.random_id(),
    };
    let count = others.len() + 1;
    let peers: Vec<PeerInfo> = others.iter().map(|m| m.peer.clone()).collect();
    let welcome = ServerFrame::Welcome {
        you: You {
            id: &member.peer.id,
            nick: &member.peer.nick,
        },
        peers: &peers,
        count,
        resume: &member.resume,
        history: &io.history(),
        limits: limits.for_client(),
    };
    let outcome = Outcome::default().send(Target::Sender, welcome).send(
        Target::Others,
        ServerFrame::PeerJoined {
            peer: &member.peer,
            count,
        },
    );
    Outcome {
        room_private: others.is_empty().then_some(private),
        count_changed: true,
        member: Some(member),
        ..outcome
    }
}

/// A fresh id, unique in the room (a collision of 64 random bits is all but impossible, but
/// costs nothing to rule out).
fn unused_id(others: &[Member], io: &impl RoomIo) -> String {
    loop {
        let id = io.random_id();
        if others.iter().all(|m| m.peer.id != id) {
            return id;
        }
    }
}

fn chat(me: &Member, text: &str, limits: &Limits, io: &impl RoomIo) -> Outcome {
    if text.trim().is_empty() {
        return Outcome::error(ErrorCode::BadChat, "chat text is empty");
    }
    if text.chars().count() > limits.max_chat_chars {
        let message = format!(
            "chat text is limited to {} characters",
            limits.max_chat_chars
        );
        return Outcome::error(ErrorCode::BadChat, &message);
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Outcome::error(
            ErrorCode::BadChat,
            "chat text may not hold control characters",
        );
    }
    let frame = ServerFrame::Chat {
        from: &me.peer.id,
        nick: &me.peer.nick,
        text,
        ts: io.now_ms(),
    }
    .to_json();
    Outcome {
        sends: vec![Send {
            to: Target::Everyone,
            frame: frame.clone(),
        }],
        chat: Some(frame),
        ..Outcome::default()
    }
}

fn signal(me: &Member, to: &str, data: &serde_json::Value, others: &[Member]) -> Outcome {
    if !data.is_object() {
        return Outcome::error(ErrorCode::BadMessage, "signal data must be a JSON object");
    }
    if !others.iter().any(|m| m.peer.id == to) {
        return Outcome::error(
            ErrorCode::UnknownPeer,
            &format!("no peer {to:?} in this room"),
        );
    }
    Outcome::default().send(
        Target::Peer(to.to_owned()),
        ServerFrame::Signal {
            from: &me.peer.id,
            data,
        },
    )
}

fn state(me: &Member, muted: Option<bool>, camera: Option<bool>, screen: Option<bool>) -> Outcome {
    if muted.is_none() && camera.is_none() && screen.is_none() {
        return Outcome::error(
            ErrorCode::BadMessage,
            "state needs at least one of muted, camera, screen",
        );
    }
    let mut member = me.clone();
    let peer = &mut member.peer;
    peer.muted = muted.unwrap_or(peer.muted);
    peer.camera = camera.unwrap_or(peer.camera);
    peer.screen = screen.unwrap_or(peer.screen);
    let frame = ServerFrame::State {
        id: &peer.id,
        muted: peer.muted,
        camera: peer.camera,
        screen: peer.screen,
    };
    let outcome = Outcome::default().send(Target::Others, frame);
    Outcome {
        member: Some(member),
        ..outcome
    }
}

fn rename(me: &Member, nick: &str, limits: &Limits) -> Outcome {
    let nick = match valid_nick(nick, limits) {
        Ok(nick) => nick,
        Err(why) => return Outcome::error(ErrorCode::BadNick, &why),
    };
    let mut member = me.clone();
    member.peer.nick = nick;
    let frame = ServerFrame::Nick {
        id: &member.peer.id,
        nick: &member.peer.nick,
    };
    Outcome {
        member: Some(member.clone()),
        ..Outcome::default()
    }
    .send(Target::Everyone, frame)
}

/// A nickname is trimmed, then must be 1 to `max_nick_chars` characters with no control
/// characters (they would let one person forge line breaks in everyone's chat).
fn valid_nick(nick: &str, limits: &Limits) -> Result<String, String> {
    let nick = nick.trim();
    if nick.is_empty() {
        Err("nickname is empty".to_owned())
    } else if nick.chars().count() > limits.max_nick_chars {
        Err(format!(
            "nickname is limited to {} characters",
            limits.max_nick_chars
        ))
    } else if nick.chars().any(char::is_control) {
        Err("nickname may not hold control characters".to_owned())
    } else {
        Ok(nick.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::cell::Cell;

    struct FakeIo {
        next_id: Cell<u32>,
        history: Vec<&'static str>,
    }

    impl FakeIo {
        fn new() -> Self {
            Self {
                next_id: Cell::new(0),
                history: vec![],
            }
        }
    }

    impl RoomIo for FakeIo {
        fn now_ms(&self) -> u64 {
            1_700_000_000_000
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
            },
            resume: format!("resume-{id}"),
        }
    }

    fn frames(outcome: &Outcome) -> Vec<(Target, Value)> {
        outcome
            .sends
            .iter()
            .map(|s| (s.to.clone(), serde_json::from_str(&s.frame).unwrap()))
            .collect()
    }

    fn run(sender: Option<&Member>, text: &str, others: &[Member]) -> Outcome {
        on_frame(
            sender,
            Incoming::Text(text),
            others,
            &Limits::default(),
            &FakeIo::new(),
        )
    }

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
        let outcome = on_frame(
            None,
            Incoming::Text(r#"{"type":"join","nick":" bob "}"#),
            &others,
            &Limits::default(),
            &io,
        );
        let sends = frames(&outcome);
        assert_eq!(sends[0].0, Target::Sender);
        let welcome = &sends[0].1;
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["you"], json!({"id": "id1", "nick": "bob"}));
        assert_eq!(welcome["peers"][0]["id"], "a");
        assert_eq!(welcome["count"], 2);
        assert_eq!(welcome["resume"], "id2id3");
        assert_eq!(welcome["history"][0]["text"], "hi");
        assert_eq!(welcome["limits"]["maxPeers"], 8);
        assert_eq!(sends[1].0, Target::Others);
        assert_eq!(sends[1].1["type"], "peer_joined");
        assert_eq!(sends[1].1["peer"]["nick"], "bob");
        assert_eq!(sends[1].1["count"], 2);
        assert!(outcome.count_changed);
        assert_eq!(outcome.member.unwrap().peer.id, "id1");
        // Only the first joiner of an empty room decides privacy.
        assert_eq!(outcome.room_private, None);
        let first = run(None, r#"{"type":"join","nick":"ann","private":true}"#, &[]);
        assert_eq!(first.room_private, Some(true));
    }

    #[test]
    fn a_full_room_refuses_and_closes() {
        let others: Vec<Member> = (0..8).map(|i| member(&format!("p{i}"), "x")).collect();
        let outcome = run(None, r#"{"type":"join","nick":"late"}"#, &others);
        assert_eq!(error_code(&outcome), "room_full");
        assert_eq!(outcome.close, Some(close::ROOM_FULL));
        assert!(outcome.member.is_none());
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
    fn state_and_nick_update_the_attachment_and_are_relayed() {
        let me = member("a", "ann");
        let outcome = run(Some(&me), r#"{"type":"state","muted":true}"#, &[]);
        let updated = outcome.member.clone().unwrap();
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
        assert_eq!(outcome.member.clone().unwrap().peer.nick, "annie");
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
            assert_eq!(outcome.member, None, "{text}");
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
        let outcome = on_frame(None, Incoming::Binary, &[], &limits, &io);
        assert_eq!(error_code(&outcome), "bad_message");
        assert_eq!(outcome.close, None);
        let big = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(100));
        let outcome = on_frame(None, Incoming::Text(&big), &[], &limits, &io);
        assert_eq!(error_code(&outcome), "too_large");
        assert_eq!(outcome.close, Some(close::TOO_LARGE));
    }
}
