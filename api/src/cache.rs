//! A short-lived in-process cache of `GET /projects/{id}` answers.
//!
//! Progress is read far more often than it changes, and the replica behind the read path lags
//! anyway, so an answer up to `ttl` old is within what a reader already sees. The funding-rw role
//! drops a project's entry after each change it commits, so its own writes are read back at once.
//! Only found projects are cached (a 404 is not). `ttl` zero turns the cache off.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept at most; when full, the cache starts over (cheap, and rare at this size).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub struct ProjectCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Bytes)>>,
}

impl ProjectCache {
    pub fn new(ttl: Duration) -> Self {
        ProjectCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Bytes)>> {
        // A panic while holding this lock cannot leave a half-written entry: keep going.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached JSON body of a project, if fresh.
    pub fn get(&self, id: &str) -> Option<Bytes> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries();
        let (at, body) = entries.get(id)?;
        (at.elapsed() < self.ttl).then(|| body.clone())
    }

    pub fn put(&self, id: &str, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(id) {
            entries.clear();
        }
        entries.insert(id.to_string(), (Instant::now(), body));
    }

    pub fn invalidate(&self, id: &str) {
        self.entries().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let cache = ProjectCache::new(Duration::from_secs(60));
        assert_eq!(cache.get("p"), None);
        cache.put("p", Bytes::from_static(b"{}"));
        assert_eq!(cache.get("p"), Some(Bytes::from_static(b"{}")));
        cache.invalidate("p");
        assert_eq!(cache.get("p"), None);

        let off = ProjectCache::new(Duration::ZERO);
        off.put("p", Bytes::from_static(b"{}"));
        assert_eq!(off.get("p"), None);
    }
}
