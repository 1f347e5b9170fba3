//! The connection table: a bound on open connections that sheds the least useful ones. Every
//! connection holds a [`Conn`] slot from accept to close; a connection is *busy* while a request is in
//! progress on it (head read, until its response body is sent) and *idle* otherwise — waiting for the
//! next request, or still receiving an unfinished request head. Why this shape: under a flood of
//! slow or idle connections (slowloris, idle keep-alive), refusing new connections would starve the
//! normal clients, while closing the connection idle the longest sheds the attacker's connections
//! first (a busy client's pooled connections are idle for milliseconds) and keeps memory bounded by
//! `--max-connections`. A connection idle for `--idle-timeout` is closed by the reaper.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The open connections of one listener.
pub struct Conns {
    max: usize,
    idle_timeout: Duration,
    state: Mutex<State>,
    /// Woken when the last connection closes (the shutdown drain waits on it).
    empty: Notify,
}

#[derive(Default)]
struct State {
    next_id: u64,
    open: HashMap<u64, Entry>,
    /// Idle connections, oldest first.
    idle: BTreeSet<(Instant, u64)>,
    /// Connections told to close that have not closed yet.
    evicting: usize,
    /// Connections closed to make room or for idling (for the log and the tests' figures).
    shed: u64,
}

struct Entry {
    busy: u32,
    idle_since: Option<Instant>,
    evicting: bool,
    evict: Arc<Notify>,
}

/// Why a connection could not be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl Conns {
    /// A table for at most `max` connections; idle ones are closed after `idle_timeout`.
    pub fn new(max: usize, idle_timeout: Duration) -> Arc<Conns> {
        Arc::new(Conns {
            max,
            idle_timeout,
            state: Mutex::new(State::default()),
            empty: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every await-free step; a panic elsewhere does not spoil it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admit a new connection: over the cap, tell the connection idle the longest to close; when
    /// every connection is busy, [`Full`] (the caller answers 503 and closes).
    pub fn admit(self: &Arc<Self>) -> Result<Conn, Full> {
        let mut st = self.lock();
        if st.open.len() - st.evicting >= self.max {
            let Some(oldest) = st.idle.pop_first() else {
                return Err(Full);
            };
            st.evict(oldest.1);
        }
        let id = st.next_id;
        st.next_id += 1;
        let now = Instant::now();
        let evict = Arc::new(Notify::new());
        st.open.insert(
            id,
            Entry {
                busy: 0,
                idle_since: Some(now),
                evicting: false,
                evict: evict.clone(),
            },
        );
        st.idle.insert((now, id));
        Ok(Conn {
            table: self.clone(),
            id,
            evict,
        })
    }

    /// Close connections idle for longer than the idle timeout; returns how many were told to.
    pub fn reap(&self) -> usize {
        let mut st = self.lock();
        let Some(limit) = Instant::now().checked_sub(self.idle_timeout) else {
            return 0;
        };
        let mut n = 0;
        while let Some(&(since, id)) = st.idle.first() {
            if since > limit {
                break;
            }
            st.idle.pop_first();
            st.evict(id);
            n += 1;
        }
        n
    }

    /// Open connections (including those told to close that have not yet).
    pub fn open(&self) -> usize {
        self.lock().open.len()
    }

    /// Connections closed to make room or for idling, since start.
    pub fn shed(&self) -> u64 {
        self.lock().shed
    }

    /// Tell every connection to finish (shutdown): idle ones close now, busy ones after their
    /// response.
    pub fn close_all(&self) {
        let mut st = self.lock();
        let ids: Vec<u64> = st.open.keys().copied().collect();
        st.idle.clear();
        for id in ids {
            st.evict(id);
        }
    }

    /// Wait until every connection has closed.
    pub async fn drained(&self) {
        loop {
            let notified = self.empty.notified();
            if self.lock().open.is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// How often the reaper should look: a quarter of the idle timeout, between 50 ms and 1 s.
    pub fn reap_every(&self) -> Duration {
        (self.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }
}

impl State {
    fn evict(&mut self, id: u64) {
        if let Some(e) = self.open.get_mut(&id) {
            if let Some(since) = e.idle_since.take() {
                self.idle.remove(&(since, id));
            }
            if !e.evicting {
                e.evicting = true;
                self.evicting += 1;
                self.shed += 1;
            }
            // A stored permit: the connection's task sees it even if it is not waiting yet.
            e.evict.notify_one();
        }
    }
}

/// A connection's place in the table; released when dropped.
pub struct Conn {
    table: Arc<Conns>,
    id: u64,
    evict: Arc<Notify>,
}

impl Conn {
    /// Resolves when the connection has been told to close.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// Whether a request is in progress on the connection.
    pub fn is_busy(&self) -> bool {
        self.table.lock().open.get(&self.id).is_some_and(|e| e.busy > 0)
    }

    /// Mark a request in progress until the guard is dropped.
    pub fn busy(&self) -> Busy {
        let mut st = self.table.lock();
        if let Some(e) = st.open.get_mut(&self.id) {
            e.busy += 1;
            if let Some(since) = e.idle_since.take() {
                st.idle.remove(&(since, self.id));
            }
        }
        Busy {
            table: self.table.clone(),
            id: self.id,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut st = self.table.lock();
        if let Some(e) = st.open.remove(&self.id) {
            if let Some(since) = e.idle_since {
                st.idle.remove(&(since, self.id));
            }
            if e.evicting {
                st.evicting -= 1;
            }
        }
        if st.open.is_empty() {
            self.table.empty.notify_waiters();
        }
    }
}

/// A request in progress on a connection (see [`Conn::busy`]).
pub struct Busy {
    table: Arc<Conns>,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut st = self.table.lock();
        let id = self.id;
        if let Some(e) = st.open.get_mut(&id) {
            e.busy = e.busy.saturating_sub(1);
            if e.busy == 0 && !e.evicting {
                let now = Instant::now();
                e.idle_since = Some(now);
                st.idle.insert((now, id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_cap_the_longest_idle_connection_is_told_to_close() {
        let t = Conns::new(2, Duration::from_secs(60));
        let a = t.admit().unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let b = t.admit().unwrap();
        let busy_b = b.busy();
        // a is the only idle one: it is evicted for c.
        let c = t.admit().unwrap();
        assert_eq!(t.shed(), 1);
        assert_eq!(t.open(), 3, "a is still open until its task closes it");
        drop(a);
        assert_eq!(t.open(), 2);
        let busy_c = c.busy();
        assert_eq!(t.admit().err(), Some(Full), "every connection busy: refused");
        drop(busy_c);
        assert!(!c.is_busy() && b.is_busy());
        let _d = t.admit().expect("c is idle again and makes room");
        assert_eq!(t.shed(), 2);
        drop(busy_b);
    }

    #[tokio::test]
    async fn the_reaper_closes_idle_connections_and_the_drain_sees_them_go() {
        let t = Conns::new(10, Duration::from_millis(30));
        let a = t.admit().unwrap();
        let b = t.admit().unwrap();
        let busy = b.busy();
        assert_eq!(t.reap(), 0);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(t.reap(), 1, "only the idle one");
        tokio::time::timeout(Duration::from_secs(1), a.evicted())
            .await
            .expect("a is told to close");
        drop(a);
        t.close_all();
        tokio::time::timeout(Duration::from_secs(1), b.evicted())
            .await
            .expect("b is told to finish");
        let waiter = {
            let t = t.clone();
            tokio::spawn(async move { t.drained().await })
        };
        drop(busy);
        drop(b);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("drained")
            .unwrap();
    }
}
