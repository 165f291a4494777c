//! The room Durable Object: one per room name, holding every participant's websocket.
//!
//! Sockets are accepted with the Hibernation API, so an idle room is evicted from memory while
//! everyone stays connected, and costs nothing. After a wake-up, the sockets and their
//! attachments (the person on each, see `relay::Conn`) are the whole truth.
//!
//! What a frame causes is decided in `relay` (pure) and returned as an `Outcome`; this file
//! has the Durable Object's event handlers and applies outcomes, departures and sweeps. The
//! rest of the room lives beside it:
//!
//! - `sockets`: the sockets and their attachments, read once per wake-up and kept in memory;
//! - `storage`: every SQL statement (the room's privacy, the records of people who may still
//!   resume);
//! - `history`: the last chat lines, written to key-value storage in batches;
//! - `lobby_report`: telling the lobby the head count, one report at a time;
//! - `api`: the room's internal HTTP API (`peers`, `kick`), both the calls and their shapes;
//! - `sfu_calls`: the calls to the SFU (`relay::sfu` decides them and what their answers mean).
//!
//! One alarm, only while it has work: closing sockets that do not join in time (or whose
//! knock nobody answered), sweeping for vanished sockets while the room is occupied, handing
//! the host role on when a host's resume window ends, and forgetting the room once it is
//! empty and nobody can come back. A room stores nothing until someone joins, and nothing
//! once it is forgotten.
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::value::RawValue;
use worker::*;

use crate::admission::{self, Limit};
use crate::config::Limits;
use crate::ice::{IceAnswer, IceConfig};
use crate::protocol::{close, KnockOutcome, MediaMode};
use crate::realtime::RealtimeConfig;
use crate::{http, ids, lobby};

mod api;
mod history;
mod lobby_report;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests;
pub mod relay;
mod sfu_calls;
mod sockets;
mod storage;

pub use api::{kick, peers, stub, Kicked, Peers};
use history::History;
use lobby_report::LobbyReports;
use relay::{Bucket, Conn, Incoming, Member, Outcome, Resumed, RoomIo, RoomView, Send};
use sfu_calls::CallLines;
use sockets::Sockets;
use storage::RoomStore;

#[durable_object]
pub struct Room {
    state: State,
    env: Env,
    /// The room's name: the front door reaches a room only by name (`get_by_name`), and the
    /// runtime hands the name to the object, even after an eviction.
    name: Option<String>,
    limits: Limits,
    /// STUN and TURN servers, for members' `welcome` and `ice` frames.
    ice: IceConfig,
    /// The SFU rooms move to when they grow, if the deployment has one.
    realtime: Option<RealtimeConfig>,
    sockets: Sockets,
    store: RoomStore,
    /// The last chat lines, for joiners; written to storage in batches.
    history: Rc<History>,
    lobby_reports: LobbyReports,
    /// When the pending alarm goes off (unix ms), once this instance knows: joins do not ask
    /// storage again.
    alarm_at: Cell<Option<u64>>,
    /// The room's knock budget (`Limits::knock_rate`). In memory only: a room is only evicted
    /// after a quiet while, in which the bucket would have refilled anyway.
    knocks: RefCell<Bucket>,
    /// The room's budget of new sockets (`Limits::socket_rate`), in memory like `knocks`.
    upgrades: RefCell<Bucket>,
    /// Each member's calls to the SFU under way or waiting, so they go one at a time.
    sfu_lines: CallLines,
}

/// Whether a departure can be undone with the resume token: a lost connection can, leaving on
/// purpose or being removed cannot.
#[derive(Clone, Copy, PartialEq)]
enum Departure {
    Lost,
    Final,
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        // Heartbeats are answered by the runtime itself, without waking the room.
        if let Ok(pair) = worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        let realtime = RealtimeConfig::from_env(&env);
        let limits = Limits::from_vars(|name| env.var(name).ok().map(|v| v.to_string()));
        let limits = match realtime {
            Some(_) => limits.with_sfu(),
            None => limits,
        };
        let history = History::new(raw_storage(&state), limits.history_len);
        let ice = IceConfig::from_env(&env);
        Self {
            name: state.id().name(),
            sockets: Sockets::new(&state),
            store: RoomStore::open(state.storage()),
            state,
            env,
            limits,
            ice,
            realtime,
            history,
            lobby_reports: LobbyReports::default(),
            alarm_at: Cell::new(None),
            knocks: RefCell::new(Bucket::default()),
            upgrades: RefCell::new(Bucket::default()),
            sfu_lines: CallLines::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Get, api::PEERS_PATH) => {
                self.sweep().await;
                http::json(200, &self.peers())
            }
            (Method::Post, api::KICK_PATH) => match req.json::<api::Kick>().await {
                Ok(kick) => self.kick(&kick.id).await,
                Err(_) => http::error(400, "bad_request", "expected {\"id\": \"…\"}"),
            },
            _ => self.accept(&req).await,
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let sockets = self.sockets.all();
        let conn = self.sockets.conn(&ws);
        if conn.closed {
            return Ok(());
        }
        let my_id = conn.member.as_ref().map(|m| m.peer.id.as_str());
        let room = RoomView {
            others: sockets.members_except(my_id),
            knocking: sockets.knocking(),
            locked: self.store.is_locked(),
            media: self.store.media(),
        };
        let incoming = match &message {
            WebSocketIncomingMessage::String(text) => Incoming::Text(text),
            WebSocketIncomingMessage::Binary(_) => Incoming::Binary,
        };
        let outcome = relay::on_frame(&conn, incoming, &room, &self.limits, self);
        self.apply(&ws, &conn, outcome).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        // Answering the client's close completes the handshake (see `close::echo`).
        self.close(&ws, close::echo(code), Departure::Lost).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.close(&ws, close::NORMAL, Departure::Lost).await;
        Ok(())
    }

    /// Closes sockets that overstayed (see `sweep`), forgets the resume records as they
    /// expire, and comes back when there is more to do; once the room is empty and nobody can
    /// come back, forgets the room itself.
    async fn alarm(&self) -> Result<Response> {
        self.alarm_at.set(None);
        self.sweep().await;
        let now = self.now_ms();
        (self.store).expire_departures(now.saturating_sub(self.limits.resume_window_ms))?;
        // A host whose resume window just ended is gone for good.
        self.settle().await;
        match self.next_alarm(now) {
            Some(delay_ms) => self.alarm_within(delay_ms).await,
            // Nobody is here and nobody can come back: the room leaves nothing behind.
            None => self.store.wipe().await?,
        }
        Response::ok("")
    }
}

impl RoomIo for Room {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn random_id(&self) -> String {
        ids::random_hex(8)
    }

    fn history(&self) -> Vec<Box<RawValue>> {
        (self.history.lines().into_iter())
            .filter_map(|line| RawValue::from_string(line).ok())
            .collect()
    }

    fn departed(&self, token: &str) -> Option<Member> {
        let since = self.now_ms().saturating_sub(self.limits.resume_window_ms);
        self.store.departed(token, since)
    }

    fn ice(&self, member_id: &str) -> IceAnswer {
        self.ice.for_member(self.now_ms() / 1000, member_id)
    }

    fn host_may_return(&self) -> bool {
        let since = self.now_ms().saturating_sub(self.limits.resume_window_ms);
        self.store.host_departed(since)
    }

    fn is_removed(&self, browser: &str) -> bool {
        self.store.is_removed(browser)
    }

    fn take_knock(&self) -> bool {
        (self.knocks.borrow_mut()).take(self.now_ms(), self.limits.knock_rate)
    }
}

impl Room {
    /// Upgrades a connection (the front door has checked the room's name and the limit on
    /// the caller's network). A room holds at most `max_sockets` sockets and takes new ones at
    /// `socket_rate`, counted here rather than by a rate-limiting binding in the front door:
    /// the room is the one place that sees every socket opened to it, and the count costs
    /// nothing on the way in. The first socket into an empty room creates it, which is
    /// limited per network.
    async fn accept(&self, req: &Request) -> Result<Response> {
        if self.name.is_none() {
            return http::error(400, "bad_room_name", "rooms are reached by name");
        }
        let open = self.sockets.all().iter().count();
        let within_rate =
            || (self.upgrades.borrow_mut()).take(self.now_ms(), self.limits.socket_rate);
        if open >= self.limits.max_sockets || !within_rate() {
            return Limit::SocketsPerRoom.refuse();
        }
        let creating = open == 0 && self.store.oldest_departure().is_none();
        if creating {
            let network = admission::network(req);
            if !admission::admit(&self.env, Limit::RoomsPerNetwork, &network).await {
                return Limit::RoomsPerNetwork.refuse();
            }
        }
        let pair = WebSocketPair::new()?;
        let now = self.now_ms();
        let fresh = Conn {
            seen_ms: now,
            opened_ms: now,
            ..Conn::default()
        };
        self.sockets.accept(&pair.server, &fresh)?;
        // The alarm closes the socket if it has not joined by then.
        self.alarm_within(self.limits.join_timeout_ms + 1).await;
        Response::from_websocket(pair.client)
    }

    /// Carries out what one frame caused, in the order `Outcome` documents.
    async fn apply(&self, ws: &WebSocket, before: &Conn, outcome: Outcome) -> Result<()> {
        let Outcome {
            conn,
            sends,
            make_private,
            chat,
            close,
            count_changed,
            resumed,
            updates,
            close_others,
            lock,
            ban,
            to_sfu,
            sfu,
            retired,
        } = outcome;
        let sender = conn.member.as_ref().map(|m| m.peer.id.clone());
        // Before anything awaits: the sender's calls to the SFU go in the order of their frames.
        let place = (sfu.iter().find_map(|p| p.asked.as_ref()))
            .map(|asked| self.sfu_lines.place(&asked.member));
        // The attachment is written when the person on the socket changes (a join, a rename,
        // a media state, a knock), not for every frame's budget and time.
        if conn.member == before.member && conn.knock == before.knock {
            self.sockets.remember(ws, &conn);
        } else {
            self.sockets.store(ws, &conn)?;
        }
        match &resumed {
            Some(Resumed::TookOver { old_id }) => {
                // Closed without a farewell: the person is still here, on this socket.
                let sockets = self.sockets.all();
                let old = (sockets.iter())
                    .find(|s| s.ws != *ws && s.member().is_some_and(|m| m.peer.id == *old_id));
                if let Some(old) = old {
                    self.sockets.close(&old.ws, close::REPLACED);
                }
            }
            Some(Resumed::Returned { token }) => self.store.forget_departure(token)?,
            None => {}
        }
        if make_private {
            self.store.make_private();
        }
        self.rewrite(updates, lock, ban, to_sfu);
        self.deliver(Some(ws), sender.as_deref(), &sends);
        if let Some(frame) = chat {
            self.history.push(frame);
        }
        if let Some(code) = close {
            self.close(ws, code, Departure::Final).await;
        }
        for (id, code) in close_others {
            if let Some(other) = self.sockets.all().of_id(&id).cloned() {
                self.close(&other.ws, code, Departure::Final).await;
            }
        }
        if count_changed {
            self.alarm_within(self.limits.sweep_interval_ms).await;
        }
        if count_changed || lock.is_some() || !self.lobby_reports.sent_since_wake() {
            self.report().await;
        }
        if let Some(retired) = retired {
            self.retire(retired);
        }
        self.call_sfu(ws, sfu, place).await;
        Ok(())
    }

    /// Stores what a frame (or the room itself) changed besides the sender: other people's
    /// records, the lock, a removed browser, a move to the SFU.
    fn rewrite(&self, updates: Vec<Member>, lock: Option<bool>, ban: Option<String>, to_sfu: bool) {
        let sockets = self.sockets.all();
        for member in updates {
            let Some(socket) = sockets.of_id(&member.peer.id) else {
                continue;
            };
            let conn = Conn {
                member: Some(member),
                knock: None,
                ..socket.conn.clone()
            };
            if let Err(why) = self.sockets.store(&socket.ws, &conn) {
                console_warn!("storing a changed member failed: {why}");
            }
        }
        if let Some(locked) = lock {
            self.store.set_locked(locked);
        }
        if let Some(browser) = ban {
            self.store.remove_browser(&browser);
        }
        if to_sfu {
            self.store.set_media(MediaMode::Sfu);
        }
    }

    /// Delivers frames to the room as it is now, so that someone just let in or made host
    /// counts as such.
    fn deliver(&self, sender: Option<&WebSocket>, sender_id: Option<&str>, sends: &[Send]) {
        let sockets = self.sockets.all();
        for send in sends {
            sockets.deliver(sender, sender_id, &send.to, &send.frame);
        }
    }

    /// Closes a socket, and whoever was on it departs. Exactly once: the socket is marked
    /// closed before anything else, so a later close event for it, or a frame still on its
    /// way, finds nobody there. A knocker the room turned away (`relay::door`) was announced
    /// to the hosts with the reason; one that goes otherwise gave up, and the hosts hear that.
    async fn close(&self, ws: &WebSocket, code: u16, how: Departure) {
        let Conn { member, knock, .. } = self.sockets.conn(ws);
        let turned_away = matches!(code, close::DENIED | close::ROOM_FULL);
        self.sockets.close(ws, code);
        if let Some(member) = member {
            self.depart(ws, &member, how).await;
        }
        if let Some(knock) = knock.filter(|_| !turned_away) {
            let ended = relay::knock_ended(&knock.id, KnockOutcome::Left);
            self.deliver(None, None, &[ended]);
        }
    }

    /// Everyone left hears that `member` is gone, and the room settles who is host; then
    /// everything still active on their SFU session is closed, in the background (`retire`):
    /// nothing waits on the SFU for that.
    async fn depart(&self, ws: &WebSocket, member: &Member, how: Departure) {
        if how == Departure::Lost {
            self.store.record_departure(member, self.now_ms());
        }
        let sockets = self.sockets.all();
        let remaining = sockets.members_except(Some(&member.peer.id)).len();
        let left = relay::on_leave(member, remaining);
        sockets.deliver(Some(ws), Some(&member.peer.id), &left.to, &left.frame);
        if remaining == 0 {
            // The conversation is over: the history and the media mode go now, the rest
            // (privacy included) when the alarm finds the room still empty after the resume
            // window.
            self.store.set_media(MediaMode::Mesh);
            self.history.clear().await;
            self.alarm_within(self.limits.sweep_interval_ms).await;
        }
        self.settle().await;
        self.report().await;
        if let Some(retired) = relay::sfu::departure(member) {
            self.retire(retired);
        }
    }

    /// Hands the host role on, or opens the door, if the last host is gone for good
    /// (`relay::settle`). It never closes a member's socket, so it cannot lead to another
    /// departure.
    async fn settle(&self) {
        let sockets = self.sockets.all();
        let room = RoomView {
            others: sockets.members().collect(),
            knocking: sockets.knocking(),
            locked: self.store.is_locked(),
            media: self.store.media(),
        };
        let outcome = relay::settle(&room, &self.limits, self);
        self.rewrite(outcome.updates, outcome.lock, None, outcome.to_sfu);
        self.deliver(None, None, &outcome.sends);
        for (id, code) in outcome.close_others {
            if let Some(knocker) = self.sockets.all().of_id(&id) {
                self.sockets.close(&knocker.ws, code);
            }
        }
        if outcome.count_changed {
            self.alarm_within(self.limits.sweep_interval_ms).await;
            self.report().await;
        }
    }

    /// Closes the sockets that overstayed (`relay::overdue`): members gone silent (no frame
    /// and no ping for the heartbeat timeout), who vanished without a close and are announced
    /// as gone, and sockets that never joined.
    async fn sweep(&self) {
        let now = self.now_ms();
        for socket in self.sockets.all().iter() {
            let last_heard = self.sockets.last_heard_ms(socket);
            if let Some(code) = relay::overdue(&socket.conn, last_heard, now, &self.limits) {
                self.close(&socket.ws, code, Departure::Lost).await;
            }
        }
    }

    /// How long until the alarm has work again, or `None` when the room is done with: the
    /// next sweep while anyone is here, the deadline of a socket that has not joined, the end
    /// of the oldest departure's resume window.
    fn next_alarm(&self, now: u64) -> Option<u64> {
        let sockets = self.sockets.all();
        let sweep = (sockets.members().next()).map(|_| self.limits.sweep_interval_ms);
        let join_deadline = (sockets.iter())
            .filter_map(|socket| relay::waiting_deadline(&socket.conn, &self.limits))
            .map(|(deadline, _)| deadline + 1)
            .min();
        let resume_ends =
            (self.store.oldest_departure()).map(|oldest| oldest + self.limits.resume_window_ms + 1);
        let until = |at: u64| at.saturating_sub(now);
        [sweep, join_deadline.map(until), resume_ends.map(until)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Makes sure the alarm goes off within `delay_ms` (see `alarm`).
    async fn alarm_within(&self, delay_ms: u64) {
        let due = self.now_ms() + delay_ms;
        if self.alarm_at.get().is_some_and(|at| at <= due) {
            return;
        }
        let storage = self.state.storage();
        if let Ok(Some(at)) = storage.get_alarm().await {
            let at = u64::try_from(at).unwrap_or_default();
            if at <= due {
                self.alarm_at.set(Some(at));
                return;
            }
        }
        match storage.set_alarm(delay_ms as i64).await {
            Ok(()) => self.alarm_at.set(Some(due)),
            Err(why) => console_warn!("setting the room alarm failed: {why}"),
        }
    }

    /// Tells the lobby the room's head count, privacy and lock as they are when the report
    /// leaves.
    async fn report(&self) {
        let current = || {
            let count = self.sockets.all().members().count();
            Some(lobby::Report {
                name: self.name.clone()?,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                private: self.store.is_private(),
                locked: self.store.is_locked(),
            })
        };
        let send = |report: lobby::Report| async move {
            if let Err(why) = lobby::report_count(&self.env, &report).await {
                console_warn!("room {}: reporting to the lobby failed: {why}", report.name);
            }
        };
        self.lobby_reports.report(current, send).await;
    }

    /// The room's own account of itself, for `api::peers`.
    fn peers(&self) -> Peers {
        let peers: Vec<_> = (self.sockets.all().members())
            .map(|m| m.peer.clone())
            .collect();
        Peers {
            name: self.name.clone(),
            private: self.store.is_private(),
            locked: self.store.is_locked(),
            count: peers.len(),
            peers,
        }
    }

    /// An operator removes someone: their socket is closed with 4003, the others are told,
    /// and the resume token dies with it. The answer does not wait on the SFU: closing their
    /// session there goes on in the background (`retire`).
    async fn kick(&self, id: &str) -> Result<Response> {
        let sockets = self.sockets.all();
        let Some(socket) = sockets.of_id(id).filter(|s| s.member().is_some()).cloned() else {
            return http::error(404, "unknown_peer", "no such peer in this room");
        };
        self.close(&socket.ws, close::REMOVED, Departure::Final)
            .await;
        http::ok()
    }
}

/// The storage object itself, for the calls workers-rs does not wrap (see `history`).
fn raw_storage(state: &State) -> wasm_bindgen::JsValue {
    let storage = state.storage();
    let raw: &wasm_bindgen::JsValue = storage.as_raw().as_ref();
    raw.clone()
}
