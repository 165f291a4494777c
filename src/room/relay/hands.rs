//! What everyone in a call may do besides talking: raise a hand, and react.
use super::host::{require_host, target};
use super::{Member, Outcome, Refusal, Target};
use crate::protocol::{ErrorCode, ServerFrame, REACTIONS};

/// Raises or lowers my hand (`id` absent or mine), or, for a host, lowers someone else's. A
/// raised hand keeps the time it went up, so pages list hands in the order raised; raising it
/// again changes nothing.
pub(super) fn hand(
    me: &mut Member,
    raised: bool,
    id: Option<&str>,
    others: &[&Member],
    now: u64,
) -> Result<Outcome, Refusal> {
    let Some(id) = id.filter(|id| *id != me.peer.id) else {
        let hand = if raised {
            me.peer.hand.or(Some(now))
        } else {
            None
        };
        if hand == me.peer.hand {
            return Ok(Outcome::default());
        }
        me.peer.hand = hand;
        let peer = &me.peer;
        let frame = ServerFrame::Hand {
            id: &peer.id,
            hand,
            by: &peer.id,
        };
        return Ok(Outcome::default().send(Target::Everyone, frame));
    };
    if raised {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "you can only raise your own hand",
        ));
    }
    require_host(me)?;
    let mut target = target(me, id, others)?.clone();
    if target.peer.hand.is_none() {
        return Ok(Outcome::default());
    }
    target.peer.hand = None;
    let frame = ServerFrame::Hand {
        id: &target.peer.id,
        hand: None,
        by: &me.peer.id,
    };
    let outcome = Outcome::default().send(Target::Everyone, frame);
    Ok(Outcome {
        updates: vec![target],
        ..outcome
    })
}

/// A reaction from the fixed set, shown for a moment and never kept.
pub(super) fn react(me: &Member, emoji: &str) -> Result<Outcome, Refusal> {
    if !REACTIONS.contains(&emoji) {
        let message = format!("a reaction is one of {}", REACTIONS.join(" "));
        return Err(Refusal::new(ErrorCode::BadMessage, message));
    }
    let frame = ServerFrame::Reaction {
        from: &me.peer.id,
        emoji,
    };
    Ok(Outcome::default().send(Target::Everyone, frame))
}
