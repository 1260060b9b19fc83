//! An engine on this host, as `lvstop daemon` and `lvstop --engine` run
//! it: the dataplane chosen, the host's one place for a VRRP speaker or
//! IPVS owner claimed, the engine started; and, at stop, the engine
//! stopped and the dataplane released.

use std::collections::HashSet;
use std::sync::Arc;

use super::director::{Engine, EngineError, EngineOptions};
use super::handle::Handle;
use crate::config::model::Config;
use crate::dataplane::chosen::{ChosenDataplane, DataplaneChoice};
use crate::dataplane::{Dataplane, DataplaneError, DataplaneKind};
use crate::net::speakers::{self, EngineClaim, SpeakerError};

/// Why an engine did not start on this host.
#[derive(Debug, thiserror::Error)]
pub enum HostEngineError {
    #[error("dataplane: {0}")]
    Dataplane(#[from] DataplaneError),
    #[error(transparent)]
    Speaker(#[from] SpeakerError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// How the host's engine runs.
#[derive(Debug, Clone)]
pub struct HostOptions {
    pub dataplane: DataplaneChoice,
    /// Start beside keepalived or another lvstop engine (`--allow-other-speaker`).
    pub allow_other_speaker: bool,
    pub engine: EngineOptions,
}

/// A running engine on this host's dataplane.
#[derive(Debug)]
pub struct HostEngine {
    engine: Engine,
    dataplane: Arc<ChosenDataplane>,
    /// Held while the engine runs: no other speaker starts meanwhile.
    _claim: Option<EngineClaim>,
}

impl HostEngine {
    /// Choose the dataplane, claim the host's place and start the engine
    /// on `config`. A refused start leaves nothing running.
    pub async fn start(config: Config, options: HostOptions) -> Result<Self, HostEngineError> {
        let dataplane = Arc::new(ChosenDataplane::choose(options.dataplane).await?);
        let claim = match claim_place(&config, dataplane.kind(), options.allow_other_speaker) {
            Ok(claim) => claim,
            Err(e) => {
                dataplane.release(&HashSet::new(), false).await;
                return Err(e.into());
            }
        };
        let engine = match Engine::start(Arc::clone(&dataplane), config, options.engine).await {
            Ok(engine) => engine,
            Err(e) => {
                dataplane.release(&HashSet::new(), false).await;
                return Err(e.into());
            }
        };
        Ok(HostEngine {
            engine,
            dataplane,
            _claim: claim,
        })
    }

    pub fn handle(&self) -> Handle {
        self.engine.handle()
    }

    pub fn dataplane(&self) -> Arc<ChosenDataplane> {
        Arc::clone(&self.dataplane)
    }

    /// Stop the engine (VRRP priority 0, VIPs removed, checks stopped),
    /// then release the dataplane: the kernel's services this engine
    /// programmed go unless `keep_services`.
    pub async fn stop(self, keep_services: bool) {
        let owned = self.engine.stop().await;
        self.dataplane.release(&owned, keep_services).await;
    }
}

/// Before an engine speaks VRRP or programs the kernel's IPVS: no other
/// speaker may run in this network namespace (see [`speakers`]). An
/// engine that does neither (userspace dataplane, no VRRP instance)
/// needs no place of its own.
fn claim_place(
    config: &Config,
    kind: DataplaneKind,
    allow_other: bool,
) -> Result<Option<EngineClaim>, SpeakerError> {
    if kind != DataplaneKind::Kernel && config.vrrp.instances.is_empty() {
        return Ok(None);
    }
    speakers::claim(allow_other).map(Some)
}
