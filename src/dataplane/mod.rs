//! The dataplane seam: something that holds an IPVS table and forwards
//! connections by it. Two implementations share this trait — the kernel's
//! IPVS over generic netlink, and lvstop's userspace proxy — so the engine,
//! the console and `--once` never care which one runs.
//!
//! A dataplane applies [`Operation`]s in order and stops at the first that
//! fails; it never rolls back by itself (the engine's transactional apply
//! owns that). Reads return whole snapshots, never partial tables.

pub mod chosen;
pub mod kernel;
pub mod userspace;

use std::future::Future;
use std::io;

use serde::{Deserialize, Serialize};

use crate::ipvs::model::{
    Connection, Daemon, DaemonState, DestConfig, DestKey, ServiceConfig, ServiceKey, Table,
    Timeouts,
};
use crate::ipvs::sched::UnknownScheduler;

/// One change to an IPVS table (the kernel's `IPVS_CMD_*` set commands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    AddService(ServiceConfig),
    EditService(ServiceConfig),
    DeleteService(ServiceKey),
    AddDest {
        service: ServiceKey,
        dest: DestConfig,
    },
    EditDest {
        service: ServiceKey,
        dest: DestConfig,
    },
    DeleteDest {
        service: ServiceKey,
        dest: DestKey,
    },
    /// Zero the counters of one service, or of every service.
    Zero(Option<ServiceKey>),
    /// Set connection timeouts; a 0 field leaves that timeout unchanged.
    SetTimeouts(Timeouts),
    /// Start a connection sync daemon (`ipvsadm --start-daemon`; the
    /// kernel only).
    StartDaemon(Daemon),
    /// Stop the sync daemon in this role (`ipvsadm --stop-daemon`).
    StopDaemon(DaemonState),
    /// Remove every service.
    Flush,
}

/// Which kind of dataplane is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataplaneKind {
    Kernel,
    Userspace,
}

impl DataplaneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DataplaneKind::Kernel => "kernel",
            DataplaneKind::Userspace => "userspace",
        }
    }
}

/// Why a dataplane refused or failed an operation or a read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataplaneError {
    #[error("no such service: {0}")]
    NoSuchService(ServiceKey),
    #[error("service already exists: {0}")]
    ServiceExists(ServiceKey),
    #[error("no such destination {dest} in service {service}")]
    NoSuchDest { service: ServiceKey, dest: DestKey },
    #[error("destination {dest} already exists in service {service}")]
    DestExists { service: ServiceKey, dest: DestKey },
    #[error(transparent)]
    UnknownScheduler(#[from] UnknownScheduler),
    #[error("invalid {what}: {why}")]
    Invalid { what: String, why: String },
    #[error("the {dataplane} dataplane does not support {what}")]
    Unsupported {
        dataplane: &'static str,
        what: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl DataplaneError {
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        DataplaneError::Io {
            context: context.into(),
            source,
        }
    }
}

/// An operation that failed, with its position: the operations before
/// `index` were applied, the ones from `index` on were not.
#[derive(Debug, thiserror::Error)]
#[error("operation {index} ({operation:?}) failed: {error}")]
pub struct ApplyError {
    pub index: usize,
    pub operation: Operation,
    #[source]
    pub error: DataplaneError,
}

/// A place IPVS tables live: the kernel, or lvstop's userspace proxy.
pub trait Dataplane: Send + Sync {
    fn kind(&self) -> DataplaneKind;

    /// Apply `operations` in order, stopping at the first failure.
    fn apply(
        &self,
        operations: &[Operation],
    ) -> impl Future<Output = Result<(), ApplyError>> + Send;

    /// The whole table: services, destinations, counters and rates.
    fn snapshot(&self) -> impl Future<Output = Result<Table, DataplaneError>> + Send;

    /// The connection table (`ipvsadm -c`), templates included.
    fn connections(&self) -> impl Future<Output = Result<Vec<Connection>, DataplaneError>> + Send;

    /// Connection timeouts (`ipvsadm --timeout`).
    fn timeouts(&self) -> impl Future<Output = Result<Timeouts, DataplaneError>> + Send;

    /// Connection sync daemons (`ipvsadm --daemon`).
    fn daemons(&self) -> impl Future<Output = Result<Vec<Daemon>, DataplaneError>> + Send;
}
