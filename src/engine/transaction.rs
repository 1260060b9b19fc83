//! All-or-nothing application of IPVS operations: apply them; when the
//! dataplane refuses one part way (it stops there and never undoes
//! anything itself — see [`crate::dataplane`]), apply the inverse of what
//! went through so the table is what it was, read it back to make sure,
//! and report both the refusal and how the rollback went.
//!
//! Counters of a service or destination that had to be deleted and added
//! back start again from zero: IPVS cannot restore them. `Zero` and
//! `SetTimeouts` are not undone (nothing to undo, or nothing to read back
//! through a [`Table`]); plans never contain them.

use std::collections::HashSet;

use crate::dataplane::{ApplyError, Dataplane, DataplaneError, Operation};
use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::{ServiceKey, Table};
use crate::ipvs::reconcile;

/// Why a transaction did not go through.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// Refused part way; the table is back as it was (read back and
    /// compared).
    #[error("the dataplane refused {refused}; rolled back, the table is as it was")]
    RolledBack { refused: ApplyError },
    /// Refused part way, and the rollback did not restore the table.
    #[error("the dataplane refused {refused}; the rollback failed: {rollback}")]
    RollbackFailed {
        refused: ApplyError,
        rollback: RollbackFailure,
    },
}

impl TransactionError {
    /// The operation the dataplane refused.
    pub fn refused(&self) -> &ApplyError {
        match self {
            TransactionError::RolledBack { refused }
            | TransactionError::RollbackFailed { refused, .. } => refused,
        }
    }

    /// Whether the table is as it was before the transaction.
    pub fn rolled_back(&self) -> bool {
        matches!(self, TransactionError::RolledBack { .. })
    }
}

/// How a rollback went wrong.
#[derive(Debug, thiserror::Error)]
pub enum RollbackFailure {
    #[error("undoing was refused too: {0}")]
    Apply(ApplyError),
    #[error("the table could not be read back: {0}")]
    Read(DataplaneError),
    /// Read back, the table still differs; one line per difference
    /// (what it would take to get back).
    #[error("the table still differs from before: {}", .0.join("; "))]
    Differs(Vec<String>),
}

/// Applies `operations` to `dataplane` all or nothing; `before` is the
/// table read just before (what a rollback restores).
pub async fn apply_all_or_nothing<D: Dataplane>(
    dataplane: &D,
    operations: &[Operation],
    before: &Table,
) -> Result<(), TransactionError> {
    let refused = match dataplane.apply(operations).await {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    let applied = operations.get(..refused.index).unwrap_or(operations);
    tracing::warn!(
        "{refused}; rolling back the {} operation(s) applied before it",
        applied.len()
    );
    // The table as it is now tells exactly what to undo; without it, the
    // operations' inverse in reverse order does.
    let undo = match dataplane.snapshot().await {
        Ok(now) => restore(operations, before, &now),
        Err(e) => {
            tracing::warn!("cannot read the table before rolling back ({e}); undoing blind");
            inverse(applied, before)
        }
    };
    if let Err(e) = dataplane.apply(&undo).await {
        return Err(TransactionError::RollbackFailed {
            refused,
            rollback: RollbackFailure::Apply(e),
        });
    }
    let now = match dataplane.snapshot().await {
        Ok(table) => table,
        Err(e) => {
            return Err(TransactionError::RollbackFailed {
                refused,
                rollback: RollbackFailure::Read(e),
            })
        }
    };
    let left = differences(operations, before, &now);
    if left.is_empty() {
        tracing::info!("rollback complete: the table is as it was");
        Err(TransactionError::RolledBack { refused })
    } else {
        Err(TransactionError::RollbackFailed {
            refused,
            rollback: RollbackFailure::Differs(left),
        })
    }
}

/// The operations that undo `applied` (which went through, in order, on
/// a table that was `before`), in the order to apply them.
pub fn inverse(applied: &[Operation], before: &Table) -> Vec<Operation> {
    let mut out = Vec::new();
    for operation in applied.iter().rev() {
        match operation {
            Operation::AddService(config) => out.push(Operation::DeleteService(config.key)),
            Operation::EditService(config) => {
                if let Some(old) = before.service(config.key) {
                    out.push(Operation::EditService(old.config.clone()));
                }
            }
            Operation::DeleteService(key) => {
                if let Some(old) = before.service(*key) {
                    out.push(Operation::AddService(old.config.clone()));
                    out.extend(old.dests.iter().rev().map(|d| Operation::AddDest {
                        service: *key,
                        dest: d.config,
                    }));
                }
            }
            Operation::AddDest { service, dest } => out.push(Operation::DeleteDest {
                service: *service,
                dest: dest.key,
            }),
            Operation::EditDest { service, dest } => {
                if let Some(old) = before.service(*service).and_then(|s| s.dest(dest.key)) {
                    out.push(Operation::EditDest {
                        service: *service,
                        dest: old.config,
                    });
                }
            }
            Operation::DeleteDest { service, dest } => {
                if let Some(old) = before.service(*service).and_then(|s| s.dest(*dest)) {
                    out.push(Operation::AddDest {
                        service: *service,
                        dest: old.config,
                    });
                }
            }
            Operation::Flush => {
                out.extend(before.services.iter().flat_map(|s| {
                    std::iter::once(Operation::AddService(s.config.clone())).chain(
                        s.dests.iter().rev().map(|d| Operation::AddDest {
                            service: s.key(),
                            dest: d.config,
                        }),
                    )
                }));
            }
            Operation::StartDaemon(daemon) => out.push(Operation::StopDaemon(daemon.state)),
            // Counters, timeouts and a stopped sync daemon are not part of
            // the table a rollback restores.
            Operation::Zero(_) | Operation::SetTimeouts(_) | Operation::StopDaemon(_) => {}
        }
    }
    out
}

/// The operations that bring the services `operations` touch (`Flush`
/// touches all) from `now` back to `before`.
fn restore(operations: &[Operation], before: &Table, now: &Table) -> Vec<Operation> {
    let everything = operations.iter().any(|o| matches!(o, Operation::Flush));
    let touched: HashSet<ServiceKey> = operations
        .iter()
        .filter_map(|o| match o {
            Operation::AddService(c) | Operation::EditService(c) => Some(c.key),
            Operation::DeleteService(k) => Some(*k),
            Operation::AddDest { service, .. }
            | Operation::EditDest { service, .. }
            | Operation::DeleteDest { service, .. } => Some(*service),
            _ => None,
        })
        .collect();
    let mine = |key: ServiceKey| everything || touched.contains(&key);
    let wanted: Vec<DesiredService> = before
        .services
        .iter()
        .filter(|s| mine(s.key()))
        .map(|s| DesiredService {
            config: s.config.clone(),
            dests: s.dests.iter().rev().map(|d| d.config).collect(),
        })
        .collect();
    let mut current = now.clone();
    current.services.retain(|s| mine(s.key()));
    reconcile::plan(&wanted, &current)
}

/// What still differs between `before` and `now` for the services
/// `operations` touch, as drift lines.
fn differences(operations: &[Operation], before: &Table, now: &Table) -> Vec<String> {
    restore(operations, before, now)
        .into_iter()
        .map(|op| reconcile::Drift(op).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ipvs::model::{Dest, DestConfig, Forward, Info, Origin, Service, ServiceConfig};

    fn table() -> Table {
        let key = ServiceKey::tcp("198.51.100.88:80".parse().unwrap());
        let mut service = Service::new(ServiceConfig::new(key, "wrr"));
        service.dests = ["198.51.100.82:80", "198.51.100.83:80"]
            .iter()
            .map(|a| Dest::new(DestConfig::new(a.parse().unwrap(), Forward::Route, 1)))
            .collect();
        Table {
            origin: Origin::Userspace,
            info: Info::KERNEL_DEFAULT,
            services: vec![service],
        }
    }

    /// Applies `ops` to a table the way a dataplane would (enough for
    /// these operations).
    fn run(table: &Table, ops: &[Operation]) -> Table {
        let mut out = table.clone();
        for op in ops {
            match op {
                Operation::AddService(c) => out.services.push(Service::new(c.clone())),
                Operation::EditService(c) => {
                    for s in out.services.iter_mut().filter(|s| s.key() == c.key) {
                        s.config = c.clone();
                    }
                }
                Operation::DeleteService(k) => out.services.retain(|s| s.key() != *k),
                Operation::AddDest { service, dest } => {
                    for s in out.services.iter_mut().filter(|s| s.key() == *service) {
                        s.dests.insert(0, Dest::new(*dest));
                    }
                }
                Operation::EditDest { service, dest } => {
                    for s in out.services.iter_mut().filter(|s| s.key() == *service) {
                        for d in s.dests.iter_mut().filter(|d| d.key() == dest.key) {
                            d.config = *dest;
                        }
                    }
                }
                Operation::DeleteDest { service, dest } => {
                    for s in out.services.iter_mut().filter(|s| s.key() == *service) {
                        s.dests.retain(|d| d.key() != *dest);
                    }
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn the_inverse_of_applied_operations_restores_the_table() {
        let before = table();
        let key = before.services[0].key();
        let mut heavier = before.services[0].dests[0].config;
        heavier.weight = 7;
        let other = ServiceKey::tcp("198.51.100.89:80".parse().unwrap());
        let applied = vec![
            Operation::AddService(ServiceConfig::new(other, "rr")),
            Operation::EditDest {
                service: key,
                dest: heavier,
            },
            Operation::EditService(ServiceConfig::new(key, "rr")),
            Operation::DeleteDest {
                service: key,
                dest: before.services[0].dests[1].key(),
            },
            Operation::DeleteService(key),
        ];
        let after = run(&before, &applied);
        assert!(!differences(&applied, &before, &after).is_empty());
        let restored = run(&after, &inverse(&applied, &before));
        assert!(differences(&applied, &before, &restored).is_empty());
        let replanned = run(&after, &restore(&applied, &before, &after));
        assert!(differences(&applied, &before, &replanned).is_empty());
        assert_eq!(
            restored
                .services
                .iter()
                .map(|s| s.key())
                .collect::<Vec<_>>(),
            [key]
        );
    }
}
