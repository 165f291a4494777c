//! The room's sockets and what each one's attachment says (`relay::Conn`), behind one type.
//!
//! Reading attachments from the runtime is slow: a structured clone, a copy into wasm and a
//! JSON parse per socket. Doing that for every socket on every frame was once the room's
//! largest cost, so `Sockets` reads them all once per wake-up and from then on keeps its own
//! copy, writing through to the runtime when the person on a socket changes (`store`) and
//! keeping only in memory what changes with every frame (`remember`).
use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use worker::{console_warn, Result, State, WebSocket};

use super::relay::{Conn, Knock, Member, Target};
use crate::protocol::close;

/// One socket and its attachment.
pub struct Socket {
    pub ws: WebSocket,
    pub conn: Conn,
}

impl Socket {
    /// The person on this socket, once joined.
    pub fn member(&self) -> Option<&Member> {
        self.conn.member.as_ref()
    }

    /// Whether the person on this socket (a member, or someone knocking) has this id.
    fn is(&self, id: &str) -> bool {
        let knocking = self.conn.knock.as_ref().map(|knock| knock.id.as_str());
        self.member().map(|m| m.peer.id.as_str()).or(knocking) == Some(id)
    }
}

pub struct Sockets {
    state: State,
    /// Every open socket with its attachment; `None` until first read after a wake-up.
    known: RefCell<Option<Vec<Rc<Socket>>>>,
}

impl Sockets {
    pub fn new(state: &State) -> Self {
        // A second handle on the same runtime object (`State` itself cannot be cloned).
        let raw: &wasm_bindgen::JsValue = state.as_raw().as_ref();
        Self {
            state: State::from(
                raw.clone()
                    .unchecked_into::<worker::worker_sys::DurableObjectState>(),
            ),
            known: RefCell::new(None),
        }
    }

    /// Takes a new socket into the room (hibernatable) with a fresh attachment.
    pub fn accept(&self, ws: &WebSocket, conn: &Conn) -> Result<()> {
        self.state.accept_web_socket(ws);
        self.store(ws, conn)
    }

    /// Every open socket as this instance knows it.
    pub fn all(&self) -> Snapshot {
        if let Some(known) = self.known.borrow().as_ref() {
            return Snapshot(known.clone());
        }
        let sockets: Vec<Rc<Socket>> = (self.state.get_websockets().into_iter())
            .map(|ws| Socket {
                conn: read_attachment(&ws),
                ws,
            })
            .filter(|socket| !socket.conn.closed)
            .map(Rc::new)
            .collect();
        *self.known.borrow_mut() = Some(sockets.clone());
        Snapshot(sockets)
    }

    /// One socket's attachment as this instance knows it.
    pub fn conn(&self, ws: &WebSocket) -> Conn {
        let known = self.known.borrow();
        let socket = known.iter().flatten().find(|s| s.ws == *ws);
        socket.map_or_else(|| read_attachment(ws), |s| s.conn.clone())
    }

    /// Writes a socket's attachment, so that it survives an eviction. Stored as JSON text: a
    /// string crosses from JavaScript into wasm in one piece, where an object costs a property
    /// read and a conversion per field.
    pub fn store(&self, ws: &WebSocket, conn: &Conn) -> Result<()> {
        write_attachment(ws, conn)?;
        self.remember(ws, conn);
        Ok(())
    }

    /// Updates a socket's attachment in memory only. An eviction loses the change, which is
    /// only ever the rate budgets and the last-heard time: a room is only evicted after seconds
    /// of silence, by which the budgets have refilled, and the runtime's record of the last
    /// `ping` then says more about a socket's liveness than its last frame.
    pub fn remember(&self, ws: &WebSocket, conn: &Conn) {
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

    /// Closes a socket from the room's side with `code` and its documented reason. Its
    /// attachment is marked closed, so that the frames still on their way from the client are
    /// not handled as if from a fresh socket (see `Conn::closed`).
    pub fn close(&self, ws: &WebSocket, code: u16) {
        ws.close(Some(code), Some(close_reason(code))).ok();
        let closed = Conn {
            closed: true,
            ..Conn::default()
        };
        if let Err(why) = write_attachment(ws, &closed) {
            console_warn!("marking a socket closed failed: {why}");
        }
        self.forget(ws);
    }

    /// Drops a closed socket.
    fn forget(&self, ws: &WebSocket) {
        if let Some(known) = self.known.borrow_mut().as_mut() {
            known.retain(|s| s.ws != *ws);
        }
    }

    /// When the socket was last heard from: its last frame, or the last `ping` the runtime
    /// answered for the room (it does so without waking the room, so the attachment cannot
    /// know).
    pub fn last_heard_ms(&self, socket: &Socket) -> u64 {
        let pinged = self.last_ping_ms(&socket.ws).unwrap_or(0);
        socket.conn.seen_ms.max(pinged)
    }

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
}

/// The sockets as they were at one moment (when a frame arrived, say): what the relay decides
/// over and what a frame is delivered to.
pub struct Snapshot(Vec<Rc<Socket>>);

impl Snapshot {
    pub fn iter(&self) -> impl Iterator<Item = &Rc<Socket>> {
        self.0.iter()
    }

    /// The joined members, leaving out `except` (the sender, or the one leaving).
    pub fn members_except(&self, except: Option<&str>) -> Vec<&Member> {
        self.members()
            .filter(|m| Some(m.peer.id.as_str()) != except)
            .collect()
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.0.iter().filter_map(|s| s.member())
    }

    /// The people knocking, oldest first.
    pub fn knocking(&self) -> Vec<&Knock> {
        let mut knocks: Vec<&Knock> = self
            .0
            .iter()
            .filter_map(|s| s.conn.knock.as_ref())
            .collect();
        knocks.sort_by_key(|knock| knock.since_ms);
        knocks
    }

    /// The socket of the member, or of the person knocking, with this id.
    pub fn of_id(&self, id: &str) -> Option<&Rc<Socket>> {
        self.0.iter().find(|s| s.is(id))
    }

    /// Sends one frame to its target. `sender` is the socket whose frame caused it, if any,
    /// and `sender_id` the member on it. A socket that fails (closing, gone) is skipped: one
    /// dead connection never costs the others their frames.
    pub fn deliver(
        &self,
        sender: Option<&WebSocket>,
        sender_id: Option<&str>,
        to: &Target,
        frame: &str,
    ) {
        let send = |ws: &WebSocket| {
            if let Err(why) = ws.send_with_str(frame) {
                console_warn!("send failed: {why}");
            }
        };
        let members_but = |except: &dyn Fn(&Member) -> bool| {
            (self.0.iter())
                .filter(|s| s.member().is_some_and(|m| !except(m)))
                .for_each(|s| send(&s.ws));
        };
        match to {
            Target::Sender => sender.into_iter().for_each(send),
            Target::Peer(id) => self.of_id(id).into_iter().for_each(|s| send(&s.ws)),
            Target::Others => members_but(&|m| Some(m.peer.id.as_str()) == sender_id),
            Target::Everyone => members_but(&|_| false),
            Target::AllBut(ids) => members_but(&|m| ids.contains(&m.peer.id)),
            Target::Hosts => members_but(&|m| !m.peer.host),
        }
    }
}

fn write_attachment(ws: &WebSocket, conn: &Conn) -> Result<()> {
    ws.serialize_attachment(serde_json::to_string(conn)?)
}

/// A socket's attachment as the runtime holds it; a socket with none (or an unreadable one)
/// counts as fresh.
fn read_attachment(ws: &WebSocket) -> Conn {
    ws.deserialize_attachment::<String>()
        .ok()
        .flatten()
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn close_reason(code: u16) -> &'static str {
    match code {
        close::NORMAL => "left",
        close::TOO_LARGE => "frame too large",
        close::ROOM_FULL => "room full",
        close::RATE_LIMITED => "rate limited",
        close::REMOVED => "removed",
        close::REPLACED => "replaced by a newer connection",
        close::TIMED_OUT => "timed out",
        close::JOIN_TIMEOUT => "did not join in time",
        close::DENIED => "not let in",
        close::KNOCK_LIMIT => "too many knocking",
        close::KNOCK_TIMEOUT => "nobody let you in",
        _ => "closed",
    }
}
