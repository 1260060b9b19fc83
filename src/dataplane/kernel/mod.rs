//! The kernel's IPVS as a [`Dataplane`]: generic netlink for the table
//! ([`client`], over [`transport`], in the [`genl`] wire format) and
//! `/proc/net/ip_vs_conn` for connections ([`conn`]).
//!
//! Kernel errno values become [`DataplaneError`]s with the meaning
//! ipvsadm gives them for the same command (ESRCH on a service command is
//! "No such service", ENOENT on a destination command "No such
//! destination", …).

pub mod client;
pub mod conn;
pub mod genl;
pub mod procfs;
pub mod transport;

use std::io;
use std::net::SocketAddr;

use crate::dataplane::{ApplyError, Dataplane, DataplaneError, DataplaneKind, Operation};
use crate::ipvs::model::{
    Connection, Daemon, DaemonState, Dest, Origin, ServiceKey, Table, Timeouts,
};
use crate::ipvs::sched::UnknownScheduler;

use client::{ClientError, IpvsClient};
use transport::TransportError;

/// IPVS in the running kernel.
#[derive(Debug)]
pub struct KernelDataplane {
    client: IpvsClient,
}

impl KernelDataplane {
    /// Connect to the kernel's IPVS (fails clearly when `ip_vs` is not
    /// loaded or the process lacks CAP_NET_ADMIN).
    pub async fn connect() -> Result<Self, DataplaneError> {
        let client = IpvsClient::connect()
            .await
            .map_err(|e| read_error("connect to IPVS", e))?;
        Ok(KernelDataplane { client })
    }

    /// The netlink client, for commands outside the [`Dataplane`] trait.
    pub fn client(&self) -> &IpvsClient {
        &self.client
    }

    /// Start a connection sync daemon (`ipvsadm --start-daemon`).
    pub async fn start_daemon(&self, daemon: &Daemon) -> Result<(), DataplaneError> {
        self.client
            .new_daemon(daemon)
            .await
            .map_err(|e| match e.errno() {
                Some(libc::EEXIST) => DataplaneError::Invalid {
                    what: "sync daemon".into(),
                    why: format!("a {:?} daemon is already running", daemon.state),
                },
                _ => read_error("start the sync daemon", e),
            })
    }

    /// Stop a connection sync daemon (`ipvsadm --stop-daemon`).
    pub async fn stop_daemon(&self, state: DaemonState) -> Result<(), DataplaneError> {
        self.client
            .del_daemon(state)
            .await
            .map_err(|e| match e.errno() {
                Some(libc::ESRCH) => DataplaneError::Invalid {
                    what: "sync daemon".into(),
                    why: format!("no {state:?} daemon is running"),
                },
                _ => read_error("stop the sync daemon", e),
            })
    }

    /// One service's destinations in full: thresholds, tunnel settings,
    /// counters and the kernel estimator's rates (one netlink dump).
    pub async fn dests(&self, service: ServiceKey) -> Result<Vec<Dest>, DataplaneError> {
        self.client
            .dests(&service)
            .await
            .map_err(|e| read_error("read the IPVS destinations", e))
    }

    /// The table as a plain listing (`ipvsadm -Ln`) needs it, fast:
    /// services over netlink (one dump), destinations from
    /// `/proc/net/ip_vs` (one read) instead of one dump per service.
    /// Destinations carry only address, forwarding method, weight and
    /// connection counts; thresholds, tunnel settings and counters are left
    /// at defaults, so use [`Dataplane::snapshot`] for anything else. When
    /// the two reads disagree (the table changed in between), this falls
    /// back to a full snapshot.
    pub async fn listing(&self) -> Result<Table, DataplaneError> {
        // The two reads overlap: the kernel walks its table for the dump
        // while a blocking thread reads and parses the text listing.
        let netlink = async {
            let info = self.client.info().await?;
            let services = self.client.services().await?;
            Ok::<_, ClientError>((info, services))
        };
        let text_listing = tokio::task::spawn_blocking(|| {
            let text = std::fs::read_to_string(procfs::PROC_IP_VS)
                .map_err(|e| DataplaneError::io(procfs::PROC_IP_VS, e))?;
            Ok::<_, DataplaneError>(procfs::parse_listing(&text))
        });
        let (netlink, text_listing) = tokio::join!(netlink, text_listing);
        let (info, mut services) = netlink.map_err(|e| read_error("read the IPVS table", e))?;
        let parsed =
            text_listing.map_err(|e| DataplaneError::io(procfs::PROC_IP_VS, e.into()))??;
        let Ok(listed) = parsed else {
            return self.snapshot().await;
        };
        let same = listed.len() == services.len()
            && listed.iter().zip(&services).all(|(l, s)| match s.key() {
                ServiceKey::Inet {
                    protocol,
                    addr,
                    port,
                } => l.protocol == protocol.as_str() && l.addr == Some(SocketAddr::new(addr, port)),
                ServiceKey::Fwmark { mark, .. } => l.fwmark == Some(mark),
            });
        if !same {
            return self.snapshot().await;
        }
        for (service, listed) in services.iter_mut().zip(listed) {
            service.dests = listed.dests;
        }
        Ok(Table {
            origin: Origin::Kernel,
            info,
            services,
        })
    }

    async fn apply_one(&self, operation: &Operation) -> Result<(), ClientError> {
        let client = &self.client;
        match operation {
            Operation::AddService(config) => client.new_service(config).await,
            Operation::EditService(config) => client.set_service(config).await,
            Operation::DeleteService(key) => client.del_service(key).await,
            Operation::AddDest { service, dest } => client.new_dest(service, dest).await,
            Operation::EditDest { service, dest } => client.set_dest(service, dest).await,
            Operation::DeleteDest { service, dest } => client.del_dest(service, dest).await,
            Operation::Zero(service) => client.zero(service.as_ref()).await,
            Operation::SetTimeouts(timeouts) => client.set_timeouts(timeouts).await,
            Operation::StartDaemon(daemon) => client.new_daemon(daemon).await,
            Operation::StopDaemon(state) => client.del_daemon(*state).await,
            Operation::Flush => client.flush().await,
        }
    }
}

/// An error outside any particular operation.
fn read_error(context: &str, error: ClientError) -> DataplaneError {
    match error {
        ClientError::Transport(TransportError::NoIpvs) => DataplaneError::io(
            "this kernel has no IPVS (modprobe ip_vs)",
            io::Error::from_raw_os_error(libc::ENOENT),
        ),
        ClientError::Transport(TransportError::PermissionDenied) => DataplaneError::io(
            "IPVS needs CAP_NET_ADMIN (run as root)",
            io::Error::from_raw_os_error(libc::EPERM),
        ),
        ClientError::Kernel { errno, .. } => {
            DataplaneError::io(context, io::Error::from_raw_os_error(errno))
        }
        other => DataplaneError::io(context, io::Error::other(other.to_string())),
    }
}

/// What a kernel errno means for this operation, in ipvsadm's terms.
pub fn operation_error(operation: &Operation, error: ClientError) -> DataplaneError {
    let Some(errno) = error.errno() else {
        return read_error("IPVS", error);
    };
    match (operation, errno) {
        (Operation::AddService(config), libc::EEXIST) => DataplaneError::ServiceExists(config.key),
        (Operation::AddService(config) | Operation::EditService(config), libc::ENOENT) => {
            match &config.pe_name {
                Some(pe) => DataplaneError::Invalid {
                    what: "persistence engine".into(),
                    why: format!("'{pe}' is not available in this kernel"),
                },
                None => {
                    DataplaneError::UnknownScheduler(UnknownScheduler(config.scheduler.to_string()))
                }
            }
        }
        (Operation::EditService(config), libc::ESRCH) => DataplaneError::NoSuchService(config.key),
        (Operation::DeleteService(key), libc::ESRCH)
        | (Operation::Zero(Some(key)), libc::ESRCH)
        | (Operation::AddDest { service: key, .. }, libc::ESRCH)
        | (Operation::EditDest { service: key, .. }, libc::ESRCH)
        | (Operation::DeleteDest { service: key, .. }, libc::ESRCH) => {
            DataplaneError::NoSuchService(*key)
        }
        (Operation::AddDest { service, dest }, libc::EEXIST) => DataplaneError::DestExists {
            service: *service,
            dest: dest.key,
        },
        (Operation::EditDest { service, dest }, libc::ENOENT) => DataplaneError::NoSuchDest {
            service: *service,
            dest: dest.key,
        },
        (Operation::DeleteDest { service, dest }, libc::ENOENT) => DataplaneError::NoSuchDest {
            service: *service,
            dest: *dest,
        },
        (Operation::AddDest { .. } | Operation::EditDest { .. }, libc::ERANGE) => {
            DataplaneError::Invalid {
                what: "destination".into(),
                why: "weight or thresholds out of range".into(),
            }
        }
        (_, libc::EINVAL) => DataplaneError::Invalid {
            what: "operation".into(),
            why: "the kernel refused its arguments (EINVAL)".into(),
        },
        (_, libc::EAFNOSUPPORT) => DataplaneError::Unsupported {
            dataplane: DataplaneKind::Kernel.as_str(),
            what: "this address family".into(),
        },
        _ => read_error("IPVS", error),
    }
}

impl Dataplane for KernelDataplane {
    fn kind(&self) -> DataplaneKind {
        DataplaneKind::Kernel
    }

    async fn apply(&self, operations: &[Operation]) -> Result<(), ApplyError> {
        for (index, operation) in operations.iter().enumerate() {
            if let Err(error) = self.apply_one(operation).await {
                return Err(ApplyError {
                    index,
                    operation: operation.clone(),
                    error: operation_error(operation, error),
                });
            }
        }
        Ok(())
    }

    async fn snapshot(&self) -> Result<Table, DataplaneError> {
        self.client
            .table()
            .await
            .map_err(|e| read_error("read the IPVS table", e))
    }

    async fn connections(&self) -> Result<Vec<Connection>, DataplaneError> {
        let text = tokio::fs::read_to_string(conn::PROC_IP_VS_CONN)
            .await
            .map_err(|e| DataplaneError::io(conn::PROC_IP_VS_CONN, e))?;
        conn::parse_connections(&text).map_err(|e| DataplaneError::Invalid {
            what: "connection table".into(),
            why: e.to_string(),
        })
    }

    async fn timeouts(&self) -> Result<Timeouts, DataplaneError> {
        self.client
            .timeouts()
            .await
            .map_err(|e| read_error("read IPVS timeouts", e))
    }

    async fn daemons(&self) -> Result<Vec<Daemon>, DataplaneError> {
        self.client
            .daemons()
            .await
            .map_err(|e| read_error("read IPVS sync daemons", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::model::{DestConfig, Forward, ServiceConfig, ServiceKey};

    fn kernel(command: genl::IpvsCmd, errno: i32) -> ClientError {
        ClientError::Kernel { command, errno }
    }

    #[test]
    fn kernel_errnos_read_like_ipvsadm() {
        let key = ServiceKey::tcp("192.0.2.1:80".parse().unwrap());
        let dest = DestConfig::new("198.51.100.10:80".parse().unwrap(), Forward::Route, 1);
        let cases = [
            (
                Operation::DeleteService(key),
                libc::ESRCH,
                "no such service: TCP 192.0.2.1:80",
            ),
            (
                Operation::AddService(ServiceConfig::new(key, "rr")),
                libc::EEXIST,
                "service already exists: TCP 192.0.2.1:80",
            ),
            (
                Operation::AddService(ServiceConfig::new(key, "nope")),
                libc::ENOENT,
                "unknown scheduler",
            ),
            (
                Operation::AddDest { service: key, dest },
                libc::EEXIST,
                "destination 198.51.100.10:80 already exists in service TCP 192.0.2.1:80",
            ),
            (
                Operation::DeleteDest {
                    service: key,
                    dest: dest.key,
                },
                libc::ENOENT,
                "no such destination 198.51.100.10:80 in service TCP 192.0.2.1:80",
            ),
            (
                Operation::EditDest { service: key, dest },
                libc::ESRCH,
                "no such service: TCP 192.0.2.1:80",
            ),
        ];
        for (operation, errno, expected) in cases {
            let message =
                operation_error(&operation, kernel(genl::IpvsCmd::NewService, errno)).to_string();
            assert!(
                message.to_lowercase().contains(&expected.to_lowercase()),
                "{operation:?}: {message}"
            );
        }
    }

    #[test]
    fn missing_ipvs_and_missing_privilege_say_what_to_do() {
        let no_ipvs = read_error("x", ClientError::Transport(TransportError::NoIpvs));
        assert!(no_ipvs.to_string().contains("modprobe ip_vs"), "{no_ipvs}");
        let eperm = read_error(
            "x",
            ClientError::Transport(TransportError::PermissionDenied),
        );
        assert!(eperm.to_string().contains("CAP_NET_ADMIN"), "{eperm}");
    }
}
