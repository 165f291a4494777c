//! The lobby hub: the one Durable Object that merges the shards' public lists
//! (`merge::merge_public`) and hands the merged list to every fan-out object, at most once per
//! `PUSH_INTERVAL_MS`. So a change costs the shards one request each and the hub one per
//! fan-out object, whatever the number of rooms or of people looking.
//!
//! Each shard's last list is kept in SQLite: an evicted hub merges the same lists when it
//! wakes. Which fan-out object took which list is kept in memory only (`merge::Deliveries`).
use std::cell::RefCell;
use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Deserialize;
use worker::*;

use super::alarm::KnownAlarm;
use super::list::{fingerprint, Listed, PUBLIC_LIST_MAX};
use super::merge::{merge_public, Deliveries, Pacer};
use super::shard::ShardList;
use super::topology::{Layout, HUB_NAME};
use super::{alarm_by, fanout, layout, now_ms, post_json};
use crate::http;

/// The hub pushes at most once per this interval: a fan-out object hears at most four lists a
/// second, however many shards changed.
const PUSH_INTERVAL_MS: u64 = 250;
/// A fan-out object that did not take a list is offered it again this much later.
const PUSH_RETRY_MS: u64 = 1000;

const SHARD_URL: &str = "https://lobby-hub/shard";
const ROOMS_URL: &str = "https://lobby-hub/rooms";

/// Gives the hub a shard's list (the JSON of a `ShardList`).
pub async fn offer(env: &Env, list: String) -> Result<()> {
    post_json(&hub(env)?, SHARD_URL, list).await
}

/// The merged public list, as the hub has it now.
pub async fn rooms(env: &Env) -> Result<Vec<Listed>> {
    let mut res = hub(env)?.fetch_with_str(ROOMS_URL).await?;
    res.json().await
}

fn hub(env: &Env) -> Result<Stub> {
    env.durable_object("LOBBY_HUB")?.get_by_name(HUB_NAME)
}

#[durable_object]
pub struct LobbyHub {
    state: State,
    env: Env,
    layout: Layout,
    /// Each shard's last list, by shard name.
    lists: RefCell<BTreeMap<String, Vec<Listed>>>,
    pacer: RefCell<Pacer>,
    deliveries: RefCell<Deliveries>,
    alarm: RefCell<KnownAlarm>,
}

/// A row of the `shard_lists` table.
#[derive(Deserialize)]
struct Row {
    shard: String,
    rooms: String,
}

impl DurableObject for LobbyHub {
    fn new(state: State, env: Env) -> Self {
        let lists = load_lists(&state.storage().sql()).unwrap_or_else(|e| {
            console_error!("lobby hub: cannot load the shards' lists: {e}");
            BTreeMap::new()
        });
        Self {
            layout: layout(&env),
            state,
            env,
            lists: RefCell::new(lists),
            pacer: RefCell::new(Pacer::new(PUSH_INTERVAL_MS)),
            deliveries: RefCell::default(),
            alarm: RefCell::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/shard") => match req.json::<ShardList>().await {
                Ok(list) => {
                    self.take(list).await?;
                    Ok(Response::empty()?.with_status(204))
                }
                Err(_) => http::error(400, "bad_list", "expected {shard, rooms}"),
            },
            (Method::Get, "/rooms") => http::json(200, &self.merged()),
            _ => http::error(404, "not_found", "no such lobby hub endpoint"),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm.borrow_mut().fired();
        let now = now_ms();
        self.pacer.borrow_mut().pushed(now);
        let rooms = self.merged();
        let body = serde_json::to_string(&rooms)?;
        let print = fingerprint(&body);
        let due = self.deliveries.borrow().due(&print, self.layout.fanouts);
        let pushes = due
            .iter()
            .map(|&i| fanout::push(&self.env, i, body.clone()));
        let mut failed = false;
        for (i, pushed) in due.iter().zip(join_all(pushes).await) {
            match pushed {
                Ok(()) => self.deliveries.borrow_mut().taken(*i, &print),
                Err(e) => {
                    console_warn!("lobby hub: fan-out object {i} did not take the list: {e}");
                    failed = true;
                }
            }
        }
        // A shard's list that came in meanwhile may have set an earlier alarm: keep it.
        if failed {
            alarm_by(&self.state.storage(), &self.alarm, now_ms() + PUSH_RETRY_MS).await?;
        }
        Response::empty()
    }
}

impl LobbyHub {
    /// Files a shard's list and, if the merged list changed for a fan-out object, makes sure
    /// a push is on its way (by the alarm, so that a shard never waits for the pushes).
    async fn take(&self, list: ShardList) -> Result<()> {
        let sql = self.state.storage().sql();
        sql.exec(
            "INSERT INTO shard_lists (shard, rooms) VALUES (?, ?)
             ON CONFLICT (shard) DO UPDATE SET rooms = excluded.rooms",
            vec![
                list.shard.as_str().into(),
                serde_json::to_string(&list.rooms)?.into(),
            ],
        )?;
        self.lists.borrow_mut().insert(list.shard, list.rooms);
        let print = fingerprint(&serde_json::to_string(&self.merged())?);
        if self
            .deliveries
            .borrow()
            .due(&print, self.layout.fanouts)
            .is_empty()
        {
            return Ok(());
        }
        // By the pacer's time, even when a retry is pending later: a fresh change waits for
        // no failed fan-out object.
        let at = self.pacer.borrow().next_push_at(now_ms());
        alarm_by(&self.state.storage(), &self.alarm, at).await
    }

    fn merged(&self) -> Vec<Listed> {
        merge_public(&self.lists.borrow(), &self.layout, PUBLIC_LIST_MAX)
    }
}

fn load_lists(sql: &SqlStorage) -> Result<BTreeMap<String, Vec<Listed>>> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS shard_lists (shard TEXT PRIMARY KEY, rooms TEXT NOT NULL)",
        None,
    )?;
    let rows: Vec<Row> = sql
        .exec("SELECT shard, rooms FROM shard_lists", None)?
        .to_array()?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.shard, serde_json::from_str(&row.rooms).ok()?)))
        .collect())
}
