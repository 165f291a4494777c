//! A lobby fan-out object: holds a share of the `/ws/lobby` sockets (the front door sends each
//! new one to a random fan-out object) and pushes them the merged public list whenever the hub
//! hands it a new one. Also answers `/api/rooms` when the edge cache has no fresh copy.
//!
//! Its last list is kept in SQLite, so a socket opened after an eviction gets it at once. Every
//! socket of the object shows that same list (a new socket gets it on connect, every socket
//! gets each new one), so one comparison with it decides for them all whether a list the hub
//! hands over is news: no socket gets the same list twice in a row, and no per-socket state is
//! read (with thousands of hibernatable sockets, reading each one's attachment per list would
//! be most of the object's work).
use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::*;

use super::list::{rooms_frame, Listed};
use super::topology::fanout_name;
use super::{hub, post_json};
use crate::http;
use crate::protocol::{close, ErrorCode, ServerFrame};

const ROOMS_URL: &str = "https://lobby-fanout/rooms";

/// Hands fan-out object `i` the merged list (the JSON of a `Vec<Listed>`).
pub async fn push(env: &Env, i: u32, rooms: String) -> Result<()> {
    post_json(&fanout(env, i)?, ROOMS_URL, rooms).await
}

/// The public list as fan-out object `i` has it: the body of `/api/rooms`.
pub async fn public_rooms(env: &Env, i: u32) -> Result<Response> {
    fanout(env, i)?.fetch_with_str(ROOMS_URL).await
}

/// Forwards a `/ws/lobby` upgrade to fan-out object `i`.
pub async fn connect(env: &Env, i: u32, req: Request) -> Result<Response> {
    fanout(env, i)?.fetch_with_request(req).await
}

fn fanout(env: &Env, i: u32) -> Result<Stub> {
    env.durable_object("LOBBY_SOCKETS")?
        .get_by_name(&fanout_name(i))
}

#[durable_object]
pub struct LobbyFanout {
    state: State,
    env: Env,
    /// The list its sockets show; `None` until the hub first hands one.
    shown: RefCell<Option<Shown>>,
}

/// A list and the frame that carries it to the sockets.
#[derive(Clone)]
struct Shown {
    rooms: Vec<Listed>,
    frame: String,
}

impl Shown {
    fn new(rooms: Vec<Listed>) -> Self {
        let frame = rooms_frame(&rooms);
        Self { rooms, frame }
    }
}

/// The one row of the `list` table.
#[derive(Deserialize)]
struct Row {
    rooms: String,
}

impl DurableObject for LobbyFanout {
    fn new(state: State, env: Env) -> Self {
        // Answered by the runtime without waking the object.
        if let Ok(pair) = worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        let rooms = load_list(&state.storage().sql()).unwrap_or_else(|e| {
            console_error!("lobby fan-out: cannot load the list: {e}");
            None
        });
        Self {
            state,
            env,
            shown: RefCell::new(rooms.map(Shown::new)),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            // The front door only forwards upgrades here.
            (Method::Get, "/ws/lobby") => self.accept_socket().await,
            (Method::Post, "/rooms") => match req.json::<Vec<Listed>>().await {
                Ok(rooms) => {
                    self.take(rooms)?;
                    Ok(Response::empty()?.with_status(204))
                }
                Err(_) => http::error(400, "bad_list", "expected [{name, count, locked}]"),
            },
            (Method::Get, "/rooms") => {
                #[derive(Serialize)]
                struct Public {
                    rooms: Vec<Listed>,
                }
                http::json(
                    200,
                    &Public {
                        rooms: self.current().await?.rooms,
                    },
                )
            }
            (Method::Get, "/stats") => {
                #[derive(Serialize)]
                struct Stats {
                    sockets: usize,
                }
                let sockets = self.state.get_websockets().len();
                http::json(200, &Stats { sockets })
            }
            _ => http::error(404, "not_found", "no such lobby fan-out endpoint"),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // Lobby sockets only listen; a ping the auto-response missed is still answered.
        // Anything else is refused and the socket closed: nobody has a reason to send it, and
        // reading it costs an object that many lobby pages share.
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

impl LobbyFanout {
    async fn accept_socket(&self) -> Result<Response> {
        let shown = self.current().await?;
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        // A socket that is already gone is the runtime's to close: nothing to do here.
        let _ = pair.server.send_with_str(&shown.frame);
        Response::from_websocket(pair.client)
    }

    /// The list as this object has it, or, before the hub ever handed it one (a new object),
    /// as the hub has it now.
    async fn current(&self) -> Result<Shown> {
        if self.shown.borrow().is_none() {
            let rooms = hub::rooms(&self.env).await?;
            // The hub may have pushed meanwhile: a pushed list is never older than the one asked.
            if self.shown.borrow().is_none() {
                self.take(rooms)?;
            }
        }
        self.shown
            .borrow()
            .clone()
            .ok_or_else(|| Error::RustError("lobby fan-out: no list after taking one".into()))
    }

    /// Sends a new list to every socket, unless they all show it already, then keeps it. The
    /// frames go out before the write, so that they never wait for storage.
    fn take(&self, rooms: Vec<Listed>) -> Result<()> {
        let new = Shown::new(rooms);
        if self
            .shown
            .borrow()
            .as_ref()
            .is_some_and(|shown| shown.frame == new.frame)
        {
            return Ok(());
        }
        for ws in self.state.get_websockets() {
            let _ = ws.send_with_str(&new.frame);
        }
        self.state.storage().sql().exec(
            "INSERT INTO list (id, rooms) VALUES (0, ?)
             ON CONFLICT (id) DO UPDATE SET rooms = excluded.rooms",
            vec![serde_json::to_string(&new.rooms)?.into()],
        )?;
        *self.shown.borrow_mut() = Some(new);
        Ok(())
    }
}

fn load_list(sql: &SqlStorage) -> Result<Option<Vec<Listed>>> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS list (id INTEGER PRIMARY KEY, rooms TEXT NOT NULL)",
        None,
    )?;
    let rows: Vec<Row> = sql.exec("SELECT rooms FROM list", None)?.to_array()?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|row| serde_json::from_str(&row.rooms).ok()))
}
