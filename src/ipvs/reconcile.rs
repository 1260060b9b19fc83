//! Desired table vs. a dataplane's actual table → the fewest operations
//! that make them equal. Sans-I/O: the caller reads the table and applies
//! the plan.
//!
//! Order matters for a live director: new services and destinations are
//! added before old ones go, so traffic always has somewhere to land;
//! edits come in between. Applying a plan and planning again yields an
//! empty plan (idempotence).

use std::collections::HashMap;

use super::desired::DesiredService;
use super::model::{DestConfig, DestKey, Service, ServiceConfig, ServiceKey, Table};
use crate::dataplane::Operation;

/// Operations that turn `actual` into `desired`.
pub fn plan(desired: &[DesiredService], actual: &Table) -> Vec<Operation> {
    let actual_by_key: HashMap<ServiceKey, &Service> =
        actual.services.iter().map(|s| (s.key(), s)).collect();
    let desired_keys: std::collections::HashSet<ServiceKey> =
        desired.iter().map(|d| d.config.key).collect();

    let mut adds = Vec::new();
    let mut edits = Vec::new();
    let mut removals = Vec::new();

    for want in desired {
        let key = want.config.key;
        match actual_by_key.get(&key) {
            None => {
                adds.push(Operation::AddService(want.config.clone()));
                for dest in &want.dests {
                    adds.push(Operation::AddDest {
                        service: key,
                        dest: *dest,
                    });
                }
            }
            Some(have) => {
                if !same_service(&want.config, &have.config) {
                    edits.push(Operation::EditService(want.config.clone()));
                }
                plan_dests(key, &want.dests, have, &mut adds, &mut edits, &mut removals);
            }
        }
    }
    for have in actual.sorted_services() {
        if !desired_keys.contains(&have.key()) {
            removals.push(Operation::DeleteService(have.key()));
        }
    }
    adds.extend(edits);
    adds.extend(removals);
    adds
}

fn plan_dests(
    service: ServiceKey,
    wanted: &[DestConfig],
    have: &Service,
    adds: &mut Vec<Operation>,
    edits: &mut Vec<Operation>,
    removals: &mut Vec<Operation>,
) {
    let mut wanted_keys = std::collections::HashSet::new();
    for dest in wanted {
        if !wanted_keys.insert(dest.key) {
            continue;
        }
        match have.dest(dest.key) {
            None => adds.push(Operation::AddDest {
                service,
                dest: *dest,
            }),
            Some(current) if !same_dest(dest, &current.config) => {
                edits.push(Operation::EditDest {
                    service,
                    dest: *dest,
                });
            }
            Some(_) => {}
        }
    }
    let mut stale: Vec<DestKey> = have
        .dests
        .iter()
        .map(|d| d.key())
        .filter(|k| !wanted_keys.contains(k))
        .collect();
    stale.sort();
    removals.extend(
        stale
            .into_iter()
            .map(|dest| Operation::DeleteDest { service, dest }),
    );
}

/// A difference between what was applied and what the dataplane holds
/// now: someone (an operator with `ipvsadm`, another tool) changed the
/// table behind the director's back. The director reports it rather than
/// silently fighting it; a reload puts its own table back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift(pub Operation);

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Operation::AddService(config) => write!(f, "service {} was removed", config.key),
            Operation::EditService(config) => write!(
                f,
                "service {} was edited (configured: scheduler {}, flags {:#x}, timeout {})",
                config.key, config.scheduler, config.flags.0, config.timeout
            ),
            Operation::AddDest { service, dest } => {
                write!(f, "real server {} of {service} was removed", dest.key)
            }
            Operation::EditDest { service, dest } => write!(
                f,
                "real server {} of {service} was edited (configured: {} weight {} thresholds {}/{})",
                dest.key,
                dest.forward.ipvsadm_name(),
                dest.weight,
                dest.upper_threshold,
                dest.lower_threshold
            ),
            Operation::DeleteDest { service, dest } => {
                write!(f, "real server {dest} was added to {service}")
            }
            Operation::DeleteService(key) => write!(f, "service {key} was added"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// What changed in `actual` since `applied` was applied, for the services
/// `applied` names (anyone else's services are not the director's
/// business).
pub fn drift(applied: &[DesiredService], actual: &Table) -> Vec<Drift> {
    let keys: std::collections::HashSet<ServiceKey> =
        applied.iter().map(|s| s.config.key).collect();
    let mut mine = actual.clone();
    mine.services.retain(|s| keys.contains(&s.key()));
    plan(applied, &mine).into_iter().map(Drift).collect()
}

/// Whether two service configurations are the same to the kernel. The
/// `HASHED` flag is the kernel's own bookkeeping and is ignored.
fn same_service(a: &ServiceConfig, b: &ServiceConfig) -> bool {
    let settable = !super::model::ServiceFlags::HASHED;
    a.scheduler == b.scheduler
        && a.flags.0 & settable == b.flags.0 & settable
        && (!a.flags.persistent() || (a.timeout == b.timeout && a.netmask == b.netmask))
        && a.pe_name == b.pe_name
}

fn same_dest(a: &DestConfig, b: &DestConfig) -> bool {
    let tunnel_matters = a.forward == super::model::Forward::Tunnel;
    a.forward == b.forward
        && a.weight == b.weight
        && a.upper_threshold == b.upper_threshold
        && a.lower_threshold == b.lower_threshold
        && (!tunnel_matters || a.tunnel == b.tunnel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::model::{Dest, Forward, Info, Origin};

    fn svc(addr: &str) -> ServiceConfig {
        ServiceConfig::new(ServiceKey::tcp(addr.parse().unwrap()), "wrr")
    }

    fn dest(addr: &str, weight: i32) -> DestConfig {
        DestConfig::new(addr.parse().unwrap(), Forward::Route, weight)
    }

    fn table(services: &[(ServiceConfig, Vec<DestConfig>)]) -> Table {
        Table {
            origin: Origin::Kernel,
            info: Info::KERNEL_DEFAULT,
            services: services
                .iter()
                .map(|(config, dests)| {
                    let mut s = Service::new(config.clone());
                    s.dests = dests.iter().map(|d| Dest::new(*d)).collect();
                    s
                })
                .collect(),
        }
    }

    fn desired(services: &[(ServiceConfig, Vec<DestConfig>)]) -> Vec<DesiredService> {
        services
            .iter()
            .map(|(config, dests)| DesiredService {
                config: config.clone(),
                dests: dests.clone(),
            })
            .collect()
    }

    #[test]
    fn an_equal_table_needs_no_operation() {
        let state = [(svc("10.0.0.1:80"), vec![dest("10.1.0.1:80", 1)])];
        assert!(plan(&desired(&state), &table(&state)).is_empty());
    }

    #[test]
    fn adds_come_before_edits_and_removals() {
        let want = [
            (svc("10.0.0.1:80"), vec![dest("10.1.0.2:80", 5)]),
            (svc("10.0.0.2:80"), vec![dest("10.1.0.3:80", 1)]),
        ];
        let have = [
            (
                svc("10.0.0.1:80").persistent(60),
                vec![dest("10.1.0.1:80", 1)],
            ),
            (svc("10.0.0.9:80"), vec![]),
        ];
        let ops = plan(&desired(&want), &table(&have));
        let names: Vec<String> = ops
            .iter()
            .map(|op| match op {
                Operation::AddService(c) => format!("add {}", c.key),
                Operation::EditService(c) => format!("edit {}", c.key),
                Operation::DeleteService(k) => format!("del {k}"),
                Operation::AddDest { dest, .. } => format!("add-dest {}", dest.key),
                Operation::EditDest { dest, .. } => format!("edit-dest {}", dest.key),
                Operation::DeleteDest { dest, .. } => format!("del-dest {dest}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "add-dest 10.1.0.2:80",
                "add TCP 10.0.0.2:80",
                "add-dest 10.1.0.3:80",
                "edit TCP 10.0.0.1:80",
                "del-dest 10.1.0.1:80",
                "del TCP 10.0.0.9:80",
            ]
        );
    }

    #[test]
    fn drift_names_what_changed_and_ignores_other_services() {
        let applied = [(
            svc("10.0.0.1:80"),
            vec![dest("10.1.0.1:80", 3), dest("10.1.0.2:80", 1)],
        )];
        let now = [
            (
                svc("10.0.0.1:80"),
                vec![dest("10.1.0.1:80", 7), dest("10.1.0.9:80", 1)],
            ),
            (svc("10.0.0.9:443"), vec![]),
        ];
        let found: Vec<String> = drift(&desired(&applied), &table(&now))
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            found,
            [
                "real server 10.1.0.2:80 of TCP 10.0.0.1:80 was removed",
                "real server 10.1.0.1:80 of TCP 10.0.0.1:80 was edited (configured: Route weight 3 thresholds 0/0)",
                "real server 10.1.0.9:80 was added to TCP 10.0.0.1:80",
            ]
        );
        assert!(drift(&desired(&applied), &table(&applied)).is_empty());
    }

    #[test]
    fn a_weight_change_is_one_edit() {
        let want = [(svc("10.0.0.1:80"), vec![dest("10.1.0.1:80", 0)])];
        let have = [(svc("10.0.0.1:80"), vec![dest("10.1.0.1:80", 3)])];
        let ops = plan(&desired(&want), &table(&have));
        assert_eq!(
            ops,
            [Operation::EditDest {
                service: want[0].0.key,
                dest: want[0].1[0]
            }]
        );
    }
}
