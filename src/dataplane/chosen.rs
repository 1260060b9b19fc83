//! The dataplane a director on this host runs on: the kernel's IPVS or
//! lvstop's userspace one, chosen once at start (`--dataplane`), and what
//! stopping leaves behind. The engine, the daemon and the console see one
//! type; the choice is made here and nowhere else.

use std::collections::HashSet;

use super::kernel::KernelDataplane;
use super::userspace::UserspaceDataplane;
use super::{ApplyError, Dataplane, DataplaneError, DataplaneKind, Operation};
use crate::ipvs::model::{Connection, Daemon, ServiceKey, Table, Timeouts};

/// `--dataplane`: what an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataplaneChoice {
    /// The kernel's IPVS when this kernel has it and this process may use
    /// it, else the userspace dataplane.
    Auto,
    Kernel,
    Userspace,
}

/// The dataplane chosen.
#[derive(Debug)]
pub enum ChosenDataplane {
    Kernel(KernelDataplane),
    Userspace(UserspaceDataplane),
}

impl ChosenDataplane {
    /// `kernel` insists on IPVS; `auto` takes it when it is usable, else
    /// the userspace dataplane, and says which and why.
    pub async fn choose(choice: DataplaneChoice) -> Result<Self, DataplaneError> {
        let userspace = || UserspaceDataplane::start(Default::default()).map(Self::Userspace);
        match choice {
            DataplaneChoice::Kernel => {
                let kernel = KernelDataplane::connect().await?;
                tracing::info!("dataplane: kernel IPVS");
                Ok(Self::Kernel(kernel))
            }
            DataplaneChoice::Userspace => {
                tracing::info!("dataplane: userspace");
                userspace()
            }
            DataplaneChoice::Auto => match KernelDataplane::connect().await {
                Ok(kernel) => {
                    tracing::info!("dataplane: kernel IPVS (auto)");
                    Ok(Self::Kernel(kernel))
                }
                Err(e) => {
                    tracing::info!(
                        "dataplane: userspace (auto: the kernel's IPVS is not usable: {e})"
                    );
                    userspace()
                }
            },
        }
    }

    /// What a stopping director leaves: on the kernel, the services it
    /// programmed (`owned`) are removed, as keepalived does by default,
    /// unless `keep_services`; services it never owned stay. The
    /// userspace dataplane closes its listeners and connections.
    pub async fn release(&self, owned: &HashSet<ServiceKey>, keep_services: bool) {
        match self {
            Self::Kernel(_) if keep_services => tracing::info!(
                "leaving {} virtual service(s) in IPVS (--keep-ipvs-on-exit)",
                owned.len()
            ),
            Self::Kernel(kernel) => {
                let mut keys: Vec<ServiceKey> = owned.iter().copied().collect();
                keys.sort();
                let operations: Vec<Operation> =
                    keys.into_iter().map(Operation::DeleteService).collect();
                match kernel.apply(&operations).await {
                    Ok(()) => {
                        tracing::info!("removed {} virtual service(s) from IPVS", operations.len())
                    }
                    Err(e) => {
                        tracing::error!("could not remove every virtual service from IPVS: {e}")
                    }
                }
            }
            Self::Userspace(userspace) => userspace.shutdown(),
        }
    }
}

impl Dataplane for ChosenDataplane {
    fn kind(&self) -> DataplaneKind {
        match self {
            Self::Kernel(kernel) => kernel.kind(),
            Self::Userspace(userspace) => userspace.kind(),
        }
    }

    async fn apply(&self, operations: &[Operation]) -> Result<(), ApplyError> {
        match self {
            Self::Kernel(kernel) => kernel.apply(operations).await,
            Self::Userspace(userspace) => userspace.apply(operations).await,
        }
    }

    async fn snapshot(&self) -> Result<Table, DataplaneError> {
        match self {
            Self::Kernel(kernel) => kernel.snapshot().await,
            Self::Userspace(userspace) => userspace.snapshot().await,
        }
    }

    async fn connections(&self) -> Result<Vec<Connection>, DataplaneError> {
        match self {
            Self::Kernel(kernel) => kernel.connections().await,
            Self::Userspace(userspace) => userspace.connections().await,
        }
    }

    async fn timeouts(&self) -> Result<Timeouts, DataplaneError> {
        match self {
            Self::Kernel(kernel) => kernel.timeouts().await,
            Self::Userspace(userspace) => userspace.timeouts().await,
        }
    }

    async fn daemons(&self) -> Result<Vec<Daemon>, DataplaneError> {
        match self {
            Self::Kernel(kernel) => kernel.daemons().await,
            Self::Userspace(userspace) => userspace.daemons().await,
        }
    }
}
