//! The sessions of a remote mission service: unguessable ids, per-session state behind its own
//! lock, and the sweeping of sessions abandoned without a teardown.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::leases::SessionLeases;

/// One session: the user's state (taken out at teardown) and its leases, behind an async lock
/// so that calls for the same session run one at a time while other sessions proceed.
pub(crate) struct Session<S> {
    pub(crate) slot: tokio::sync::Mutex<Slot<S>>,
    last_used: Mutex<Instant>,
}

/// What a session's lock guards.
pub(crate) struct Slot<S> {
    /// `None` once torn down (a call that looked the session up just before the teardown finds
    /// it empty and answers `INVALID_SESSION_ID`).
    pub(crate) state: Option<S>,
    pub(crate) leases: SessionLeases,
}

impl<S> Session<S> {
    fn new(state: S, leases: SessionLeases) -> Self {
        Self {
            slot: tokio::sync::Mutex::new(Slot {
                state: Some(state),
                leases,
            }),
            last_used: Mutex::new(Instant::now()),
        }
    }

    /// Marks the session as used now.
    pub(crate) fn touch(&self) {
        *self
            .last_used
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(
            *self
                .last_used
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// The live sessions, by id.
pub(crate) struct Sessions<S> {
    map: Mutex<HashMap<String, Arc<Session<S>>>>,
}

impl<S> Default for Sessions<S> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<S> Sessions<S> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Session<S>>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new session under a fresh id and returns the id.
    pub(crate) fn insert(&self, id: String, state: S, leases: SessionLeases) {
        self.lock()
            .insert(id, Arc::new(Session::new(state, leases)));
    }

    /// The session with this id, marked as used.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session<S>>> {
        let session = self.lock().get(id).cloned()?;
        session.touch();
        Some(session)
    }

    /// Removes the session with this id.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Session<S>>> {
        self.lock().remove(id)
    }

    /// Removes and returns the sessions idle for longer than `timeout`, except those with a call
    /// in progress.
    pub(crate) fn remove_abandoned(&self, timeout: Duration) -> Vec<(String, Arc<Session<S>>)> {
        let now = Instant::now();
        let mut map = self.lock();
        let abandoned: Vec<String> = map
            .iter()
            .filter(|(_, session)| {
                session.idle_for(now) > timeout && session.slot.try_lock().is_ok()
            })
            .map(|(id, _)| id.clone())
            .collect();
        abandoned
            .into_iter()
            .filter_map(|id| map.remove(&id).map(|session| (id, session)))
            .collect()
    }

    /// How many sessions are live.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// A new session id: 128 bits from the operating system's CSPRNG, as 32 hex digits.
///
/// Fails only if the operating system has no random source.
pub(crate) fn new_session_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let mut id = String::with_capacity(32);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(id, "{byte:02x}");
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leases() -> SessionLeases {
        SessionLeases::new("test", None)
    }

    #[test]
    fn ids_are_long_random_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| new_session_id().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn insert_get_remove() {
        let sessions = Sessions::default();
        sessions.insert("a".into(), 1u32, leases());
        assert_eq!(sessions.len(), 1);
        assert!(sessions.get("a").is_some());
        assert!(sessions.get("b").is_none());
        assert!(sessions.remove("a").is_some());
        assert!(sessions.get("a").is_none());
        assert_eq!(sessions.len(), 0);
    }

    #[tokio::test]
    async fn only_idle_unlocked_sessions_are_abandoned() {
        let sessions = Sessions::default();
        sessions.insert("idle".into(), 1u32, leases());
        sessions.insert("busy".into(), 2u32, leases());
        sessions.insert("fresh".into(), 3u32, leases());
        std::thread::sleep(Duration::from_millis(30));
        let busy = sessions.get("busy").unwrap();
        let _guard = busy.slot.lock().await;
        // `get` touched "busy"; make it idle again while it is locked.
        *busy.last_used.lock().unwrap() = Instant::now() - Duration::from_secs(1);
        sessions.get("fresh").unwrap();
        let removed = sessions.remove_abandoned(Duration::from_millis(20));
        let ids: Vec<&str> = removed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["idle"]);
        assert_eq!(sessions.len(), 2);
    }
}
