//! The room Durable Object: one per room name, holding every participant's websocket.
//!
//! Sockets are accepted with the Hibernation API, so an idle room is evicted from memory while
//! everyone stays connected, and costs nothing. Each socket's attachment (`relay::Conn`) holds
//! the person on it, written whenever that changes, and its rate budgets and when it was last
//! heard from as of that write (in between they live in memory); after a wake-up,
//! `state.get_websockets()` and those attachments are the whole truth. What goes to whom is
//! decided in `relay`; this file applies it: stores attachments, writes history, sends, closes.
//!
//! Storage: the last chat messages (key-value, see `history`); in SQLite the room's name, its
//! privacy, and for the resume window the people who lost their connection. One alarm, only
//! while it has work: sweeping for vanished sockets while the room is occupied, and forgetting
//! the room once it is empty.
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::Deserialize;
use serde_json::value::RawValue;
use wasm_bindgen::JsCast;
use worker::*;

use crate::config::Limits;
use crate::protocol::{close, PeerInfo};
use crate::room_name::RoomName;
use crate::{http, ids, lobby};

mod history;
use history::History;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests;
pub mod relay;
use relay::{Conn, Incoming, Member, Outcome, Resumed, RoomIo, Target};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS departed (resume TEXT PRIMARY KEY, member TEXT NOT NULL, left_ms INTEGER NOT NULL);";

#[durable_object]
pub struct Room {
    state: State,
    env: Env,
    limits: Limits,
    /// False until this instance has told the lobby its count: a room that was evicted and
    /// woken reports once, so a lobby that missed a report converges.
    reported_since_wake: Cell<bool>,
    /// True while a report is on its way to the lobby (see `report`).
    reporting: Cell<bool>,
    /// A change the lobby has not been sent yet.
    report_due: Cell<bool>,
    /// True once this instance knows an alarm is pending: joins do not ask storage again.
    alarm_pending: Cell<bool>,
    /// The room's name and privacy as stored in SQLite, read once per wake-up.
    meta: RefCell<Option<Meta>>,
    /// The last chat lines, for joiners; written to storage in batches.
    history: Rc<History>,
    /// Every socket with its attachment, as this instance last read or wrote it (`store`
    /// writes through), so that a frame does not read them all again: a structured clone, a
    /// copy into wasm and a JSON parse per socket per frame was the room's largest cost.
    /// Read from the runtime on first use after a wake-up.
    known: RefCell<Option<Vec<Rc<Socket>>>>,
}

/// What the room stores about itself (the `meta` table).
#[derive(Clone, Default)]
struct Meta {
    name: Option<String>,
    private: bool,
}

/// One socket and its attachment.
struct Socket {
    ws: WebSocket,
    conn: Conn,
}

impl Socket {
    fn member(&self) -> Option<&Member> {
        self.conn.member.as_ref()
    }
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
        if let Err(why) = state.storage().sql().exec(SCHEMA, None) {
            console_error!("room schema: {why}");
        }
        let limits = Limits::from_vars(|name| env.var(name).ok().map(|v| v.to_string()));
        let history = History::new(raw_storage(&state), limits.history_len);
        Self {
            state,
            env,
            limits,
            reported_since_wake: Cell::new(false),
            reporting: Cell::new(false),
            report_due: Cell::new(false),
            alarm_pending: Cell::new(false),
            meta: RefCell::new(None),
            history,
            known: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Get, "/internal/peers") => {
                self.sweep().await;
                self.peers_report()
            }
            (Method::Post, "/internal/kick") => {
                #[derive(Deserialize)]
                struct Kick {
                    id: String,
                }
                match req.json::<Kick>().await {
                    Ok(kick) => self.kick(&kick.id).await,
                    Err(_) => http::error(400, "bad_request", "expected {\"id\": \"…\"}"),
                }
            }
            _ => self.accept(&req),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let sockets = self.sockets();
        let conn = self.conn(&ws);
        let my_id = conn.member.as_ref().map(|m| m.peer.id.as_str());
        let others = joined_except(&sockets, my_id);
        let incoming = match &message {
            WebSocketIncomingMessage::String(text) => Incoming::Text(text),
            WebSocketIncomingMessage::Binary(_) => Incoming::Binary,
        };
        let outcome = relay::on_frame(&conn, incoming, &others, &self.limits, self);
        self.apply(&ws, &conn, outcome, &sockets).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.depart(&ws, Departure::Lost).await;
        self.forget(&ws);
        ws.close(Some(close::echo(code)), Some("closed")).ok();
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.depart(&ws, Departure::Lost).await;
        self.forget(&ws);
        Ok(())
    }

    /// Sweeps for vanished sockets while the room is occupied; once it is empty, forgets the
    /// resume records as they expire and then the room itself.
    async fn alarm(&self) -> Result<Response> {
        self.alarm_pending.set(false);
        self.sweep().await;
        let now = self.now_ms();
        let expired_before = now.saturating_sub(self.limits.resume_window_ms) as f64;
        self.sql().exec(
            "DELETE FROM departed WHERE left_ms < ?",
            vec![expired_before.into()],
        )?;
        let storage = self.state.storage();
        if self.sockets().iter().any(|s| s.member().is_some()) {
            storage
                .set_alarm(self.limits.sweep_interval_ms as i64)
                .await?;
            self.alarm_pending.set(true);
        } else if let Some(oldest) = self.oldest_departure() {
            let due = oldest + self.limits.resume_window_ms + 1;
            storage.set_alarm(due.saturating_sub(now) as i64).await?;
            self.alarm_pending.set(true);
        } else {
            // Nobody is here and nobody can come back: the room leaves nothing behind.
            storage.delete_all().await?;
            self.meta.replace(None);
            self.sql().exec(SCHEMA, None)?;
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
        #[derive(Deserialize)]
        struct Row {
            member: String,
        }
        let since = self.now_ms().saturating_sub(self.limits.resume_window_ms) as f64;
        let query = "SELECT member FROM departed WHERE resume = ? AND left_ms >= ?";
        let cursor = self
            .sql()
            .exec(query, vec![token.into(), since.into()])
            .ok()?;
        let row = cursor.to_array::<Row>().ok()?.pop()?;
        serde_json::from_str(&row.member).ok()
    }
}

impl Room {
    /// Upgrades a connection: the router has validated the name already.
    fn accept(&self, req: &Request) -> Result<Response> {
        let segment = req
            .path()
            .strip_prefix("/ws/rooms/")
            .unwrap_or_default()
            .to_owned();
        let Ok(name) = RoomName::from_path_segment(&segment) else {
            return http::error(400, "bad_room_name", "not a room path");
        };
        self.set_name(name.as_str());
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        self.store(
            &pair.server,
            &Conn {
                seen_ms: self.now_ms(),
                ..Conn::default()
            },
        )?;
        Response::from_websocket(pair.client)
    }

    /// Every socket and its attachment: from `known`, read from the runtime once per wake-up.
    fn sockets(&self) -> Vec<Rc<Socket>> {
        if let Some(known) = self.known.borrow().as_ref() {
            return known.clone();
        }
        let sockets: Vec<Rc<Socket>> = (self.state.get_websockets().into_iter())
            .map(|ws| {
                Rc::new(Socket {
                    conn: attachment(&ws),
                    ws,
                })
            })
            .collect();
        *self.known.borrow_mut() = Some(sockets.clone());
        sockets
    }

    /// A socket's attachment as this instance knows it.
    fn conn(&self, ws: &WebSocket) -> Conn {
        let known = self.known.borrow();
        let socket = known.iter().flatten().find(|s| s.ws == *ws);
        socket.map_or_else(|| attachment(ws), |s| s.conn.clone())
    }

    /// Stores a socket's attachment (as JSON text: a string crosses from JavaScript into wasm
    /// in one piece, where an object costs a property read and a conversion per field).
    fn store(&self, ws: &WebSocket, conn: &Conn) -> Result<()> {
        ws.serialize_attachment(serde_json::to_string(conn)?)?;
        self.remember(ws, conn);
        Ok(())
    }

    /// Updates a socket's attachment in `known` only. An eviction loses the change, which is
    /// only ever the rate budgets and the last-heard time: a room is only evicted after seconds
    /// of silence, by which the budgets have refilled, and the runtime's record of the last
    /// `ping` then says more about a socket's liveness than its last frame.
    fn remember(&self, ws: &WebSocket, conn: &Conn) {
        if let Some(known) = self.known.borrow_mut().as_mut() {
            let socket = Rc::new(Socket {
                ws: ws.clone(),
                conn: conn.clone(),
            });
            match known.iter_mut().find(|s| s.ws == *ws) {
                Some(slot) => *slot = socket,
                None => known.push(socket),
            }
        }
    }

    /// Closes a socket from our side with `code` and its documented reason.
    fn close(&self, ws: &WebSocket, code: u16) {
        ws.close(Some(code), Some(close_reason(code))).ok();
        self.forget(ws);
    }

    /// Drops a closed socket from `known`.
    fn forget(&self, ws: &WebSocket) {
        if let Some(known) = self.known.borrow_mut().as_mut() {
            known.retain(|s| s.ws != *ws);
        }
    }

    async fn apply(
        &self,
        ws: &WebSocket,
        before: &Conn,
        outcome: Outcome,
        sockets: &[Rc<Socket>],
    ) -> Result<()> {
        let sender = outcome.conn.member.as_ref().map(|m| m.peer.id.clone());
        // The attachment is written when the person on the socket changes (a join, a rename,
        // a media state), not for every frame's budget and time.
        if outcome.conn.member == before.member {
            self.remember(ws, &outcome.conn);
        } else {
            self.store(ws, &outcome.conn)?;
        }
        match &outcome.resumed {
            Some(Resumed::TookOver { old_id }) => {
                if let Some(old) = sockets
                    .iter()
                    .find(|s| s.member().is_some_and(|m| &m.peer.id == old_id))
                {
                    let conn = Conn {
                        member: None,
                        ..old.conn.clone()
                    };
                    self.store(&old.ws, &conn).ok();
                    self.close(&old.ws, close::REPLACED);
                }
            }
            Some(Resumed::Returned { token }) => {
                self.sql().exec(
                    "DELETE FROM departed WHERE resume = ?",
                    vec![token.as_str().into()],
                )?;
            }
            None => {}
        }
        if let Some(private) = outcome.room_private {
            self.set_private(private);
        }
        for send in &outcome.sends {
            deliver(ws, sender.as_deref(), &send.to, &send.frame, sockets);
        }
        if let Some(frame) = outcome.chat {
            self.history.push(frame);
        }
        if let Some(code) = outcome.close {
            if before.member.is_some() {
                self.depart(ws, Departure::Final).await;
            }
            self.close(ws, code);
        }
        if outcome.count_changed {
            self.keep_sweeping().await;
        }
        if outcome.count_changed || !self.reported_since_wake.get() {
            self.report().await;
        }
        Ok(())
    }

    /// Everyone left hears that the person on `ws` is gone, exactly once: the attachment is
    /// cleared first, so a later close event for the same socket finds nobody to announce.
    async fn depart(&self, ws: &WebSocket, how: Departure) {
        let mut conn = self.conn(ws);
        let Some(member) = conn.member.take() else {
            return;
        };
        self.store(ws, &conn).ok();
        if how == Departure::Lost {
            let query =
                "INSERT OR REPLACE INTO departed (resume, member, left_ms) VALUES (?, ?, ?)";
            let record = serde_json::to_string(&member).unwrap_or_default();
            let now = self.now_ms() as f64;
            self.sql()
                .exec(
                    query,
                    vec![member.resume.as_str().into(), record.into(), now.into()],
                )
                .ok();
        }
        let sockets = self.sockets();
        let remaining = joined_except(&sockets, Some(&member.peer.id)).len();
        let left = relay::on_leave(&member, remaining);
        deliver(ws, Some(&member.peer.id), &left.to, &left.frame, &sockets);
        if remaining == 0 {
            // The conversation is over: the history goes now, the rest when the alarm finds
            // the room still empty after the resume window.
            self.history.clear().await;
            self.set_private(false);
            self.keep_sweeping().await;
        }
        self.report().await;
    }

    /// Closes sockets that have gone silent (no frame and no ping for the heartbeat timeout):
    /// a client that vanished without a close is announced as gone.
    async fn sweep(&self) {
        let now = self.now_ms();
        for socket in self.sockets() {
            let last_heard = socket
                .conn
                .seen_ms
                .max(self.last_ping_ms(&socket.ws).unwrap_or(0));
            if relay::is_silent(now, last_heard, &self.limits) {
                self.depart(&socket.ws, Departure::Lost).await;
                self.close(&socket.ws, close::TIMED_OUT);
            }
        }
    }

    /// When the runtime last answered a `ping` on this socket for us (it does so without
    /// waking the room, so our attachment cannot know).
    fn last_ping_ms(&self, ws: &WebSocket) -> Option<u64> {
        let state: &wasm_bindgen::JsValue = self.state.as_raw().as_ref();
        let getter =
            js_sys::Reflect::get(state, &"getWebSocketAutoResponseTimestamp".into()).ok()?;
        let when = getter
            .dyn_into::<js_sys::Function>()
            .ok()?
            .call1(state, ws.as_ref())
            .ok()?;
        when.dyn_into::<js_sys::Date>()
            .ok()
            .map(|date| date.get_time() as u64)
    }

    /// Makes sure an alarm is pending (see `alarm`).
    async fn keep_sweeping(&self) {
        if self.alarm_pending.get() {
            return;
        }
        let storage = self.state.storage();
        let set = match storage.get_alarm().await {
            Ok(Some(_)) => Ok(()),
            _ => {
                storage
                    .set_alarm(self.limits.sweep_interval_ms as i64)
                    .await
            }
        };
        match set {
            Ok(()) => self.alarm_pending.set(true),
            Err(why) => console_warn!("setting the room alarm failed: {why}"),
        }
    }

    fn oldest_departure(&self) -> Option<u64> {
        #[derive(Deserialize)]
        struct Row {
            oldest: Option<f64>,
        }
        let cursor = self
            .sql()
            .exec("SELECT MIN(left_ms) AS oldest FROM departed", None)
            .ok()?;
        cursor.one::<Row>().ok()?.oldest.map(|ms| ms as u64)
    }

    /// Tells the lobby the room's head count and privacy. One report at a time: what changes
    /// while one is on its way goes in the next, so a burst of joins costs the lobby a few
    /// requests, not one each, and the last report always carries the latest count.
    async fn report(&self) {
        self.report_due.set(true);
        if self.reporting.replace(true) {
            return;
        }
        while self.report_due.replace(false) {
            let Meta {
                name: Some(name),
                private,
            } = self.meta()
            else {
                break;
            };
            let count = self
                .sockets()
                .iter()
                .filter(|s| s.member().is_some())
                .count();
            self.reported_since_wake.set(true);
            if let Err(why) = lobby::report_count(&self.env, &name, count, private).await {
                console_warn!("room {name}: reporting count to the lobby failed: {why}");
            }
        }
        self.reporting.set(false);
    }

    fn peers_report(&self) -> Result<Response> {
        let peers: Vec<PeerInfo> = self
            .sockets()
            .into_iter()
            .filter_map(|s| s.member().map(|m| m.peer.clone()))
            .collect();
        let meta = self.meta();
        http::json(
            200,
            &serde_json::json!({
                "name": meta.name,
                "private": meta.private,
                "count": peers.len(),
                "peers": peers,
            }),
        )
    }

    /// An operator removes someone: their socket is closed with 4003, the others are told,
    /// and the resume token dies with it.
    async fn kick(&self, id: &str) -> Result<Response> {
        let target = self
            .sockets()
            .into_iter()
            .find(|s| s.member().is_some_and(|m| m.peer.id == id));
        let Some(socket) = target else {
            return http::error(404, "unknown_peer", "no such peer in this room");
        };
        self.depart(&socket.ws, Departure::Final).await;
        self.close(&socket.ws, close::REMOVED);
        http::json(200, &serde_json::json!({ "ok": true }))
    }

    fn meta(&self) -> Meta {
        #[derive(Deserialize)]
        struct Row {
            key: String,
            value: String,
        }
        let mut cached = self.meta.borrow_mut();
        let meta = cached.get_or_insert_with(|| {
            let rows = (self.sql().exec("SELECT key, value FROM meta", None))
                .and_then(|cursor| cursor.to_array::<Row>())
                .unwrap_or_else(|why| {
                    console_warn!("reading the room's meta failed: {why}");
                    vec![]
                });
            let value = |key: &str| rows.iter().find(|r| r.key == key).map(|r| r.value.clone());
            Meta {
                name: value("name"),
                private: value("private").as_deref() == Some("1"),
            }
        });
        meta.clone()
    }

    fn set_name(&self, name: &str) {
        if self.meta().name.as_deref() != Some(name) {
            self.set_meta("name", name);
            if let Some(meta) = self.meta.borrow_mut().as_mut() {
                meta.name = Some(name.to_owned());
            }
        }
    }

    fn set_private(&self, private: bool) {
        if self.meta().private != private {
            self.set_meta("private", if private { "1" } else { "0" });
            if let Some(meta) = self.meta.borrow_mut().as_mut() {
                meta.private = private;
            }
        }
    }

    fn set_meta(&self, key: &str, value: &str) {
        let query = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
        if let Err(why) = self.sql().exec(query, vec![key.into(), value.into()]) {
            console_warn!("storing room {key} failed: {why}");
        }
    }

    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }
}

/// The storage object itself, for the calls workers-rs does not wrap (see `history`).
fn raw_storage(state: &State) -> wasm_bindgen::JsValue {
    let storage = state.storage();
    let raw: &wasm_bindgen::JsValue = storage.as_raw().as_ref();
    raw.clone()
}

/// A socket's attachment; a socket with none (or an unreadable one) counts as fresh.
fn attachment(ws: &WebSocket) -> Conn {
    ws.deserialize_attachment::<String>()
        .ok()
        .flatten()
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// The joined members, leaving out `except` (the sender, or the one leaving).
fn joined_except<'a>(sockets: &'a [Rc<Socket>], except: Option<&str>) -> Vec<&'a Member> {
    sockets
        .iter()
        .filter_map(|s| s.member())
        .filter(|m| Some(m.peer.id.as_str()) != except)
        .collect()
}

/// Sends one frame to its target. A socket that fails (closing, gone) is skipped: one dead
/// connection never costs the others their frames.
fn deliver(
    sender_ws: &WebSocket,
    sender: Option<&str>,
    to: &Target,
    frame: &str,
    sockets: &[Rc<Socket>],
) {
    let send = |ws: &WebSocket| {
        if let Err(why) = ws.send_with_str(frame) {
            console_warn!("send failed: {why}");
        }
    };
    let is_other = |s: &&Rc<Socket>| {
        s.member()
            .is_some_and(|m| Some(m.peer.id.as_str()) != sender)
    };
    match to {
        Target::Sender => send(sender_ws),
        Target::Peer(id) => {
            if let Some(s) = sockets
                .iter()
                .find(|s| s.member().is_some_and(|m| &m.peer.id == id))
            {
                send(&s.ws);
            }
        }
        Target::Others => sockets.iter().filter(is_other).for_each(|s| send(&s.ws)),
        Target::Everyone => {
            sockets.iter().filter(is_other).for_each(|s| send(&s.ws));
            send(sender_ws);
        }
    }
}

fn close_reason(code: u16) -> &'static str {
    match code {
        close::NORMAL => "left",
        close::TOO_LARGE => "frame too large",
        close::ROOM_FULL => "room full",
        close::RATE_LIMITED => "rate limited",
        close::REMOVED => "removed by the operator",
        close::REPLACED => "replaced by a newer connection",
        close::TIMED_OUT => "timed out",
        _ => "closed",
    }
}
