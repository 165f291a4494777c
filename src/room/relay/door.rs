//! A locked room's door: knocking, letting people in or turning them away, locking and
//! unlocking (docs/protocol.md, "Hosts").
use serde::{Deserialize, Serialize};

use super::host::require_host;
use super::{
    new_member, sfu, unused_id, welcome, Conn, Member, Outcome, Refusal, RoomIo, RoomView, Target,
};
use crate::config::Limits;
use crate::protocol::{
    close, ClientFrame, ErrorCode, KnockOutcome, Knocker, MediaMode, ServerFrame,
};

/// Someone at a locked room's door, kept in their socket's attachment until a host answers,
/// they give up, or the knock times out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knock {
    /// Their id in the room once let in; hosts answer the knock by it.
    pub id: String,
    pub nick: String,
    pub webrtc: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// Unix ms of the knock.
    pub since_ms: u64,
}

impl Knock {
    /// The knock as hosts see it.
    pub fn knocker(&self) -> Knocker {
        Knocker {
            id: self.id.clone(),
            nick: self.nick.clone(),
        }
    }
}

/// The frame every host gets when a knock is over.
pub fn knock_ended(id: &str, outcome: KnockOutcome) -> super::Send {
    super::Send {
        to: Target::Hosts,
        frame: ServerFrame::KnockEnded { id, outcome }.to_json(),
    }
}

/// A `join` at a locked room's door (its nickname already checked): the joiner waits, and
/// every host hears of it. Hosts hear every knock, so knocks are bounded twice: how many may
/// wait at once, and how many the room takes in a while, whoever sends them.
pub(super) fn knock(
    conn: &mut Conn,
    nick: String,
    webrtc: bool,
    browser: Option<String>,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
) -> Result<Outcome, Refusal> {
    if room.knocking.len() >= limits.max_knocking {
        let message = format!(
            "this room is locked and {} people are already waiting to be let in",
            room.knocking.len()
        );
        return Err(Refusal::closing(
            ErrorCode::KnockLimit,
            message,
            close::KNOCK_LIMIT,
        ));
    }
    if !io.take_knock() {
        return Err(Refusal::closing(
            ErrorCode::KnockLimit,
            "this room is locked and has had too many knocks: try again in a minute",
            close::KNOCK_LIMIT,
        ));
    }
    let knock = Knock {
        id: unused_id(room, io),
        nick,
        webrtc,
        browser,
        since_ms: io.now_ms(),
    };
    let mut outcome = Outcome::default().send(Target::Sender, ServerFrame::Knocking);
    outcome.push(Target::Hosts, ServerFrame::Knock(&knock.knocker()));
    conn.knock = Some(knock);
    Ok(outcome)
}

/// Someone knocking can only wait or give up.
pub(super) fn while_knocking(frame: ClientFrame<'_>) -> Result<Outcome, Refusal> {
    match frame {
        ClientFrame::Leave => Ok(Outcome {
            close: Some(close::NORMAL),
            ..Outcome::default()
        }),
        ClientFrame::Join { .. } => Err(Refusal::new(
            ErrorCode::AlreadyJoined,
            "you are knocking already",
        )),
        _ => Err(Refusal::new(
            ErrorCode::NotJoined,
            "you are waiting for a host to let you in",
        )),
    }
}

pub(super) fn lock(
    me: &Member,
    locked: bool,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
) -> Result<Outcome, Refusal> {
    require_host(me)?;
    if locked == room.locked {
        return Ok(Outcome::default());
    }
    let mut outcome = Outcome {
        lock: Some(locked),
        ..Outcome::default()
    };
    if !locked {
        // Unlocking opens the door to everyone waiting.
        let members: Vec<&Member> = room.others.iter().copied().chain([me]).collect();
        let door = RoomView {
            locked: false,
            ..room.clone()
        };
        let_in(&room.knocking, &members, &door, &mut outcome, limits, io);
    }
    // Those just let in learn that the room is open from their welcome; the rest first.
    let let_in: Vec<String> = outcome.updates.iter().map(|m| m.peer.id.clone()).collect();
    let by = Some(me.peer.id.as_str());
    let told = super::Send {
        to: Target::AllBut(let_in),
        frame: ServerFrame::Room { locked, by }.to_json(),
    };
    outcome.sends.insert(0, told);
    Ok(outcome)
}

pub(super) fn admit(
    me: &Member,
    id: &str,
    room: &RoomView,
    limits: &Limits,
    io: &impl RoomIo,
) -> Result<Outcome, Refusal> {
    require_host(me)?;
    let knock = knocking(room, id)?;
    if room.others.len() + 1 >= limits.max_peers {
        let message = format!("the room is full ({} people)", limits.max_peers);
        return Err(Refusal::new(ErrorCode::RoomFull, message));
    }
    let members: Vec<&Member> = room.others.iter().copied().chain([me]).collect();
    let mut outcome = Outcome::default();
    let_in(&[knock], &members, room, &mut outcome, limits, io);
    Ok(outcome)
}

pub(super) fn deny(me: &Member, id: &str, room: &RoomView) -> Result<Outcome, Refusal> {
    require_host(me)?;
    let knock = knocking(room, id)?;
    let message = format!("{} did not let you in", me.peer.nick);
    let mut outcome = Outcome {
        close_others: vec![(knock.id.clone(), close::DENIED)],
        ..Outcome::default()
    };
    outcome.push(
        Target::Peer(knock.id.clone()),
        ServerFrame::Error {
            code: ErrorCode::Denied,
            message: &message,
            host_nick: Some(&me.peer.nick),
        },
    );
    outcome
        .sends
        .push(knock_ended(&knock.id, KnockOutcome::Denied));
    Ok(outcome)
}

/// The knock a host answers, by its id.
fn knocking<'a>(room: &RoomView<'a>, id: &str) -> Result<&'a Knock, Refusal> {
    (room.knocking.iter().copied())
        .find(|knock| knock.id == id)
        .ok_or_else(|| Refusal::new(ErrorCode::UnknownPeer, format!("nobody {id:?} is knocking")))
}

/// Lets `knocks` in, oldest first, as far as the room has space (the rest are turned away
/// as from a full room). `members` is everyone in the room, and `room` says whether it is
/// locked (once they are in) and how it carries media. Each one let in gets a welcome listing
/// everyone before them, and everyone before them a `peer_joined`. With nobody in the room
/// (the last host is gone for good: see `host::settle`), the first one in is host and there
/// are no hosts to tell. When their coming makes the room larger than `mesh_max`, it moves to
/// the SFU, and those already in hear of it first.
pub(super) fn let_in(
    knocks: &[&Knock],
    members: &[&Member],
    room: &RoomView,
    outcome: &mut Outcome,
    limits: &Limits,
    io: &impl RoomIo,
) {
    let empty = members.is_empty();
    let space = limits.max_peers.saturating_sub(members.len());
    let (coming, turned_away) = knocks.split_at(space.min(knocks.len()));
    let admitted: Vec<Member> = (coming.iter().enumerate())
        .map(|(i, knock)| {
            let host = empty && i == 0;
            let id = knock.id.clone();
            let browser = knock.browser.clone();
            new_member(id, knock.nick.clone(), knock.webrtc, browser, host, io)
        })
        .collect();
    let to_sfu = sfu::switches(room.media, members.len() + admitted.len(), limits);
    if to_sfu {
        let coming = admitted.iter().map(|m| m.peer.id.clone()).collect();
        outcome.sends.push(sfu::switched(Target::AllBut(coming)));
        outcome.to_sfu = true;
    }
    let door = RoomView {
        others: vec![],
        knocking: vec![],
        locked: room.locked,
        media: if to_sfu { MediaMode::Sfu } else { room.media },
    };
    for (i, member) in admitted.iter().enumerate() {
        let before: Vec<&Member> = members.iter().copied().chain(&admitted[..i]).collect();
        let id = &member.peer.id;
        let to = Target::Peer(id.clone());
        let welcome = welcome(to, member, &before, false, &door, limits, io);
        outcome.sends.push(welcome);
        // Those let in after this one learn of them from their own welcome.
        let later: Vec<String> = admitted[i..].iter().map(|m| m.peer.id.clone()).collect();
        let joined = ServerFrame::PeerJoined {
            peer: &member.peer,
            count: before.len() + 1,
        };
        outcome.push(Target::AllBut(later), joined);
        if !empty {
            outcome.sends.push(knock_ended(id, KnockOutcome::Admitted));
        }
    }
    for knock in turned_away {
        let message = format!("this room is full ({} people)", limits.max_peers);
        let refusal = ServerFrame::Error {
            code: ErrorCode::RoomFull,
            message: &message,
            host_nick: None,
        };
        outcome.push(Target::Peer(knock.id.clone()), refusal);
        if !empty {
            outcome
                .sends
                .push(knock_ended(&knock.id, KnockOutcome::Left));
        }
        (outcome.close_others).push((knock.id.clone(), close::ROOM_FULL));
    }
    outcome.count_changed |= !admitted.is_empty();
    outcome.updates.extend(admitted);
}
