//! The operator's weight changes on a kernel table the observer does not
//! own: set, drain (weight 0), restore. Pure planning — what to send and
//! what to remember — so the rules are tested without a kernel; the
//! observer's driver sends the operation over generic netlink.
//!
//! keepalived owns that table: its checkers rewrite a real server's weight
//! on their next transition, and a reload rewrites every weight. The
//! observer therefore remembers the weight it found before its first
//! change, and a restore puts exactly that back (or the configured weight
//! when it never changed the server itself).

use std::collections::BTreeMap;

use super::report::WeightSet;
use crate::dataplane::Operation;
use crate::engine::command::CommandError;
use crate::ipvs::model::{Dest, DestKey, ServiceKey, Table};

/// Weights set from this console, by real server.
#[derive(Debug, Default, Clone)]
pub struct Weights {
    set: BTreeMap<(ServiceKey, DestKey), WeightSet>,
}

/// One change to send to the kernel, and what to remember once it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightChange {
    pub operation: Operation,
    pub service: ServiceKey,
    pub server: DestKey,
    pub weight: i32,
    pub previous: i32,
}

impl Weights {
    /// A new weight for a real server in `table`.
    pub fn plan_set(
        &self,
        table: &Table,
        service: ServiceKey,
        server: DestKey,
        weight: i32,
    ) -> Result<WeightChange, CommandError> {
        if !(0..=65_535).contains(&weight) {
            return Err(CommandError::Invalid {
                what: format!("weight {weight}"),
                why: "must be 0-65535".into(),
            });
        }
        let dest = find(table, service, server)?;
        let previous = self
            .set
            .get(&(service, server))
            .map_or(dest.config.weight, |set| set.previous);
        let mut config = dest.config;
        config.weight = weight;
        Ok(WeightChange {
            operation: Operation::EditDest {
                service,
                dest: config,
            },
            service,
            server,
            weight,
            previous,
        })
    }

    /// Back to the weight found before this console's first change, else
    /// to `configured` (the configuration file's weight).
    pub fn plan_restore(
        &self,
        table: &Table,
        service: ServiceKey,
        server: DestKey,
        configured: Option<i32>,
    ) -> Result<WeightChange, CommandError> {
        let weight = match (self.set.get(&(service, server)), configured) {
            (Some(set), _) => set.previous,
            (None, Some(weight)) => weight,
            (None, None) => {
                return Err(CommandError::Invalid {
                    what: "restore".into(),
                    why: "this console never changed that real server's weight, and no \
                          configuration file (-f) gives it one"
                        .into(),
                })
            }
        };
        let mut change = self.plan_set(table, service, server, weight)?;
        change.previous = weight;
        Ok(change)
    }

    /// Remember a change the kernel took.
    pub fn record(&mut self, change: &WeightChange, by: &str) {
        let key = (change.service, change.server);
        if change.weight == change.previous {
            self.set.remove(&key);
            return;
        }
        self.set.insert(
            key,
            WeightSet {
                service: change.service,
                server: change.server,
                weight: change.weight,
                previous: change.previous,
                by: by.to_string(),
            },
        );
    }

    /// Forget changes keepalived has since overwritten (the table no longer
    /// shows the weight set here) or whose real server is gone.
    pub fn forget_overwritten(&mut self, table: &Table) {
        self.set.retain(|&(service, server), set| {
            find(table, service, server).is_ok_and(|dest| dest.config.weight == set.weight)
        });
    }

    pub fn list(&self) -> Vec<WeightSet> {
        self.set.values().cloned().collect()
    }
}

/// A real server in the kernel's table, or the error naming what is missing.
pub fn find(table: &Table, service: ServiceKey, server: DestKey) -> Result<&Dest, CommandError> {
    let found = table
        .service(service)
        .ok_or_else(|| CommandError::UnknownService {
            service: service.to_string(),
        })?;
    found
        .dests
        .iter()
        .find(|d| d.key() == server)
        .ok_or_else(|| CommandError::UnknownServer {
            service: service.to_string(),
            server: server.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::model::{DestConfig, Forward, Info, Origin, Service, ServiceConfig};

    fn service() -> ServiceKey {
        ServiceKey::tcp("198.51.100.88:80".parse().unwrap_or_else(|e| panic!("{e}")))
    }

    fn server() -> DestKey {
        DestKey::new("198.51.100.82:80".parse().unwrap_or_else(|e| panic!("{e}")))
    }

    fn table(weight: i32) -> Table {
        let mut vs = Service::new(ServiceConfig::new(service(), "wrr"));
        let address = "198.51.100.82:80".parse().unwrap_or_else(|e| panic!("{e}"));
        vs.dests
            .push(Dest::new(DestConfig::new(address, Forward::Route, weight)));
        Table {
            origin: Origin::Kernel,
            info: Info::KERNEL_DEFAULT,
            services: vec![vs],
        }
    }

    #[test]
    fn a_restore_puts_back_the_weight_found_before_the_first_change() {
        let mut weights = Weights::default();
        let first = weights
            .plan_set(&table(3), service(), server(), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.previous, 3);
        weights.record(&first, "root (console)");
        let second = weights
            .plan_set(&table(0), service(), server(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.previous, 3, "the weight before the first change");
        weights.record(&second, "root (console)");
        let restore = weights
            .plan_restore(&table(1), service(), server(), Some(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(restore.weight, 3);
        weights.record(&restore, "root (console)");
        assert!(weights.list().is_empty());
    }

    #[test]
    fn a_restore_without_a_change_takes_the_configured_weight_or_is_refused() {
        let weights = Weights::default();
        let restore = weights
            .plan_restore(&table(0), service(), server(), Some(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(restore.weight, 5);
        let refused = weights.plan_restore(&table(0), service(), server(), None);
        assert!(matches!(refused, Err(CommandError::Invalid { .. })));
    }

    #[test]
    fn unknown_targets_and_bad_weights_are_refused() {
        let weights = Weights::default();
        let other = DestKey::new("198.51.100.83:80".parse().unwrap_or_else(|e| panic!("{e}")));
        assert!(matches!(
            weights.plan_set(&table(1), service(), other, 1),
            Err(CommandError::UnknownServer { .. })
        ));
        assert!(matches!(
            weights.plan_set(&table(1), service(), server(), -1),
            Err(CommandError::Invalid { .. })
        ));
    }

    #[test]
    fn a_weight_keepalived_rewrote_is_forgotten() {
        let mut weights = Weights::default();
        let change = weights
            .plan_set(&table(3), service(), server(), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        weights.record(&change, "root (console)");
        weights.forget_overwritten(&table(0));
        assert_eq!(weights.list().len(), 1);
        weights.forget_overwritten(&table(3));
        assert!(weights.list().is_empty());
    }
}
