//! Keeping the lobby told of the room's head count, privacy and lock, one report at a time.
//!
//! Whatever changes while a report is on its way goes into the next one, so a burst of joins
//! costs the lobby a few requests, not one each, and the last report sent always carries the
//! latest count. A room also reports once after waking up, so a lobby that missed a report
//! converges.
use std::cell::Cell;
use std::future::Future;

use crate::lobby::Report;

#[derive(Default)]
pub struct LobbyReports {
    /// A report has been sent since this instance started (a wake-up starts one).
    sent_since_wake: Cell<bool>,
    /// A report is on its way.
    in_flight: Cell<bool>,
    /// Something changed that the lobby has not been sent yet.
    due: Cell<bool>,
}

impl LobbyReports {
    /// Whether this instance has told the lobby anything yet.
    pub fn sent_since_wake(&self) -> bool {
        self.sent_since_wake.get()
    }

    /// Reports the room as `current` shows it when the report leaves (`None`: the room has no
    /// name yet, nothing to report). If a report is already on its way, this only marks one
    /// as due: the caller in charge sends it once its own has arrived.
    pub async fn report<Sent>(
        &self,
        current: impl Fn() -> Option<Report>,
        send: impl Fn(Report) -> Sent,
    ) where
        Sent: Future<Output = ()>,
    {
        self.due.set(true);
        if self.in_flight.replace(true) {
            return;
        }
        while self.due.replace(false) {
            let Some(report) = current() else {
                break;
            };
            self.sent_since_wake.set(true);
            send(report).await;
        }
        self.in_flight.set(false);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use futures::channel::oneshot;
    use futures::executor::block_on;
    use futures::future::{join, Either};
    use std::cell::RefCell;

    fn report(count: u32) -> Report {
        Report {
            name: "r".to_owned(),
            count,
            private: false,
            locked: false,
        }
    }

    #[test]
    fn changes_during_a_report_go_out_together_in_the_next() {
        let reports = LobbyReports::default();
        let count = Cell::new(1);
        let sent = RefCell::new(vec![]);
        // The first report waits on `arrive` before it is done, like a request in flight.
        let (arrive, arrived) = oneshot::channel::<()>();
        let arrived = RefCell::new(Some(arrived));
        let send = |r: Report| {
            sent.borrow_mut().push(r.count);
            match arrived.borrow_mut().take() {
                Some(wait) => Either::Left(async move {
                    wait.await.ok();
                }),
                None => Either::Right(async {}),
            }
        };
        let current = || Some(report(count.get()));
        let first = reports.report(current, send);
        let meanwhile = async {
            // Two more joins while the first report is out: neither sends by itself.
            count.set(2);
            reports.report(current, send).await;
            count.set(3);
            reports.report(current, send).await;
            assert_eq!(*sent.borrow(), [1]);
            arrive.send(()).unwrap();
        };
        block_on(join(first, meanwhile));
        assert_eq!(*sent.borrow(), [1, 3]);
        assert!(reports.sent_since_wake());
    }

    #[test]
    fn a_room_without_a_name_reports_nothing() {
        let reports = LobbyReports::default();
        let sent = &Cell::new(0);
        let send = move |_| async move { sent.set(sent.get() + 1) };
        block_on(reports.report(|| None, send));
        assert_eq!(sent.get(), 0);
        assert!(!reports.sent_since_wake());
        // And nothing is left due or in flight: the next report goes out.
        block_on(reports.report(|| Some(report(1)), send));
        assert_eq!(sent.get(), 1);
    }
}
