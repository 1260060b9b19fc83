//! The kernel's connection sync daemon as a director runs it: started in
//! the role `lvs_sync_daemon` and VRRP give (see [`lvs_globals`]),
//! restarted when the role changes, stopped with the director. The
//! userspace dataplane has no connection table to sync; it says so once.

use super::lvs_globals;
use crate::config::model::global::LvsSyncDaemon;
use crate::dataplane::{Dataplane, DataplaneKind, Operation};
use crate::ipvs::model::Daemon;
use crate::vrrp::driver::VrrpStatus;

/// `lvs_sync_daemon`, and the daemon this director started.
#[derive(Debug, Default)]
pub struct SyncDaemon {
    config: Option<LvsSyncDaemon>,
    running: Option<Daemon>,
}

impl SyncDaemon {
    pub fn new(config: Option<LvsSyncDaemon>) -> Self {
        SyncDaemon {
            config,
            running: None,
        }
    }

    /// A new configuration's `lvs_sync_daemon`; [`SyncDaemon::follow`]
    /// acts on it.
    pub fn set_config(&mut self, config: Option<LvsSyncDaemon>) {
        self.config = config;
    }

    /// Run the daemon the configuration asks for in the role VRRP gives
    /// now; nothing changes while the role stays.
    pub async fn follow<D: Dataplane>(&mut self, dataplane: &D, vrrp: &VrrpStatus) {
        let wanted = match &self.config {
            Some(config) if dataplane.kind() == DataplaneKind::Kernel => {
                Some(lvs_globals::sync_daemon(config, vrrp))
            }
            Some(_) => {
                if self.running.is_none() {
                    tracing::warn!(
                        "lvs_sync_daemon ignored: the userspace dataplane has no connection table to sync"
                    );
                }
                None
            }
            None => None,
        };
        if wanted == self.running {
            return;
        }
        self.stop(dataplane).await;
        let Some(daemon) = wanted else { return };
        match dataplane
            .apply(&[Operation::StartDaemon(daemon.clone())])
            .await
        {
            Ok(()) => {
                tracing::info!(
                    "lvs_sync_daemon: {:?} on {} (syncid {})",
                    daemon.state,
                    daemon.mcast_ifn,
                    daemon.syncid
                );
                self.running = Some(daemon);
            }
            Err(e) => tracing::error!("cannot start the sync daemon: {e}"),
        }
    }

    /// Stop the daemon this director started, if one runs.
    pub async fn stop<D: Dataplane>(&mut self, dataplane: &D) {
        if let Some(running) = self.running.take() {
            if let Err(e) = dataplane
                .apply(&[Operation::StopDaemon(running.state)])
                .await
            {
                tracing::error!("cannot stop the sync daemon: {e}");
            }
        }
    }
}
