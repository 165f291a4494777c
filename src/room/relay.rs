//! What a room does with each frame: who gets what, what the sender's socket remembers, when
//! a socket is closed. Pure logic with no Workers types, so every rule is tested natively;
//! the Durable Object in `mod.rs` only moves bytes and stores attachments.
//!
//! This file has what every frame goes through (parsing, budgets, joining) and the frames of
//! a call (chat, signal, media state, rename). Beside it:
//!
//! - `door`: a locked room's door: knocking, admitting, turning away, locking;
//! - `host`: who is host and what a host may do to others (remove, mute, hand the role on);
//! - `hands`: raised hands and reactions, for everyone;
//! - `sfu`: rooms that grow: the move to the SFU, `sfu` calls and what their answers mean.
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::config::{Limits, Rate};
use crate::ice::IceAnswer;
use crate::protocol::{close, ClientFrame, ErrorCode, MediaMode, PeerInfo, ServerFrame};
use crate::text;

mod door;
mod hands;
mod host;
pub mod sfu;

pub use door::{knock_ended, Knock};
pub use host::settle;
pub use sfu::SfuSession;

/// What the room knows of a socket: the person on it (once joined), its rate budgets, and when
/// it was last heard from. Kept in its attachment, so an evicted room wakes up knowing it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conn {
    pub member: Option<Member>,
    pub budget: Budget,
    /// Unix ms of the last frame (or of the upgrade): with the runtime's record of the last
    /// auto-answered `ping`, it tells a live socket from a vanished one.
    pub seen_ms: u64,
    /// Unix ms of the upgrade: a socket must join within `join_timeout_ms` of it.
    #[serde(default)]
    pub opened_ms: u64,
    /// The room has closed this socket. Frames the client sent before it saw the close still
    /// arrive afterwards; they are ignored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// Someone waiting at a locked room's door on this socket: not a member yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knock: Option<Knock>,
}

/// A person in the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub peer: PeerInfo,
    /// The secret that lets this person take the same id back after a reconnect.
    pub resume: String,
    /// The key their browser sent with `join`, kept to keep them out if a host removes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// Their session on the SFU and what they publish there, once they made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfu: Option<SfuSession>,
}

/// The room as one socket's frame finds it: the members on the other sockets, who is
/// knocking, whether the door is locked, and how the room carries media.
#[derive(Clone)]
pub struct RoomView<'a> {
    pub others: Vec<&'a Member>,
    /// People waiting at the door (never the sender), oldest first.
    pub knocking: Vec<&'a Knock>,
    pub locked: bool,
    pub media: MediaMode,
}

impl RoomView<'_> {
    /// Whether `id` is taken by anyone in the room or at its door.
    fn id_taken(&self, id: &str) -> bool {
        (self.others.iter()).any(|m| m.peer.id == id) || self.knocking.iter().any(|k| k.id == id)
    }
}

/// Per-socket token buckets, kept in the attachment: no timers, so the room can sleep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    chat: Bucket,
    signal: Bucket,
    refusals: Bucket,
    #[serde(default)]
    sfu: Bucket,
}

/// A token bucket stored as the tokens spent and when: the default is a full bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    spent: f64,
    at_ms: u64,
}

impl Bucket {
    /// Takes one token if there is one.
    pub fn take(&mut self, now_ms: u64, rate: Rate) -> bool {
        let refilled = now_ms.saturating_sub(self.at_ms) as f64 * rate.per_sec / 1000.0;
        let spent = (self.spent - refilled).max(0.0);
        self.at_ms = now_ms;
        if spent + 1.0 > rate.burst {
            self.spent = spent;
            return false;
        }
        self.spent = spent + 1.0;
        true
    }
}

/// A frame as it arrived on the socket.
pub enum Incoming<'a> {
    Text(&'a str),
    Binary,
}

/// Whom a frame goes to. Frames are delivered once the outcome's records are in place, so
/// someone just let in or made host counts as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sender,
    /// Exactly one person, by id: a member, or someone knocking.
    Peer(String),
    /// Every member but the sender.
    Others,
    /// Every member, the sender included.
    Everyone,
    /// Every member but these.
    AllBut(Vec<String>),
    /// Every host.
    Hosts,
}

#[derive(Debug, PartialEq)]
pub struct Send {
    pub to: Target,
    pub frame: String,
}

/// How a `join` with a resume token was answered.
#[derive(Debug, PartialEq)]
pub enum Resumed {
    /// The old socket is still open (the server had not noticed the drop): this socket takes
    /// its place, the old one is closed with 4004, and the others see nothing at all.
    TookOver { old_id: String },
    /// The old socket was gone (the others saw `peer_left`): the same id comes back, with one
    /// `peer_joined`. The departed record is used up.
    Returned { token: String },
}

/// Everything one frame causes. The Durable Object (`Room::apply`) carries it out in this
/// order:
/// 1. keep the sender's new attachment (`conn`), written through if the person changed;
/// 2. finish a resume (`resumed`): close the socket taken over, or use up the departed record;
/// 3. make the room private (`make_private`);
/// 4. deliver `sends`, in order;
/// 5. append `chat` to the history;
/// 6. close the sender's socket (`close`), announcing their departure if they had joined;
/// 7. if `count_changed`, make sure the sweep alarm is set;
/// 8. report the head count to the lobby if it changed (or nothing was reported since the
///    room woke up).
///
/// What a host does to others comes between 3 and 4: `updates` replace their records,
/// `lock` and `ban` are stored, and so is a move to the SFU (`to_sfu`); and after the sends,
/// `close_others` closes their sockets. Last come the calls to the SFU (`sfu`), whose answers
/// are handled as they arrive (`sfu::answered`), and the closing of a `retired` session, which
/// nothing waits for.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// The sender's attachment after this frame (budgets spent, member joined or changed).
    pub conn: Conn,
    pub sends: Vec<Send>,
    /// The first joiner of an empty room asked for a private room. Privacy only ever turns
    /// on: it lasts until the room is forgotten (see `Room::alarm`).
    pub make_private: bool,
    /// A chat frame to append to the room's history.
    pub chat: Option<String>,
    /// Close the sender's socket with this code, after the sends.
    pub close: Option<u16>,
    /// The head count changed (a join): the lobby must hear of it.
    pub count_changed: bool,
    pub resumed: Option<Resumed>,
    /// Other people's records as this frame changed them (a host muted them or made them host,
    /// they were let in): each replaces the record on the socket whose member or knock has
    /// the same id.
    pub updates: Vec<Member>,
    /// Other sockets to close, by the id of who is on them: a member removed (a final
    /// departure, announced like any), a knocker turned away (the hosts were told).
    pub close_others: Vec<(String, u16)>,
    /// Lock (`true`) or unlock the room.
    pub lock: Option<bool>,
    /// A browser key to keep out of the room until it is forgotten.
    pub ban: Option<String>,
    /// The room moves to the SFU (a join made it larger than `mesh_max`).
    pub to_sfu: bool,
    /// Calls to the SFU to make.
    pub sfu: Vec<sfu::Pending>,
    /// A session nobody will use again (a resume took its page's place): what is active on
    /// it is closed on the SFU, after everything else and without holding anything up.
    pub retired: Option<sfu::Retired>,
}

impl Outcome {
    fn send(mut self, to: Target, frame: ServerFrame) -> Self {
        self.push(to, frame);
        self
    }

    fn push(&mut self, to: Target, frame: ServerFrame) {
        self.sends.push(Send {
            to,
            frame: frame.to_json(),
        });
    }
}

/// A refused frame: the error the sender gets, and whether its socket is closed.
struct Refusal {
    code: ErrorCode,
    message: String,
    close: Option<u16>,
    /// A refused `sfu` call, answered with an `sfu` frame carrying its request number.
    req: Option<u32>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            close: None,
            req: None,
        }
    }

    fn closing(code: ErrorCode, message: impl Into<String>, close: u16) -> Self {
        Self {
            close: Some(close),
            ..Self::new(code, message)
        }
    }

    fn sfu(req: u32, code: ErrorCode, message: &str) -> Self {
        Self {
            req: Some(req),
            ..Self::new(code, message)
        }
    }
}

/// What the room provides that is not pure: the clock, fresh random ids, stored history and
/// the records of people who left within the resume window.
pub trait RoomIo {
    fn now_ms(&self) -> u64;
    fn random_id(&self) -> String;
    fn history(&self) -> Vec<Box<RawValue>>;
    /// The member who left holding this resume token, if within the resume window.
    fn departed(&self, token: &str) -> Option<Member>;
    /// ICE servers for a member: TURN credentials are for people in the room only.
    fn ice(&self, member_id: &str) -> IceAnswer;
    /// Whether a host whose connection was lost may still come back (within the resume
    /// window): until then the role is theirs.
    fn host_may_return(&self) -> bool;
    /// Whether a host removed someone using this browser key from the room.
    fn is_removed(&self, browser: &str) -> bool;
    /// Takes a token from the room's knock budget (`Limits::knock_rate`).
    fn take_knock(&self) -> bool;
}

/// Handles one frame from a socket whose attachment is `conn`; `others` are the joined
/// members on the other sockets.
pub fn on_frame(
    conn: &Conn,
    incoming: Incoming,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
) -> Outcome {
    let now = io.now_ms();
    let mut conn = Conn {
        seen_ms: now,
        ..conn.clone()
    };
    match handle(&mut conn, incoming, room, limits, io, now) {
        Ok(outcome) => Outcome { conn, ..outcome },
        Err(refusal) => refuse(conn, refusal, limits, now),
    }
}

/// The error frame for a refusal; a socket refused too often is closed as abusive.
fn refuse(mut conn: Conn, refusal: Refusal, limits: &Limits, now: u64) -> Outcome {
    let refusal = if conn.budget.refusals.take(now, limits.refusal_rate) {
        refusal
    } else {
        Refusal::closing(
            ErrorCode::RateLimited,
            "too many refused frames: closing",
            close::RATE_LIMITED,
        )
    };
    let frame = match refusal.req {
        Some(req) => sfu::refusal_frame(req, refusal.code, &refusal.message),
        None => ServerFrame::Error {
            code: refusal.code,
            message: &refusal.message,
            host_nick: None,
        }
        .to_json(),
    };
    Outcome {
        conn,
        close: refusal.close,
        sends: vec![Send {
            to: Target::Sender,
            frame,
        }],
        ..Outcome::default()
    }
}

fn handle(
    conn: &mut Conn,
    incoming: Incoming,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
    now: u64,
) -> Result<Outcome, Refusal> {
    let text = match incoming {
        Incoming::Binary => {
            return Err(Refusal::new(
                ErrorCode::BadMessage,
                "binary frames are not accepted: send JSON text",
            ))
        }
        Incoming::Text(text) => text,
    };
    if text.len() > limits.max_frame_bytes {
        let message = format!("frames are limited to {} bytes", limits.max_frame_bytes);
        return Err(Refusal::closing(
            ErrorCode::TooLarge,
            message,
            close::TOO_LARGE,
        ));
    }
    let frame = ClientFrame::parse(text)
        .map_err(|why| Refusal::new(ErrorCode::BadMessage, format!("not a valid frame: {why}")))?;
    // Spend from the frame's budget first: a refused frame costs a token too.
    let bucket = match frame {
        ClientFrame::Join { .. } | ClientFrame::Leave => None,
        ClientFrame::Signal { .. } => Some((&mut conn.budget.signal, limits.signal_rate)),
        ClientFrame::Sfu(_) => Some((&mut conn.budget.sfu, limits.sfu_rate)),
        _ => Some((&mut conn.budget.chat, limits.chat_rate)),
    };
    let over_budget = conn.member.is_some() && bucket.is_some_and(|(b, rate)| !b.take(now, rate));
    if conn.knock.is_some() {
        return door::while_knocking(frame);
    }
    let Some(me) = conn.member.as_mut() else {
        let ClientFrame::Join {
            nick,
            private,
            resume,
            webrtc,
            browser,
        } = frame
        else {
            return Err(Refusal::new(ErrorCode::NotJoined, "send join first"));
        };
        let joining = Joining {
            nick: &nick,
            private,
            resume: resume.as_deref(),
            webrtc,
            browser,
        };
        return join(conn, joining, room, limits, io);
    };
    let others = &room.others;
    if over_budget {
        return Err(Refusal::new(
            ErrorCode::RateLimited,
            "slow down: too many frames",
        ));
    }
    match frame {
        ClientFrame::Join { .. } => Err(Refusal::new(
            ErrorCode::AlreadyJoined,
            "this socket has joined already",
        )),
        ClientFrame::Chat { text } => chat(me, &text, limits, now),
        ClientFrame::Signal { to, data } => signal(me, &to, data, others),
        ClientFrame::State {
            muted,
            camera,
            screen,
        } => state(me, muted, camera, screen),
        ClientFrame::Nick { nick } => rename(me, &nick, room, limits),
        ClientFrame::Ice => {
            let ice = io.ice(&me.peer.id);
            Ok(Outcome::default().send(Target::Sender, ServerFrame::Ice(&ice)))
        }
        ClientFrame::Hand { raised, id } => hands::hand(me, raised, id.as_deref(), others, now),
        ClientFrame::React { emoji } => hands::react(me, &emoji),
        ClientFrame::Lock { locked } => door::lock(me, locked, room, limits, io),
        ClientFrame::Admit { id } => door::admit(me, &id, room, limits, io),
        ClientFrame::Deny { id } => door::deny(me, &id, room),
        ClientFrame::Remove { id } => host::remove(me, &id, others),
        ClientFrame::Mute { id } => host::mute(me, &id, others),
        ClientFrame::MuteAll => host::mute_all(me, others),
        ClientFrame::StopScreen { id } => host::stop_screen(me, &id, others),
        ClientFrame::AskUnmute { id } => host::ask_unmute(me, &id, others),
        ClientFrame::Host { id, host } => host::set_host(me, &id, host, room),
        ClientFrame::Sfu(request) => sfu::call(me, request, room),
        ClientFrame::Leave => Ok(Outcome {
            close: Some(close::NORMAL),
            ..Outcome::default()
        }),
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

/// Whether a socket has outstayed its welcome at `now_ms`, and the close code if so: a
/// member silent (no frame, no ping) since `last_heard_ms` for the heartbeat timeout has
/// vanished; a socket that has not joined within the join timeout of opening is squatting.
pub fn overdue(conn: &Conn, last_heard_ms: u64, now_ms: u64, limits: &Limits) -> Option<u16> {
    let (deadline, code) = match conn.member {
        Some(_) => (
            last_heard_ms + limits.heartbeat_timeout_ms,
            close::TIMED_OUT,
        ),
        None => waiting_deadline(conn, limits)?,
    };
    (now_ms > deadline).then_some(code)
}

/// When a socket that is not a member must be gone, and the close code then: one knocking
/// waits `knock_timeout_ms` for an answer, any other must join within `join_timeout_ms`.
pub fn waiting_deadline(conn: &Conn, limits: &Limits) -> Option<(u64, u16)> {
    if conn.member.is_some() {
        return None;
    }
    Some(match &conn.knock {
        Some(knock) => (
            knock.since_ms + limits.knock_timeout_ms,
            close::KNOCK_TIMEOUT,
        ),
        None => (conn.opened_ms + limits.join_timeout_ms, close::JOIN_TIMEOUT),
    })
}

/// What a `join` asks for.
struct Joining<'a> {
    nick: &'a str,
    private: bool,
    resume: Option<&'a str>,
    webrtc: bool,
    browser: Option<String>,
}

/// A `join`: the sender becomes a member (or, at a locked room's door, knocks). One coming
/// back with a resume token is the person they were, host and chat-only or not as before
/// (it is the same page: its browser has not changed), and a lock does not keep them out.
fn join(
    conn: &mut Conn,
    joining: Joining,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
) -> Result<Outcome, Refusal> {
    let others = &room.others;
    let resume = joining.resume;
    // A resume token held by a live socket: take its place, unseen by the others.
    let held = resume.and_then(|token| others.iter().copied().find(|m| m.resume == token));
    if let Some(old) = held {
        let mut member = Member {
            resume: fresh_resume(io),
            ..old.clone()
        };
        // The old page's session goes with it: the new page makes its own.
        let (retired, told) = sfu::drop_session(&mut member);
        let rest: Vec<&Member> = (others.iter().copied())
            .filter(|m| m.peer.id != old.peer.id)
            .collect();
        let mut outcome = Outcome {
            resumed: Some(Resumed::TookOver {
                old_id: old.peer.id.clone(),
            }),
            retired,
            ..Outcome::default()
        };
        let welcome = welcome(Target::Sender, &member, &rest, true, room, limits, io);
        outcome.sends.push(welcome);
        outcome.sends.extend(told);
        conn.member = Some(member);
        return Ok(outcome);
    }
    if joining
        .browser
        .as_deref()
        .is_some_and(|key| io.is_removed(key))
    {
        return Err(Refusal::closing(
            ErrorCode::Removed,
            "you were removed from this room",
            close::REMOVED,
        ));
    }
    if others.len() >= limits.max_peers {
        let message = format!("this room is full ({} people)", limits.max_peers);
        return Err(Refusal::closing(
            ErrorCode::RoomFull,
            message,
            close::ROOM_FULL,
        ));
    }
    let nick = valid_nick(joining.nick, room, limits)?;
    // A resume token of someone who left within the window: the same id comes back.
    let returning = resume
        .and_then(|token| io.departed(token).map(|member| (token, member)))
        .filter(|(_, member)| others.iter().all(|m| m.peer.id != member.peer.id));
    let (member, resumed) = match returning {
        Some((token, old)) => {
            let mut member = Member {
                resume: fresh_resume(io),
                ..old
            };
            // Its tracks were closed when it left, and the others were told it left.
            sfu::drop_session(&mut member);
            (
                member,
                Some(Resumed::Returned {
                    token: token.to_owned(),
                }),
            )
        }
        None if room.locked => {
            return door::knock(
                conn,
                nick,
                joining.webrtc,
                joining.browser,
                room,
                limits,
                io,
            )
        }
        None => {
            // The first person into a room with no host (present, or on their way back) is its
            // host.
            let host = !others.iter().any(|m| m.peer.host) && !io.host_may_return();
            let member = new_member(
                unused_id(room, io),
                nick,
                joining.webrtc,
                joining.browser,
                host,
                io,
            );
            (member, None)
        }
    };
    let to_sfu = sfu::switches(room.media, others.len() + 1, limits);
    let mut outcome = Outcome {
        make_private: others.is_empty() && joining.private,
        count_changed: true,
        resumed,
        to_sfu,
        ..Outcome::default()
    };
    let resumed = outcome.resumed.is_some();
    let welcome = if to_sfu {
        // Those already in hear of the move before they hear of the joiner, so that nobody
        // starts a peer-to-peer call with them.
        outcome.sends.push(sfu::switched(Target::Others));
        let room = RoomView {
            media: MediaMode::Sfu,
            ..room.clone()
        };
        welcome(Target::Sender, &member, others, resumed, &room, limits, io)
    } else {
        welcome(Target::Sender, &member, others, resumed, room, limits, io)
    };
    outcome.sends.insert(0, welcome);
    outcome.push(
        Target::Others,
        ServerFrame::PeerJoined {
            peer: &member.peer,
            count: others.len() + 1,
        },
    );
    conn.member = Some(member);
    Ok(outcome)
}

/// A person joining for the first time. Someone chat-only sends neither sound nor picture,
/// and says so from the start.
fn new_member(
    id: String,
    nick: String,
    webrtc: bool,
    browser: Option<String>,
    host: bool,
    io: &impl RoomIo,
) -> Member {
    let peer = PeerInfo {
        id,
        nick,
        muted: !webrtc,
        camera: webrtc,
        screen: false,
        joined_at: io.now_ms(),
        webrtc,
        host,
        hand: None,
        tracks: vec![],
    };
    Member {
        peer,
        resume: fresh_resume(io),
        browser,
        sfu: None,
    }
}

/// The `welcome` for `member`, whose company is `others`, sent `to` them.
fn welcome(
    to: Target,
    member: &Member,
    others: &[&Member],
    resumed: bool,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
) -> Send {
    let peers: Vec<PeerInfo> = others.iter().map(|m| m.peer.clone()).collect();
    // Only hosts see who is at the door.
    let knocking: Vec<_> = (room.knocking.iter())
        .filter(|_| member.peer.host)
        .map(|knock| knock.knocker())
        .collect();
    let frame = ServerFrame::Welcome {
        you: &member.peer,
        peers: &peers,
        count: others.len() + 1,
        resume: &member.resume,
        resumed,
        history: &io.history(),
        limits: limits.for_client(),
        ice: &io.ice(&member.peer.id),
        locked: room.locked,
        knocking: &knocking,
        media: room.media,
    };
    Send {
        to,
        frame: frame.to_json(),
    }
}

/// 128 bits: unguessable, and only ever valid in the room that issued it.
fn fresh_resume(io: &impl RoomIo) -> String {
    io.random_id() + &io.random_id()
}

/// A fresh id, unique among the people in the room and at its door (a collision of 64
/// random bits is all but impossible, but costs nothing to rule out).
fn unused_id(room: &RoomView, io: &impl RoomIo) -> String {
    loop {
        let id = io.random_id();
        if !room.id_taken(&id) {
            return id;
        }
    }
}

fn chat(me: &Member, text: &str, limits: &Limits, now: u64) -> Result<Outcome, Refusal> {
    if !text::has_visible(text) {
        return Err(Refusal::new(ErrorCode::BadChat, "chat text is empty"));
    }
    if text.chars().count() > limits.max_chat_chars {
        let message = format!(
            "chat text is limited to {} characters",
            limits.max_chat_chars
        );
        return Err(Refusal::new(ErrorCode::BadChat, message));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Refusal::new(
            ErrorCode::BadChat,
            "chat text may not hold control characters",
        ));
    }
    let frame = ServerFrame::Chat {
        from: &me.peer.id,
        nick: &me.peer.nick,
        text,
        ts: now,
    }
    .to_json();
    Ok(Outcome {
        sends: vec![Send {
            to: Target::Everyone,
            frame: frame.clone(),
        }],
        chat: Some(frame),
        ..Outcome::default()
    })
}

fn signal(me: &Member, to: &str, data: &RawValue, others: &[&Member]) -> Result<Outcome, Refusal> {
    // The raw text of a JSON value starts with `{` exactly when it is an object.
    if !data.get().starts_with('{') {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "signal data must be a JSON object",
        ));
    }
    let Some(target) = others.iter().find(|m| m.peer.id == to) else {
        return Err(Refusal::new(
            ErrorCode::UnknownPeer,
            format!("no peer {to:?} in this room"),
        ));
    };
    // A call needs WebRTC at both ends: signals to or from someone chat-only lead nowhere.
    if !me.peer.webrtc {
        return Err(Refusal::new(
            ErrorCode::ChatOnly,
            "you joined chat-only (without WebRTC): you cannot call anyone",
        ));
    }
    if !target.peer.webrtc {
        return Err(Refusal::new(
            ErrorCode::ChatOnly,
            format!("peer {to:?} is here chat-only (without WebRTC) and cannot be called"),
        ));
    }
    Ok(Outcome::default().send(
        Target::Peer(to.to_owned()),
        ServerFrame::Signal {
            from: &me.peer.id,
            data,
        },
    ))
}

fn state(
    me: &mut Member,
    muted: Option<bool>,
    camera: Option<bool>,
    screen: Option<bool>,
) -> Result<Outcome, Refusal> {
    if muted.is_none() && camera.is_none() && screen.is_none() {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "state needs at least one of muted, camera, screen",
        ));
    }
    let peer = &mut me.peer;
    peer.muted = muted.unwrap_or(peer.muted);
    peer.camera = camera.unwrap_or(peer.camera);
    peer.screen = screen.unwrap_or(peer.screen);
    Ok(Outcome::default().send(Target::Others, host::state_frame(peer, None)))
}

fn rename(
    me: &mut Member,
    nick: &str,
    room: &RoomView,
    limits: &Limits,
) -> Result<Outcome, Refusal> {
    me.peer.nick = valid_nick(nick, room, limits)?;
    let frame = ServerFrame::Nick {
        id: &me.peer.id,
        nick: &me.peer.nick,
    };
    Ok(Outcome::default().send(Target::Everyone, frame))
}

/// The nickname as it will be shown (`text::nickname` has the rules), unless it looks like
/// the name of someone else in the room or at its door: two people must never look the same.
fn valid_nick(nick: &str, room: &RoomView, limits: &Limits) -> Result<String, Refusal> {
    let nick = text::nickname(nick, limits.max_nick_chars)
        .map_err(|problem| Refusal::new(ErrorCode::BadNick, problem.message()))?;
    let looks = text::lookalike_key(&nick);
    let members = room.others.iter().map(|m| &m.peer.nick);
    let names = members.chain(room.knocking.iter().map(|k| &k.nick));
    if names
        .map(|name| text::lookalike_key(name))
        .any(|key| key == looks)
    {
        return Err(Refusal::new(
            ErrorCode::NickTaken,
            "someone here already goes by a name that looks like this one",
        ));
    }
    Ok(nick)
}

#[cfg(test)]
mod tests;
