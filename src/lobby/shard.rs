//! A lobby shard: the Durable Object that knows the rooms whose names hash to it
//! (`topology::Layout::shard_of`), and how many are in each. With one shard (the default) it
//! is the single lobby of old, under the same name, with the same table.
//!
//! - Rooms tell it their count (`lobby::report_count`) whenever it changes and after waking.
//! - Its own public list (its largest public rooms) goes to the hub after each change; changes
//!   are coalesced by an alarm `PUBLISH_DELAY_MS` after the first one, so a burst of joins
//!   costs the hub one request. The hub merges the shards' lists and hands the result to the
//!   fan-out objects, which hold the lobby sockets.
//! - Reports can be lost (a failed call, two racing calls): the same alarm asks every room the
//!   shard has not heard from for a while (`LOBBY_CHECK_SECONDS`) for its real count, and fixes
//!   or drops the entry.
//!
//! The table (`list::RoomTable`, pure) lives in memory and in SQLite, so it survives eviction.
use std::cell::{Cell, RefCell};

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use worker::*;

use super::alarm::KnownAlarm;
use super::list::{
    check_interval_ms, fingerprint, list_after_ms, Check, Entry, Listed, Report, RoomTable,
    PUBLIC_LIST_MAX,
};
use super::topology::shard_name;
use super::{alarm_by, hub, now_ms, scheduled_at, All};
use crate::{http, room};

/// Changes within this window after the first one go to the hub as one list.
const PUBLISH_DELAY_MS: u64 = 250;
/// A list the hub did not take is offered again this much later.
const PUBLISH_RETRY_MS: u64 = 1000;
/// At most this many rooms are asked per alarm, which bounds the subrequests of one alarm; a
/// longer backlog is worked off `BACKLOG_DELAY_MS` later.
const CHECK_BATCH: usize = 50;
const BACKLOG_DELAY_MS: u64 = 1000;

/// What a shard sends the hub: its name and its own public list.
#[derive(Serialize, Deserialize)]
pub struct ShardList {
    pub shard: String,
    pub rooms: Vec<Listed>,
}

#[durable_object]
pub struct Lobby {
    state: State,
    env: Env,
    /// This shard's name (`topology::shard_name`), which the hub files its list under.
    name: String,
    table: RefCell<RoomTable>,
    /// When the pending list goes to the hub; `None` when no change waits.
    publish_due: Cell<Option<u64>>,
    /// The fingerprint of the last list the hub took; `None` after a wake-up, so that the first
    /// alarm of an instance always offers its list.
    published: RefCell<Option<String>>,
    check_interval_ms: u64,
    alarm: RefCell<KnownAlarm>,
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
        // Shards are only ever addressed by name, so the runtime passes it on.
        let name = state.id().name().unwrap_or_else(|| shard_name(0));
        Self {
            state,
            env,
            name,
            table: RefCell::new(table),
            publish_due: Cell::new(None),
            published: RefCell::new(None),
            check_interval_ms: check_interval_ms(interval.as_deref()),
            alarm: RefCell::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/report") => match req.json::<Report>().await {
                Ok(report) => self.report(&report).await,
                Err(_) => http::error(400, "bad_report", "expected {name, count, private}"),
            },
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
                http::json(200, &All { rooms })
            }
            _ => http::error(404, "not_found", "no such lobby endpoint"),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm.borrow_mut().fired();
        self.check_due_rooms().await;
        self.publish_due.set(None);
        self.publish().await;
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
        // A report that came in while the rooms were asked may have set a publish.
        let next_listing = self.table.borrow().next_listing_at(now);
        let next = [self.publish_due.get(), next_check, next_listing]
            .into_iter()
            .flatten()
            .min();
        // Set outright: everything that wants the alarm is in `next`.
        if let Some(at) = next {
            self.state.storage().set_alarm(scheduled_at(at)).await?;
            self.alarm.borrow_mut().set(at);
        }
        Response::empty()
    }
}

impl Lobby {
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

    /// Makes sure the alarm fires in time for a pending publish (when `publish` asks for one)
    /// and for the next check.
    async fn schedule(&self, publish: bool) -> Result<()> {
        if publish && self.publish_due.get().is_none() {
            self.publish_due.set(Some(now_ms() + PUBLISH_DELAY_MS));
        }
        let next_check = self.table.borrow().next_check_at(self.check_interval_ms);
        let next_listing = self.table.borrow().next_listing_at(now_ms());
        let Some(wanted) = [self.publish_due.get(), next_check, next_listing]
            .into_iter()
            .flatten()
            .min()
        else {
            return Ok(());
        };
        alarm_by(&self.state.storage(), &self.alarm, wanted).await
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

    /// Offers the hub this shard's public list if it differs from the last one the hub took;
    /// if the hub does not take it, it is offered again a little later.
    async fn publish(&self) {
        let rooms = self.table.borrow().public_list(PUBLIC_LIST_MAX, now_ms());
        let list = ShardList {
            shard: self.name.clone(),
            rooms,
        };
        let Ok(body) = serde_json::to_string(&list) else {
            return;
        };
        let print = fingerprint(&body);
        if self.published.borrow().as_deref() == Some(print.as_str()) {
            return;
        }
        match hub::offer(&self.env, body).await {
            Ok(()) => *self.published.borrow_mut() = Some(print),
            Err(e) => {
                console_warn!("lobby {}: the hub did not take the list: {e}", self.name);
                self.publish_due.set(Some(now_ms() + PUBLISH_RETRY_MS));
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
