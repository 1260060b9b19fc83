//! `static_ipaddress`, `static_routes` and `static_rules`: present while
//! the daemon runs, whatever the VRRP states. Added at start; on reload
//! the lines that left the configuration are removed and the new ones
//! added; removed at stop. keepalived 2.2.7 removes its static addresses,
//! routes and rules when it stops (measured in a namespace: after SIGTERM
//! `ip route show table all`, `ip rule show` and `ip addr show` no longer
//! list them), so lvstop does the same.
//!
//! Order follows keepalived's: addresses, then routes (a route's `src`
//! must be a local address), then rules when adding; the reverse when
//! removing.

use super::{RouteSet, TableNames};
use crate::config::model::Config;
use crate::net::address::{AddressError, AddressSpec, Addresses};
use crate::net::route::{AddOutcome, RemoveOutcome, Routing, RoutingError};
use crate::vrrp::driver::setup::address_spec;

/// The kernel form of a configuration's static blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statics {
    pub addresses: Vec<AddressSpec>,
    pub routes: RouteSet,
}

/// What one [`apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaticsReport {
    pub added: usize,
    pub removed: usize,
    pub failed: usize,
}

impl Statics {
    /// The static blocks of `config`; lines lvstop cannot install are
    /// logged and left out.
    pub fn build(config: &Config, tables: &TableNames) -> Self {
        let vrrp = &config.vrrp;
        let mut addresses = Vec::new();
        for vip in &vrrp.static_addresses {
            match &vip.dev {
                Some(dev) => addresses.push(address_spec(vip, &dev.value)),
                None => tracing::warn!(
                    "static_ipaddress {} not installed: it names no 'dev'",
                    vip.address.value
                ),
            }
        }
        let routes = RouteSet::build(
            "static_routes/static_rules",
            &vrrp.static_routes,
            &vrrp.static_rules,
            tables,
        );
        Statics { addresses, routes }
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty()
    }

    /// The static blocks of `config`, reading rt_tables(5) on the blocking
    /// pool.
    pub async fn load(config: &Config) -> Self {
        let tables = tokio::task::spawn_blocking(TableNames::load)
            .await
            .unwrap_or_default();
        Self::build(config, &tables)
    }
}

/// A static entry the kernel refused, through either rtnetlink family.
#[derive(Debug, thiserror::Error)]
enum StaticError {
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error(transparent)]
    Address(#[from] AddressError),
}

/// Moves the host from `before` to `after`: what `before` has and `after`
/// lacks is removed (rules, routes, addresses), then everything of `after`
/// is added (addresses, routes, rules; what is already there stays).
pub async fn apply(before: &Statics, after: &Statics) -> StaticsReport {
    let mut report = StaticsReport::default();
    if before.is_empty() && after.is_empty() {
        return report;
    }
    let (routing, addresses) = match (Routing::connect(), Addresses::connect()) {
        (Ok(routing), Ok(addresses)) => (routing, addresses),
        (Err(e), _) => {
            tracing::error!("static routes: {e}");
            report.failed += 1;
            return report;
        }
        (_, Err(e)) => {
            tracing::error!("static addresses: {e}");
            report.failed += 1;
            return report;
        }
    };
    let mut removed = |result: Result<RemoveOutcome, StaticError>, what: String| match result {
        Ok(RemoveOutcome::Removed) => report.removed += 1,
        Ok(RemoveOutcome::Absent) => {}
        Err(e) => {
            tracing::error!("cannot remove static {what}: {e}");
            report.failed += 1;
        }
    };
    for rule in gone(&before.routes.rules, &after.routes.rules) {
        let result = routing.remove_rule(rule).await.map_err(StaticError::from);
        removed(result, format!("rule {rule}"));
    }
    for route in gone(&before.routes.routes, &after.routes.routes) {
        let result = routing.remove_route(route).await.map_err(StaticError::from);
        removed(result, format!("route {route}"));
    }
    for address in gone(&before.addresses, &after.addresses) {
        let result = addresses.remove(address).await.map_err(StaticError::from);
        removed(result, format!("address {address}"));
    }
    let mut added = |result: Result<AddOutcome, StaticError>, what: String| match result {
        Ok(AddOutcome::Added) => report.added += 1,
        Ok(AddOutcome::AlreadyPresent) => {}
        Err(e) => {
            tracing::error!("cannot add static {what}: {e}");
            report.failed += 1;
        }
    };
    for address in &after.addresses {
        let result = addresses.add(address).await.map_err(StaticError::from);
        added(result, format!("address {address}"));
    }
    for route in &after.routes.routes {
        let result = routing.add_route(route).await.map_err(StaticError::from);
        added(result, format!("route {route}"));
    }
    for rule in &after.routes.rules {
        let result = routing.add_rule(rule).await.map_err(StaticError::from);
        added(result, format!("rule {rule}"));
    }
    report
}

/// The entries of `before` that `after` does not hold, last first.
fn gone<'a, T: PartialEq>(before: &'a [T], after: &[T]) -> Vec<&'a T> {
    before.iter().rev().filter(|x| !after.contains(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_left_the_configuration_is_removed() {
        let before = [1, 2, 3];
        let after = [2, 4];
        assert_eq!(gone(&before, &after), vec![&3, &1]);
    }
}
