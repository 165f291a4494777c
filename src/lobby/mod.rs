//! The lobby Durable Object: the one place that knows every room and how many are in it.
//!
//! - Rooms tell it their count (`report_count`) whenever it changes and after waking.
//! - `/ws/lobby` sockets (hibernatable) get the public list on connect and after each change;
//!   changes are coalesced by an alarm `BROADCAST_DELAY_MS` after the first one, so a burst of
//!   joins makes one frame.
//! - Reports can be lost (a failed call, two racing calls): the same alarm asks every room the
//!   lobby has not heard from for a while (`LOBBY_CHECK_SECONDS`) for its real count, and fixes
//!   or drops the entry.
//!
//! The table (`list::RoomTable`, pure) lives in memory and in SQLite, so it survives eviction.
mod list;

use std::cell::{Cell, RefCell};

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use worker::*;

use crate::protocol::{close, ErrorCode, ServerFrame};
use crate::{http, room};
pub use list::Report;
use list::{
    check_interval_ms, fingerprint, list_after_ms, rooms_frame, Check, Entry, Listed, RoomTable,
    PUBLIC_LIST_MAX,
};

/// The one lobby object every room reports to.
pub const LOBBY_NAME: &str = "lobby";

/// Changes within this window after the first one go out as one frame.
const BROADCAST_DELAY_MS: u64 = 250;
/// At most this many rooms are asked per alarm, which bounds the subrequests of one alarm; a
/// longer backlog is worked off `BACKLOG_DELAY_MS` later.
const CHECK_BATCH: usize = 50;
const BACKLOG_DELAY_MS: u64 = 1000;

// The lobby's own endpoints, reachable only through the LOBBY binding: the front door forwards
// `/ws/lobby` upgrades as they are and calls the others itself.
const REPORT_URL: &str = "https://lobby/report";
const PUBLIC_URL: &str = "https://lobby/rooms";
const ALL_URL: &str = "https://lobby/all";

/// Tells the lobby how many are in a room now (0: the room is empty). The caller logs an
/// error and goes on: the lobby's periodic check repairs a lost report.
pub async fn report_count(env: &Env, report: &Report) -> Result<()> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(report)?.into()));
    let mut res = lobby(env)?
        .fetch_with_request(Request::new_with_init(REPORT_URL, &init)?)
        .await?;
    match res.status_code() {
        204 => Ok(()),
        // Reading the body also ends the lobby's side of the request (an unread one would
        // keep it open until this room's event is torn down).
        status => Err(Error::RustError(format!(
            "lobby answered {status}: {}",
            res.text().await.unwrap_or_default()
        ))),
    }
}

/// `GET /api/rooms`: the public list, straight from the lobby.
pub async fn public_rooms(env: &Env) -> Result<Response> {
    lobby(env)?.fetch_with_str(PUBLIC_URL).await
}

/// Every room the lobby knows, private ones too, largest first: for the operator.
pub async fn all_rooms(env: &Env) -> Result<Vec<Report>> {
    #[derive(Deserialize)]
    struct All {
        rooms: Vec<Report>,
    }
    let mut res = lobby(env)?.fetch_with_str(ALL_URL).await?;
    Ok(res.json::<All>().await?.rooms)
}

fn lobby(env: &Env) -> Result<Stub> {
    env.durable_object("LOBBY")?.get_by_name(LOBBY_NAME)
}

fn now_ms() -> u64 {
    Date::now().as_millis()
}

#[durable_object]
pub struct Lobby {
    state: State,
    env: Env,
    table: RefCell<RoomTable>,
    /// When the pending coalesced frame goes out; `None` when no change waits.
    broadcast_due: Cell<Option<u64>>,
    check_interval_ms: u64,
}

/// A row of the `rooms` table.
#[derive(Deserialize)]
struct Row {
    name: String,
    count: u32,
    private: u32,
    locked: u32,
    heard_at: u64,
    misses: u32,
    occupied_since: u64,
}

/// A row of `PRAGMA table_info`.
#[derive(Deserialize)]
struct Column {
    name: String,
}

impl DurableObject for Lobby {
    fn new(state: State, env: Env) -> Self {
        // Answered by the runtime without waking the lobby.
        if let Ok(pair) = worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        let list_after = list_after_ms(
            env.var("LIST_AFTER_SECONDS")
                .ok()
                .map(|v| v.to_string())
                .as_deref(),
        );
        let table = load_table(&state.storage().sql(), list_after).unwrap_or_else(|e| {
            console_error!("lobby: cannot load the room table: {e}");
            RoomTable::new(list_after)
        });
        let interval = env.var("LOBBY_CHECK_SECONDS").ok().map(|v| v.to_string());
        Self {
            state,
            env,
            table: RefCell::new(table),
            broadcast_due: Cell::new(None),
            check_interval_ms: check_interval_ms(interval.as_deref()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            // The front door only forwards upgrades here.
            (Method::Get, "/ws/lobby") => self.accept_socket(),
            (Method::Post, "/report") => match req.json::<Report>().await {
                Ok(report) => self.report(&report).await,
                Err(_) => http::error(400, "bad_report", "expected {name, count, private}"),
            },
            (Method::Get, "/rooms") => {
                #[derive(Serialize)]
                struct Public {
                    rooms: Vec<Listed>,
                }
                let rooms = self.table.borrow().public_list(PUBLIC_LIST_MAX, now_ms());
                http::json(200, &Public { rooms })
            }
            (Method::Get, "/all") => {
                let rooms: Vec<Report> = self
                    .table
                    .borrow()
                    .all()
                    .into_iter()
                    .map(|(name, e)| Report {
                        name: name.to_owned(),
                        count: e.count,
                        private: e.private,
                        locked: e.locked,
                    })
                    .collect();
                http::json(200, &serde_json::json!({ "rooms": rooms }))
            }
            _ => http::error(404, "not_found", "no such lobby endpoint"),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.check_due_rooms().await;
        self.broadcast_due.set(None);
        self.broadcast();
        let now = now_ms();
        let backlog = !self
            .table
            .borrow()
            .due_for_check(now, self.check_interval_ms, 1)
            .is_empty();
        let next_check = if backlog {
            Some(now + BACKLOG_DELAY_MS)
        } else {
            self.table.borrow().next_check_at(self.check_interval_ms)
        };
        // A report that came in while the rooms were asked may have set a broadcast.
        let next_listing = self.table.borrow().next_listing_at(now);
        let next = [self.broadcast_due.get(), next_check, next_listing]
            .into_iter()
            .flatten()
            .min();
        if let Some(at) = next {
            self.state.storage().set_alarm(scheduled_at(at)).await?;
        }
        Response::empty()
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // Lobby sockets only listen; a ping the auto-response missed is still answered.
        // Anything else is refused and the socket closed: nobody has a reason to send it, and
        // reading it costs the one object every lobby page shares.
        match message {
            WebSocketIncomingMessage::String(text) if text == "ping" => ws.send_with_str("pong"),
            _ => {
                let refusal = ServerFrame::Error {
                    code: ErrorCode::BadMessage,
                    message: "lobby sockets only listen: send nothing but ping",
                    host_nick: None,
                };
                ws.send_with_str(refusal.to_json())?;
                ws.close(Some(close::POLICY), Some("lobby sockets only listen"))
            }
        }
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        ws.close(Some(close::echo(code)), Some("bye"))
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: Error) -> Result<()> {
        Ok(())
    }
}

impl Lobby {
    fn accept_socket(&self) -> Result<Response> {
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let frame = rooms_frame(&self.table.borrow().public_list(PUBLIC_LIST_MAX, now_ms()));
        send_list(&pair.server, &frame, &fingerprint(&frame));
        Response::from_websocket(pair.client)
    }

    async fn report(&self, report: &Report) -> Result<Response> {
        let changed = self.table.borrow_mut().apply_report(report, now_ms());
        match changed {
            Ok(visible) => {
                self.save(&report.name);
                self.schedule(visible).await?;
                // No body: there is nothing for the room to read.
                Ok(Response::empty()?.with_status(204))
            }
            Err(why) => http::error(400, "bad_room_name", &why),
        }
    }

    /// Makes sure the alarm fires in time for a pending frame (when `broadcast` asks for one)
    /// and for the next check.
    async fn schedule(&self, broadcast: bool) -> Result<()> {
        if broadcast && self.broadcast_due.get().is_none() {
            self.broadcast_due.set(Some(now_ms() + BROADCAST_DELAY_MS));
        }
        let next_check = self.table.borrow().next_check_at(self.check_interval_ms);
        let next_listing = self.table.borrow().next_listing_at(now_ms());
        let Some(wanted) = [self.broadcast_due.get(), next_check, next_listing]
            .into_iter()
            .flatten()
            .min()
        else {
            return Ok(());
        };
        let storage = self.state.storage();
        let current = storage.get_alarm().await?;
        if current.is_none_or(|at| at > wanted as i64) {
            storage.set_alarm(scheduled_at(wanted)).await?;
        }
        Ok(())
    }

    /// Asks the rooms not heard from for an interval for their count (a batch at a time).
    async fn check_due_rooms(&self) {
        let due = self
            .table
            .borrow()
            .due_for_check(now_ms(), self.check_interval_ms, CHECK_BATCH);
        let answers = join_all(due.iter().map(|(name, _)| room::peers(&self.env, name))).await;
        let now = now_ms();
        for ((name, rev), answer) in due.iter().zip(answers) {
            let check = match answer {
                Ok(peers) => Check::Answered {
                    count: u32::try_from(peers.count).unwrap_or(u32::MAX),
                    private: peers.private,
                    locked: peers.locked,
                },
                Err(e) => {
                    console_warn!("lobby: cannot check room {name:?}: {e}");
                    Check::Unreachable
                }
            };
            self.table.borrow_mut().apply_check(name, *rev, check, now);
            self.save(name);
        }
    }

    /// Sends the current public list to every socket whose last frame differs from it.
    fn broadcast(&self) {
        let frame = rooms_frame(&self.table.borrow().public_list(PUBLIC_LIST_MAX, now_ms()));
        let print = fingerprint(&frame);
        for ws in self.state.get_websockets() {
            let seen = ws.deserialize_attachment::<String>().ok().flatten();
            if seen.as_deref() != Some(print.as_str()) {
                send_list(&ws, &frame, &print);
            }
        }
    }

    /// Writes one room's entry (or its absence) through to SQLite.
    fn save(&self, name: &str) {
        let sql = self.state.storage().sql();
        let written = match self.table.borrow().get(name) {
            Some(e) => sql.exec(
                "INSERT INTO rooms (name, count, private, locked, heard_at, misses, occupied_since)
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET count = excluded.count,
                   private = excluded.private, locked = excluded.locked,
                   heard_at = excluded.heard_at, misses = excluded.misses,
                   occupied_since = excluded.occupied_since",
                vec![
                    name.into(),
                    i64::from(e.count).into(),
                    i64::from(e.private).into(),
                    i64::from(e.locked).into(),
                    (e.heard_at as i64).into(),
                    i64::from(e.misses).into(),
                    (e.occupied_since as i64).into(),
                ],
            ),
            None => sql.exec("DELETE FROM rooms WHERE name = ?", vec![name.into()]),
        };
        if let Err(e) = written {
            console_error!("lobby: cannot save room {name:?}: {e}");
        }
    }
}

fn load_table(sql: &SqlStorage, list_after_ms: u64) -> Result<RoomTable> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS rooms (
           name TEXT PRIMARY KEY,
           count INTEGER NOT NULL,
           private INTEGER NOT NULL,
           heard_at INTEGER NOT NULL,
           misses INTEGER NOT NULL,
           occupied_since INTEGER NOT NULL DEFAULT 0,
           locked INTEGER NOT NULL DEFAULT 0)",
        None,
    )?;
    // Tables made by earlier versions lack the newer columns. Rooms from before listing
    // waited have waited; rooms from before locks are unlocked until they next report.
    let columns: Vec<Column> = sql.exec("PRAGMA table_info(rooms)", None)?.to_array()?;
    for column in ["occupied_since", "locked"] {
        if !columns.iter().any(|c| c.name == column) {
            let add = format!("ALTER TABLE rooms ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0");
            sql.exec(&add, None)?;
        }
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT name, count, private, locked, heard_at, misses, occupied_since FROM rooms",
            None,
        )?
        .to_array()?;
    Ok(RoomTable::load(
        rows.into_iter().map(|row| {
            let entry = Entry {
                count: row.count,
                private: row.private != 0,
                locked: row.locked != 0,
                heard_at: row.heard_at,
                occupied_since: row.occupied_since,
                misses: row.misses,
                rev: 0,
            };
            (row.name, entry)
        }),
        list_after_ms,
    ))
}

/// Sends a list frame and remembers on the socket which list it now shows.
fn send_list(ws: &WebSocket, frame: &str, print: &str) {
    if ws.send_with_str(frame).is_ok() {
        let _ = ws.serialize_attachment(print);
    }
}

fn scheduled_at(ms: u64) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&(ms as f64).into()))
}
