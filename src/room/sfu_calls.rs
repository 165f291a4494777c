//! The room's calls to the SFU (`relay::sfu` decides them, and what their answers mean).
//!
//! A call is made after everything else its frame caused, and the room goes on handling other
//! frames while it is under way: the Durable Object runs one event at a time, but an event
//! that awaits a fetch lets the next one in. So an answer is never applied to the record the
//! call was made from: the caller's attachment is read again when the answer is back, and
//! `relay::sfu::answered` decides with what it says then (a newer session, new tracks, or a
//! closed socket).
use futures::future::join_all;
use worker::{console_warn, WebSocket};

use super::relay::sfu::{self, Asked, Pending};
use super::relay::Conn;
use super::Room;
use crate::realtime::{ApiCall, ApiFailure, ApiResult};

impl Room {
    /// Makes the calls a frame asked for, side by side, each answered as it comes back.
    pub(super) async fn call_sfu(&self, ws: &WebSocket, calls: Vec<Pending>) {
        let calls = calls.into_iter().map(|pending| async move {
            match &pending.asked {
                Some(asked) => self.answer(ws, &pending.call, asked).await,
                None => self.close_unused(&pending.call).await,
            }
        });
        join_all(calls).await;
    }

    /// Makes a call a member is waiting for, and answers it.
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
        join_all(answered.cleanup.iter().map(|p| self.close_unused(&p.call))).await;
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
