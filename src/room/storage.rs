//! What the room keeps in SQLite, and every SQL statement it runs:
//!
//! - `meta`: whether the room is private, whether it is locked, whether it moved to the SFU
//!   (a key-value table);
//! - `departed`: for the resume window, the people whose connection was lost, by resume token,
//!   so that one coming back gets the same id (and a host comes back as host);
//! - `removed`: the browser keys of people a host removed, kept out until the room is
//!   forgotten.
//!
//! The tables are made by the first write (a join that makes the room private, a lock, a lost
//! connection, a removal), not when the room is opened: a socket that never joins leaves no
//! storage behind, and a forgotten room (`wipe`) stays empty. Until then every read finds
//! nothing.
//!
//! The chat history is kept apart, in key-value storage (`history`).
use std::cell::Cell;

use serde::Deserialize;
use worker::{console_warn, Result, SqlStorage, Storage};

use super::relay::Member;
use crate::protocol::MediaMode;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS departed (resume TEXT PRIMARY KEY, member TEXT NOT NULL, left_ms INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS removed (browser TEXT PRIMARY KEY);";

/// Removed browsers a room remembers: a bound on what a host (or a flood of removals) can
/// make the room store. The oldest are forgotten first.
const REMOVED_MAX: f64 = 1000.0;

pub struct RoomStore {
    storage: Storage,
    sql: SqlStorage,
    /// Whether the tables exist: asked once per wake-up.
    has_tables: Cell<Option<bool>>,
    /// Whether the room is private, whether it is locked, and whether it moved to the SFU, as
    /// stored: each read once per wake-up.
    private: Cell<Option<bool>>,
    locked: Cell<Option<bool>>,
    sfu: Cell<Option<bool>>,
}

impl RoomStore {
    pub fn open(storage: Storage) -> Self {
        Self {
            sql: storage.sql(),
            storage,
            has_tables: Cell::new(None),
            private: Cell::new(None),
            locked: Cell::new(None),
            sfu: Cell::new(None),
        }
    }

    fn has_tables(&self) -> bool {
        #[derive(Deserialize)]
        struct Row {
            tables: u32,
        }
        if let Some(known) = self.has_tables.get() {
            return known;
        }
        let query = "SELECT COUNT(*) AS tables FROM sqlite_master WHERE type = 'table' AND name = 'removed'";
        let found = (self.sql.exec(query, None))
            .and_then(|cursor| cursor.one::<Row>())
            .map(|row| row.tables > 0)
            .unwrap_or_else(|why| {
                console_warn!("looking for the room's tables failed: {why}");
                false
            });
        self.has_tables.set(Some(found));
        found
    }

    /// Makes the tables before a first write.
    fn make_tables(&self) -> Result<()> {
        if !self.has_tables() {
            self.sql.exec(SCHEMA, None)?;
            self.has_tables.set(Some(true));
        }
        Ok(())
    }

    pub fn is_private(&self) -> bool {
        self.flag("private", &self.private)
    }

    /// Makes the room private until it is forgotten: privacy never turns off while anyone
    /// might come back, or a private room could end up listed.
    pub fn make_private(&self) {
        if !self.is_private() {
            self.set_flag("private", &self.private, true);
        }
    }

    pub fn is_locked(&self) -> bool {
        self.flag("locked", &self.locked)
    }

    pub fn set_locked(&self, locked: bool) {
        if self.is_locked() != locked {
            self.set_flag("locked", &self.locked, locked);
        }
    }

    /// How the room carries media. Stored at once (before the next frame is read), so exactly
    /// one join moves a room to the SFU; forgotten when the room empties.
    pub fn media(&self) -> MediaMode {
        match self.flag("sfu", &self.sfu) {
            true => MediaMode::Sfu,
            false => MediaMode::Mesh,
        }
    }

    pub fn set_media(&self, media: MediaMode) {
        let sfu = media == MediaMode::Sfu;
        if self.flag("sfu", &self.sfu) != sfu {
            self.set_flag("sfu", &self.sfu, sfu);
        }
    }

    /// A yes-or-no in `meta`, read once per wake-up into `cache`.
    fn flag(&self, key: &str, cache: &Cell<Option<bool>>) -> bool {
        #[derive(Deserialize)]
        struct Row {
            value: String,
        }
        if let Some(known) = cache.get() {
            return known;
        }
        if !self.has_tables() {
            return false;
        }
        let query = "SELECT value FROM meta WHERE key = ?";
        let rows = (self.sql.exec(query, vec![key.into()]))
            .and_then(|cursor| cursor.to_array::<Row>())
            .unwrap_or_else(|why| {
                console_warn!("reading the room's {key} failed: {why}");
                vec![]
            });
        let value = rows.first().is_some_and(|row| row.value == "1");
        cache.set(Some(value));
        value
    }

    fn set_flag(&self, key: &str, cache: &Cell<Option<bool>>, value: bool) {
        let query = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
        let text = if value { "1" } else { "0" };
        let stored =
            (self.make_tables()).and_then(|()| self.sql.exec(query, vec![key.into(), text.into()]));
        match stored {
            Ok(_) => cache.set(Some(value)),
            Err(why) => console_warn!("storing room {key} failed: {why}"),
        }
    }

    /// Keeps a member whose connection was lost, for a return with their resume token.
    pub fn record_departure(&self, member: &Member, now_ms: u64) {
        let query = "INSERT OR REPLACE INTO departed (resume, member, left_ms) VALUES (?, ?, ?)";
        let record = serde_json::to_string(member).unwrap_or_default();
        let args = vec![
            member.resume.as_str().into(),
            record.into(),
            (now_ms as f64).into(),
        ];
        if let Err(why) = (self.make_tables()).and_then(|()| self.sql.exec(query, args)) {
            console_warn!("recording a departure failed: {why}");
        }
    }

    /// The member who left holding `token` at `since_ms` or later.
    pub fn departed(&self, token: &str, since_ms: u64) -> Option<Member> {
        #[derive(Deserialize)]
        struct Row {
            member: String,
        }
        if !self.has_tables() {
            return None;
        }
        let query = "SELECT member FROM departed WHERE resume = ? AND left_ms >= ?";
        let cursor = (self.sql)
            .exec(query, vec![token.into(), (since_ms as f64).into()])
            .ok()?;
        let row = cursor.to_array::<Row>().ok()?.pop()?;
        serde_json::from_str(&row.member).ok()
    }

    /// Whether a host who lost their connection at `since_ms` or later may still come back.
    pub fn host_departed(&self, since_ms: u64) -> bool {
        #[derive(Deserialize)]
        struct Row {
            hosts: u32,
        }
        if !self.has_tables() {
            return false;
        }
        let query = "SELECT COUNT(*) AS hosts FROM departed WHERE left_ms >= ? AND json_extract(member, '$.peer.host') = 1";
        (self.sql.exec(query, vec![(since_ms as f64).into()]))
            .and_then(|cursor| cursor.one::<Row>())
            .map(|row| row.hosts > 0)
            .unwrap_or_else(|why| {
                console_warn!("looking for a departed host failed: {why}");
                false
            })
    }

    /// Keeps a removed person's browser out of the room until it is forgotten.
    pub fn remove_browser(&self, browser: &str) {
        let insert = "INSERT OR IGNORE INTO removed (browser) VALUES (?)";
        let trim = "DELETE FROM removed WHERE rowid IN (SELECT rowid FROM removed ORDER BY rowid DESC LIMIT -1 OFFSET ?)";
        let stored = (self.make_tables())
            .and_then(|()| self.sql.exec(insert, vec![browser.into()]))
            .and_then(|_| self.sql.exec(trim, vec![REMOVED_MAX.into()]));
        if let Err(why) = stored {
            console_warn!("keeping a removed browser failed: {why}");
        }
    }

    pub fn is_removed(&self, browser: &str) -> bool {
        #[derive(Deserialize)]
        struct Row {
            found: u32,
        }
        if !self.has_tables() {
            return false;
        }
        let query = "SELECT COUNT(*) AS found FROM removed WHERE browser = ?";
        (self.sql.exec(query, vec![browser.into()]))
            .and_then(|cursor| cursor.one::<Row>())
            .is_ok_and(|row| row.found > 0)
    }

    /// Uses up a departure record: its member came back.
    pub fn forget_departure(&self, token: &str) -> Result<()> {
        if !self.has_tables() {
            return Ok(());
        }
        let query = "DELETE FROM departed WHERE resume = ?";
        self.sql.exec(query, vec![token.into()]).map(drop)
    }

    /// Forgets those who left before `before_ms`: they can no longer come back.
    pub fn expire_departures(&self, before_ms: u64) -> Result<()> {
        if !self.has_tables() {
            return Ok(());
        }
        let query = "DELETE FROM departed WHERE left_ms < ?";
        self.sql
            .exec(query, vec![(before_ms as f64).into()])
            .map(drop)
    }

    /// When the earliest departure still on record happened.
    pub fn oldest_departure(&self) -> Option<u64> {
        #[derive(Deserialize)]
        struct Row {
            oldest: Option<f64>,
        }
        if !self.has_tables() {
            return None;
        }
        let query = "SELECT MIN(left_ms) AS oldest FROM departed";
        let cursor = self.sql.exec(query, None).ok()?;
        cursor.one::<Row>().ok()?.oldest.map(|ms| ms as u64)
    }

    /// Deletes everything the room has stored, the chat history and the tables included: the
    /// room is empty and nobody can come back.
    pub async fn wipe(&self) -> Result<()> {
        self.storage.delete_all().await?;
        self.has_tables.set(Some(false));
        self.private.set(Some(false));
        self.locked.set(Some(false));
        self.sfu.set(Some(false));
        Ok(())
    }
}
