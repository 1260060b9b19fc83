//! A lock held by groups instead of threads: any number of tests of one
//! group (one module of the test binary) hold it together, and a test of
//! another group waits until the last of them has finished. Privileged
//! tests take it, so that network namespaces, VMs and real keepalived
//! processes of different modules never meet, while the tests of one
//! module still run in parallel.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

struct Holders {
    group: Option<String>,
    count: usize,
}

static HOLDERS: Mutex<Holders> = Mutex::new(Holders {
    group: None,
    count: 0,
});
static RELEASED: Condvar = Condvar::new();

/// Held for the duration of one test; releases the lock on drop, also when
/// the test panics.
#[derive(Debug)]
pub struct Guard {
    group: String,
}

fn holders() -> MutexGuard<'static, Holders> {
    // A panicking test never panics while holding the mutex itself (only
    // the group), so a poisoned mutex still holds consistent counts.
    HOLDERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until no other group holds the lock, then joins the holders.
pub fn enter(group: &str) -> Guard {
    let mut holders = holders();
    if let Some(other) = holders.group.as_deref().filter(|g| *g != group) {
        eprintln!("{group}: waiting for the tests of {other} to finish");
    }
    while holders.group.as_deref().is_some_and(|g| g != group) {
        holders = RELEASED
            .wait(holders)
            .unwrap_or_else(PoisonError::into_inner);
    }
    holders.group = Some(group.to_string());
    holders.count += 1;
    Guard {
        group: group.to_string(),
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut holders = holders();
        debug_assert_eq!(holders.group.as_deref(), Some(self.group.as_str()));
        holders.count -= 1;
        if holders.count == 0 {
            holders.group = None;
            RELEASED.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn one_group_shares_and_another_waits() {
        let a1 = enter("group_lock_test_a");
        let a2 = enter("group_lock_test_a");
        let entered = Arc::new(AtomicUsize::new(0));
        let waiter = {
            let entered = Arc::clone(&entered);
            std::thread::spawn(move || {
                let _b = enter("group_lock_test_b");
                entered.store(1, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(a1);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(entered.load(Ordering::SeqCst), 0, "b entered beside a");
        drop(a2);
        waiter.join().unwrap();
        assert_eq!(entered.load(Ordering::SeqCst), 1);
    }
}
