//! The room's calls to the SFU (`relay::sfu` decides them, and what their answers mean).
//!
//! A call is made after everything else its frame caused, and the room goes on handling other
//! frames while it is under way: the Durable Object runs one event at a time, but an event
//! that awaits a fetch lets the next one in. So an answer is never applied to the record the
//! call was made from: the caller's attachment is read again when the answer is back, and
//! `relay::sfu::answered` decides with what it says then (a newer session, new tracks, or a
//! closed socket). An answer may lead to a next call of the same `sfu` call (a layer change
//! reads the session, then updates it), made and answered the same way, in the same turn.
//!
//! A member's calls are made one at a time, in the order their frames came (`CallLines`): the
//! SFU takes one change to a session at a time, and a page need not wait for one answer
//! before sending its next call (on joining, it sends its publish and its subscribe together).
//!
//! Closing a session nobody will use again (`Room::retire`) is not awaited by anything: it is
//! handed to the runtime, so that a departure, and whatever caused it (an operator's kick, a
//! host's removal, a sweep), is not held up by the SFU, and neither is the member's line.
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use futures::channel::oneshot;
use futures::future::{join, join_all};
use worker::{console_warn, WebSocket};

use super::relay::sfu::{self, Asked, Pending, Retired};
use super::relay::Conn;
use super::Room;
use crate::realtime::{ApiCall, ApiFailure, ApiResult};

/// Each member's line of calls to the SFU (by member id): a member is in here while a call of
/// theirs is under way, with the frames waiting behind it, each told when its turn comes.
#[derive(Default)]
pub(super) struct CallLines(RefCell<HashMap<String, VecDeque<oneshot::Sender<()>>>>);

impl CallLines {
    /// A place in `member`'s line, behind the calls already in it. Taken while the frame is
    /// handled, before anything awaits, so that calls keep the order of their frames.
    pub(super) fn place(&self, member: &str) -> Place<'_> {
        let mut lines = self.0.borrow_mut();
        let turn = match lines.get_mut(member) {
            Some(waiting) => {
                let (tell, turn) = oneshot::channel();
                waiting.push_back(tell);
                Some(turn)
            }
            None => {
                lines.insert(member.to_owned(), VecDeque::new());
                None
            }
        };
        Place {
            lines: self,
            member: member.to_owned(),
            turn,
        }
    }

    /// The call at the head of `member`'s line is done: the next one goes.
    fn next(&self, member: &str) {
        let mut lines = self.0.borrow_mut();
        let Some(waiting) = lines.get_mut(member) else {
            return;
        };
        // A frame whose handling was dropped while it waited has left the line.
        while let Some(tell) = waiting.pop_front() {
            if tell.send(()).is_ok() {
                return;
            }
        }
        lines.remove(member);
    }
}

/// A call's place in its member's line; the next call goes once this one is dropped.
pub(super) struct Place<'a> {
    lines: &'a CallLines,
    member: String,
    /// Told when the calls ahead are done; `None` once it is this call's turn.
    turn: Option<oneshot::Receiver<()>>,
}

impl Place<'_> {
    async fn my_turn(&mut self) {
        if let Some(turn) = self.turn.take() {
            // An error is a line dropped altogether: nobody is ahead any more either.
            let _ = turn.await;
        }
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        // Still waiting: it leaves the line without a turn (`next` skips it).
        if self.turn.is_none() {
            self.lines.next(&self.member);
        }
    }
}

impl Room {
    /// Makes the calls a frame caused: closing what nobody uses at once, and the call its
    /// sender waits for once its turn in the sender's line comes (`place`, taken when the frame
    /// came), answered as it comes back.
    pub(super) async fn call_sfu(
        &self,
        ws: &WebSocket,
        calls: Vec<Pending>,
        place: Option<Place<'_>>,
    ) {
        let (asked, unused): (Vec<_>, Vec<_>) = calls.into_iter().partition(|p| p.asked.is_some());
        let closing = join_all(unused.iter().map(|p| self.close_unused(&p.call)));
        let answering = async {
            // Dropped (and the line moves on) once the calls are answered.
            let mut place = place;
            if let Some(place) = place.as_mut() {
                place.my_turn().await;
            }
            for pending in &asked {
                if let Some(asked) = &pending.asked {
                    self.answer(ws, &pending.call, asked).await;
                }
            }
        };
        join(closing, answering).await;
    }

    /// Makes a call a member is waiting for, and answers it (or makes the next call its answer
    /// leads to, and answers that).
    async fn answer(&self, ws: &WebSocket, call: &ApiCall, asked: &Asked) {
        let result = self.call_api(call).await;
        // Read again: other frames may have changed the record while the call was under way.
        let conn = self.sockets.conn(ws);
        let caller = conn.member.as_ref().filter(|_| !conn.closed);
        let answered = sfu::answered(caller, call, asked, result);
        if let Some(member) = answered.member {
            let conn = Conn {
                member: Some(member),
                ..conn
            };
            if let Err(why) = self.sockets.store(ws, &conn) {
                console_warn!("storing a member's SFU session failed: {why}");
            }
        }
        self.deliver(Some(ws), Some(&asked.member), &answered.sends);
        if let Some(retired) = answered.retired {
            self.retire(retired);
        }
        join_all(answered.cleanup.iter().map(|p| self.close_unused(&p.call))).await;
        if let Some((call, asked)) = answered.next {
            Box::pin(self.answer(ws, &call, &asked)).await;
        }
    }

    /// Closes everything still active on a session nobody will use again (`sfu::Retired`):
    /// asks the SFU what the session has, then closes it. Returns at once: the calls go on in
    /// the background (the Durable Object's `waitUntil`; a Durable Object also stays up while a
    /// fetch of its own is under way), each bounded by `REALTIME_TIMEOUT_MS`. A failure only
    /// leaves the SFU tracks it collects itself once no media comes (its inactivity timeout).
    pub(super) fn retire(&self, retired: Retired) {
        let Some(realtime) = self.realtime.clone() else {
            console_warn!("a session to close on the SFU, and no SFU configured any more");
            return;
        };
        self.state.wait_until(async move {
            let found = realtime.call(&retired.look_up()).await;
            if let Err(why) = &found {
                console_warn!("looking up a session to close on the SFU failed: {why:?}");
            }
            let closing = retired.closing(found);
            for result in join_all(closing.iter().map(|call| realtime.call(call))).await {
                if let Err(why) = result {
                    console_warn!("closing a session's tracks on the SFU failed: {why:?}");
                }
            }
        });
    }

    /// Closes tracks nobody uses any more (their sender left, or a newer session or track took
    /// their place). Nobody waits for it; a failure only costs the SFU a track it collects
    /// itself once no media comes (its inactivity timeout).
    pub(super) async fn close_unused(&self, call: &ApiCall) {
        if let Err(why) = self.call_api(call).await {
            console_warn!("closing unused tracks on the SFU failed: {why:?}");
        }
    }

    async fn call_api(&self, call: &ApiCall) -> ApiResult {
        match &self.realtime {
            Some(realtime) => realtime.call(call).await,
            // The SFU was configured when the room moved to it, and is not any more.
            None => Err(ApiFailure::Unavailable(
                "this deployment has no SFU any more".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use futures::executor::block_on;
    use futures::future::join_all;

    use super::CallLines;

    /// Lines up a call for each name in one member's line, in that order (as their frames
    /// came), and returns the order they got their turns in. The calls are polled last first, so
    /// only the line can put them in order. `leaves` stops waiting before its turn (its frame's
    /// handling was dropped).
    fn turns(names: &[&'static str], leaves: Option<&str>) -> Vec<&'static str> {
        let lines = CallLines::default();
        let order = RefCell::new(Vec::new());
        let places: Vec<_> = names
            .iter()
            .map(|&name| (name, lines.place("ann")))
            .collect();
        let calls = (places.into_iter().rev())
            .filter_map(|(name, mut place)| {
                if Some(name) == leaves {
                    return None;
                }
                let order = &order;
                Some(async move {
                    place.my_turn().await;
                    order.borrow_mut().push(name);
                })
            })
            .collect::<Vec<_>>();
        block_on(join_all(calls));
        assert!(lines.0.borrow().is_empty(), "a line is forgotten once done");
        order.into_inner()
    }

    #[test]
    fn calls_take_their_turns_in_the_order_their_frames_came() {
        assert_eq!(
            turns(&["session", "publish", "subscribe"], None),
            ["session", "publish", "subscribe"]
        );
    }

    #[test]
    fn a_call_that_stops_waiting_leaves_the_line_to_the_next() {
        assert_eq!(
            turns(&["publish", "subscribe", "close"], Some("subscribe")),
            ["publish", "close"]
        );
        assert_eq!(
            turns(&["publish", "subscribe"], Some("publish")),
            ["subscribe"]
        );
    }

    #[test]
    fn members_have_lines_of_their_own() {
        let lines = CallLines::default();
        let _ann = lines.place("ann");
        let mut bob = lines.place("bob");
        // Bob's call does not wait behind Ann's.
        block_on(bob.my_turn());
    }
}
