//! Who is host, and what a host may do to the others: make them hosts, remove them, mute
//! them, stop their screen share, ask them to unmute (docs/protocol.md, "Hosts"). Every rule
//! is the room's: a page that shows no button proves nothing.
use super::{door, Member, Outcome, Refusal, RoomIo, RoomView, Target};
use crate::config::Limits;
use crate::protocol::{close, ErrorCode, PeerInfo, ServerFrame};

pub(super) fn require_host(me: &Member) -> Result<(), Refusal> {
    if me.peer.host {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::Forbidden,
        "only a host can do that",
    ))
}

/// The other member a host action names: never oneself, never anyone not in this room (ids
/// are only ever valid in the room that made them).
pub(super) fn target<'a>(
    me: &Member,
    id: &str,
    others: &[&'a Member],
) -> Result<&'a Member, Refusal> {
    if id == me.peer.id {
        return Err(Refusal::new(
            ErrorCode::UnknownPeer,
            "you cannot do that to yourself",
        ));
    }
    (others.iter().copied())
        .find(|m| m.peer.id == id)
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownPeer,
                format!("no peer {id:?} in this room"),
            )
        })
}

/// A person's full media state; `by` is the host who changed it.
pub(super) fn state_frame<'a>(peer: &'a PeerInfo, by: Option<&'a str>) -> ServerFrame<'a> {
    ServerFrame::State {
        id: &peer.id,
        muted: peer.muted,
        camera: peer.camera,
        screen: peer.screen,
        by,
    }
}

/// Removes someone: they are told who did it and closed (the room announces their departure
/// as for anyone leaving), their resume token dies with the socket, and their browser is kept
/// out until the room is forgotten.
pub(super) fn remove(me: &Member, id: &str, others: &[&Member]) -> Result<Outcome, Refusal> {
    require_host(me)?;
    let target = target(me, id, others)?;
    let message = format!("{} removed you from the room", me.peer.nick);
    let removed = ServerFrame::Error {
        code: ErrorCode::Removed,
        message: &message,
        host_nick: Some(&me.peer.nick),
    };
    Ok(Outcome {
        close_others: vec![(target.peer.id.clone(), close::REMOVED)],
        ban: target.browser.clone(),
        ..Outcome::default()
    }
    .send(Target::Peer(target.peer.id.clone()), removed))
}

pub(super) fn mute(me: &Member, id: &str, others: &[&Member]) -> Result<Outcome, Refusal> {
    require_host(me)?;
    let target = target(me, id, others)?;
    Ok(change_media(me, [target], |peer| &mut peer.muted, true))
}

/// Mutes everyone but the sender.
pub(super) fn mute_all(me: &Member, others: &[&Member]) -> Result<Outcome, Refusal> {
    require_host(me)?;
    Ok(change_media(
        me,
        others.iter().copied(),
        |peer| &mut peer.muted,
        true,
    ))
}

pub(super) fn stop_screen(me: &Member, id: &str, others: &[&Member]) -> Result<Outcome, Refusal> {
    require_host(me)?;
    let target = target(me, id, others)?;
    Ok(change_media(me, [target], |peer| &mut peer.screen, false))
}

/// Sets one media flag of each of `whom` to `value`, on the host `me`'s authority. A browser
/// cannot be muted from outside: the record changes at once for everyone to see, the person's
/// own page carries it out, and the others' pages stop playing the sound of anyone whose
/// record says muted. Those already so are left alone, and nobody hears of them.
fn change_media<'a>(
    me: &Member,
    whom: impl IntoIterator<Item = &'a Member>,
    flag: fn(&mut PeerInfo) -> &mut bool,
    value: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    for member in whom {
        let mut member = member.clone();
        if *flag(&mut member.peer) == value {
            continue;
        }
        *flag(&mut member.peer) = value;
        outcome.push(
            Target::Everyone,
            state_frame(&member.peer, Some(&me.peer.id)),
        );
        outcome.updates.push(member);
    }
    outcome
}

/// A host can never unmute anyone, only ask; asking only means something of someone muted
/// who has a microphone to turn on.
pub(super) fn ask_unmute(me: &Member, id: &str, others: &[&Member]) -> Result<Outcome, Refusal> {
    require_host(me)?;
    let target = target(me, id, others)?;
    if !target.peer.webrtc {
        let message = format!("peer {id:?} is here chat-only, without a microphone");
        return Err(Refusal::new(ErrorCode::ChatOnly, message));
    }
    if !target.peer.muted {
        let message = format!("peer {id:?} is not muted");
        return Err(Refusal::new(ErrorCode::BadMessage, message));
    }
    let ask = ServerFrame::AskUnmute { by: &me.peer.id };
    Ok(Outcome::default().send(Target::Peer(target.peer.id.clone()), ask))
}

/// `host`: a host makes someone else a host too, or (their own id, `false`) gives the role
/// up. Hosts cannot take the role from each other: there is no way to demote, so a host
/// cannot be locked out of their own room by a co-host.
pub(super) fn set_host(
    me: &mut Member,
    id: &str,
    host: bool,
    room: &RoomView,
) -> Result<Outcome, Refusal> {
    require_host(me)?;
    if id == me.peer.id && !host {
        return give_up(me, room);
    }
    if !host {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "hosts cannot take the role from each other",
        ));
    }
    let target = target(me, id, &room.others)?;
    let mut outcome = Outcome::default();
    if !target.peer.host {
        promote(target, Some(&me.peer.id), room, &mut outcome);
    }
    Ok(outcome)
}

/// A host gives the role up. If no other host remains, the member present longest takes it
/// at once: the room is never without one while people are in it.
fn give_up(me: &mut Member, room: &RoomView) -> Result<Outcome, Refusal> {
    let heir = match room.others.iter().any(|m| m.peer.host) {
        true => None,
        false => Some(longest_present(&room.others).ok_or_else(|| {
            Refusal::new(
                ErrorCode::Forbidden,
                "you are the only one here: the room needs a host",
            )
        })?),
    };
    me.peer.host = false;
    let id = me.peer.id.as_str();
    let gave_up = ServerFrame::Host {
        id,
        host: false,
        by: Some(id),
    };
    let mut outcome = Outcome::default().send(Target::Everyone, gave_up);
    if let Some(heir) = heir {
        promote(heir, None, room, &mut outcome);
    }
    Ok(outcome)
}

/// Makes `member` a host (`by` a host, or `None` when the room hands the role on), and shows
/// them who is at the door.
fn promote(member: &Member, by: Option<&str>, room: &RoomView, outcome: &mut Outcome) {
    let mut member = member.clone();
    member.peer.host = true;
    let id = &member.peer.id;
    let host = ServerFrame::Host { id, host: true, by };
    outcome.push(Target::Everyone, host);
    for knock in &room.knocking {
        outcome.push(
            Target::Peer(id.clone()),
            ServerFrame::Knock(&knock.knocker()),
        );
    }
    outcome.updates.push(member);
}

/// The member here longest (the earliest join; the id settles a tie).
fn longest_present<'a>(members: &[&'a Member]) -> Option<&'a Member> {
    (members.iter().copied())
        .min_by(|a, b| (a.peer.joined_at, &a.peer.id).cmp(&(b.peer.joined_at, &b.peer.id)))
}

/// What the room does whenever its last host may be gone for good: after a departure, and
/// when a resume window ends. The member present longest becomes host; with nobody left to
/// take the role, the room unlocks itself and lets everyone waiting in, the first of them as
/// host. Nothing happens while a host is present or may still come back with their resume
/// token: a host whose connection dropped keeps the role through the resume window.
pub fn settle(room: &RoomView, limits: &Limits, io: &impl RoomIo) -> Outcome {
    let mut outcome = Outcome::default();
    if room.others.iter().any(|m| m.peer.host) || io.host_may_return() {
        return outcome;
    }
    match longest_present(&room.others) {
        Some(heir) => promote(heir, None, room, &mut outcome),
        None if room.locked => {
            outcome.lock = Some(false);
            let open = RoomView {
                locked: false,
                ..room.clone()
            };
            door::let_in(&room.knocking, &[], &open, &mut outcome, limits, io);
        }
        None => {}
    }
    outcome
}
