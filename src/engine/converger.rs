//! The converger: keeps the dataplane's table equal to the wanted one.
//! It owns the dataplane, remembers which services this director
//! programmed (and only ever removes those), what it applied last (to see
//! drift), whether the last attempt failed (to retry), and, on a
//! userspace dataplane, which VIPs VRRP lets this director serve.

use std::collections::HashSet;
use std::sync::Arc;

use super::director::EngineError;
use super::gate::VipOwners;
use super::lvs_globals;
use crate::config::model::global::LvsTimeouts;
use crate::config::model::Config;
use crate::dataplane::{Dataplane, DataplaneKind, Operation};
use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::{ServiceKey, Table};
use crate::ipvs::reconcile;
use crate::vrrp::driver::VrrpStatus;

/// The dataplane and what this director did to it.
#[derive(Debug)]
pub struct Converger<D> {
    dataplane: Arc<D>,
    /// Userspace only: VIPs served only while their instance is MASTER.
    gate: Option<VipOwners>,
    /// Services this director programmed.
    owned: HashSet<ServiceKey>,
    /// The table last applied, to detect drift.
    applied: Vec<DesiredService>,
    /// Drift already in the timeline, reported once each.
    reported_drift: Vec<String>,
    /// The last converge failed (a VIP still held by the previous
    /// master, a refused operation): try again on the next tick.
    retry: bool,
}

impl<D: Dataplane> Converger<D> {
    /// A converger for `config` that has programmed nothing yet.
    pub fn new(dataplane: Arc<D>, config: &Config) -> Self {
        let gate = (dataplane.kind() == DataplaneKind::Userspace)
            .then(|| VipOwners::from_config(config))
            .filter(|owners| !owners.is_empty());
        Converger {
            dataplane,
            gate,
            owned: HashSet::new(),
            applied: Vec::new(),
            reported_drift: Vec::new(),
            retry: false,
        }
    }

    pub fn dataplane(&self) -> &D {
        &self.dataplane
    }

    /// Whether VRRP's ownership of the VIPs changes the table.
    pub fn gated(&self) -> bool {
        self.gate.is_some()
    }

    /// Whether the last converge failed and should be tried again.
    pub fn retrying(&self) -> bool {
        self.retry
    }

    /// Services this director programmed.
    pub fn owned(&self) -> &HashSet<ServiceKey> {
        &self.owned
    }

    /// The table last applied.
    pub fn applied(&self) -> &[DesiredService] {
        &self.applied
    }

    /// Make the dataplane's table `wanted`, as VRRP lets this director
    /// serve it.
    pub async fn converge(
        &mut self,
        wanted: Vec<DesiredService>,
        vrrp: &VrrpStatus,
    ) -> Result<(), EngineError> {
        let wanted = self.serveable(self.gate.as_ref(), wanted, vrrp);
        let result = converge(self.dataplane.as_ref(), wanted, &mut self.owned).await;
        self.retry = result.is_err();
        let applied = result?;
        self.applied = applied;
        self.reported_drift.clear();
        Ok(())
    }

    /// `wanted` as VRRP would let this director serve it with
    /// `candidate` running.
    pub fn serveable_for(
        &self,
        candidate: &Config,
        wanted: Vec<DesiredService>,
        vrrp: &VrrpStatus,
    ) -> Vec<DesiredService> {
        if self.dataplane.kind() == DataplaneKind::Userspace {
            let gate = VipOwners::from_config(candidate);
            return self.serveable(Some(&gate), wanted, vrrp);
        }
        wanted
    }

    fn serveable(
        &self,
        gate: Option<&VipOwners>,
        wanted: Vec<DesiredService>,
        vrrp: &VrrpStatus,
    ) -> Vec<DesiredService> {
        match gate {
            Some(gate) => gate.filter(wanted, vrrp),
            None => wanted,
        }
    }

    /// What the dataplane's `live` table becomes to reach `wanted`:
    /// services neither owned nor wanted are someone else's.
    pub fn operations_to(&self, wanted: &[DesiredService], mut live: Table) -> Vec<Operation> {
        let keys: HashSet<ServiceKey> = wanted.iter().map(|s| s.config.key).collect();
        live.services
            .retain(|s| self.owned.contains(&s.key()) || keys.contains(&s.key()));
        reconcile::plan(wanted, &live)
    }

    /// A transactional apply put `applied` in the dataplane, and
    /// `candidate` runs now.
    pub fn adopt(&mut self, applied: &[DesiredService], candidate: &Config) {
        let keys: HashSet<ServiceKey> = applied.iter().map(|s| s.config.key).collect();
        self.owned.extend(keys.iter().copied());
        self.owned.retain(|k| keys.contains(k));
        self.applied = applied.to_vec();
        self.reported_drift.clear();
        if self.dataplane.kind() == DataplaneKind::Userspace {
            self.gate = Some(VipOwners::from_config(candidate)).filter(|o| !o.is_empty());
        }
    }

    /// Compare the dataplane with what was applied; returns each
    /// difference not reported before (IPVS has no change notifications,
    /// so this polls).
    pub async fn new_drift(&mut self) -> Vec<String> {
        let table = match self.dataplane.snapshot().await {
            Ok(table) => table,
            Err(e) => {
                tracing::warn!("cannot read the dataplane to check for drift: {e}");
                return Vec::new();
            }
        };
        let now: Vec<String> = reconcile::drift(&self.applied, &table)
            .iter()
            .map(|d| d.to_string())
            .collect();
        let new = now
            .iter()
            .filter(|c| !self.reported_drift.contains(c))
            .cloned()
            .collect();
        self.reported_drift = now;
        new
    }

    /// `lvs_timeouts`, when the configuration sets any.
    pub async fn set_timeouts(&self, config: Option<&LvsTimeouts>) {
        let Some(timeouts) = lvs_globals::timeouts(config) else {
            return;
        };
        match self
            .dataplane
            .apply(&[Operation::SetTimeouts(timeouts)])
            .await
        {
            Ok(()) => tracing::info!(
                "lvs_timeouts: tcp {} tcpfin {} udp {} (0: unchanged)",
                timeouts.tcp,
                timeouts.tcp_fin,
                timeouts.udp
            ),
            Err(e) => tracing::error!("cannot set lvs_timeouts: {e}"),
        }
    }

    /// The services this director programmed, for the caller to keep or
    /// remove when it stops.
    pub fn into_owned(self) -> HashSet<ServiceKey> {
        self.owned
    }
}

/// Make the dataplane's table equal to `wanted`. Services the director did
/// not program and the configuration does not name (someone else's, on a
/// kernel) are left alone. Returns what is applied now.
async fn converge<D: Dataplane>(
    dataplane: &D,
    wanted: Vec<DesiredService>,
    owned: &mut HashSet<ServiceKey>,
) -> Result<Vec<DesiredService>, EngineError> {
    let wanted_keys: HashSet<ServiceKey> = wanted.iter().map(|s| s.config.key).collect();
    let mut table = dataplane.snapshot().await?;
    table
        .services
        .retain(|s| owned.contains(&s.key()) || wanted_keys.contains(&s.key()));
    let operations = reconcile::plan(&wanted, &table);
    let count = operations.len();
    let result = dataplane.apply(&operations).await;
    // What was added before a failure is ours too.
    owned.extend(wanted_keys.iter().copied());
    if result.is_ok() {
        owned.retain(|k| wanted_keys.contains(k));
    }
    result?;
    if count > 0 {
        tracing::info!(
            "{} virtual service(s) programmed ({count} operation(s))",
            wanted.len()
        );
    }
    Ok(wanted)
}
