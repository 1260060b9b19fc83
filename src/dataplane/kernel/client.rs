//! An async IPVS client over generic netlink: every IPVS command, and a
//! full-table read that pipelines the per-service destination dumps.
//!
//! ipvsadm opens a fresh socket and resolves the family for every
//! service's destination dump (about a dozen syscalls each); this client
//! keeps its sockets open and runs the destination dumps of a full-table
//! read on several sockets side by side (tasks that a multi-threaded
//! runtime spreads over its workers), three syscalls per service.

use tokio::sync::Mutex;

use crate::ipvs::model::{
    Daemon, DaemonState, Dest, DestConfig, DestKey, Info, Origin, Service, ServiceConfig,
    ServiceKey, Table, Timeouts,
};

use super::genl::{
    daemon_attrs, daemon_from_attrs, daemon_state_attrs, dest_attrs, dest_from_attrs,
    dest_key_attrs, info_from_attrs, service_attrs, service_from_attrs, service_key_attrs,
    timeouts_attrs, timeouts_from_attrs, ConvertError, IpvsAttr, IpvsCmd, IpvsMessage, Nest,
};
use super::transport::{Kind, Reply, Transport, TransportError};

/// Why an IPVS request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The kernel refused the command with this errno.
    #[error("{command:?}: {}", std::io::Error::from_raw_os_error(*errno))]
    Kernel { command: IpvsCmd, errno: i32 },
    #[error(transparent)]
    Convert(#[from] ConvertError),
}

impl ClientError {
    /// The kernel's errno, when the kernel refused the command.
    pub fn errno(&self) -> Option<i32> {
        match self {
            ClientError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// Sockets that run a full-table read's destination dumps side by side.
const DUMP_SOCKETS: usize = 4;

/// A connection to the kernel's IPVS. Requests from several tasks are
/// serialised on one socket; full-table reads add a small pool of sockets
/// for their destination dumps.
#[derive(Debug)]
pub struct IpvsClient {
    transport: Mutex<Transport>,
    dump_pool: Mutex<Vec<Transport>>,
}

fn service_nest(key: &ServiceKey) -> IpvsAttr {
    IpvsAttr::Service(Nest::new(service_key_attrs(key)))
}

fn check(command: IpvsCmd, reply: Reply) -> Result<Vec<IpvsMessage>, ClientError> {
    reply.map_err(|errno| ClientError::Kernel { command, errno })
}

impl IpvsClient {
    /// Open a socket and resolve the IPVS family: fails with
    /// [`TransportError::NoIpvs`] when `ip_vs` is not loaded.
    pub async fn connect() -> Result<Self, ClientError> {
        Ok(IpvsClient {
            transport: Mutex::new(Transport::open().await?),
            dump_pool: Mutex::new(Vec::new()),
        })
    }

    /// One request, one reply.
    async fn call(
        &self,
        request: IpvsMessage,
        kind: Kind,
    ) -> Result<Vec<IpvsMessage>, ClientError> {
        let command = request.cmd;
        let mut replies = self
            .transport
            .lock()
            .await
            .transact(std::slice::from_ref(&request), kind)
            .await?;
        let reply = replies.pop().unwrap_or(Ok(Vec::new()));
        check(command, reply)
    }

    async fn command(&self, cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Result<(), ClientError> {
        self.call(IpvsMessage::new(cmd, attrs), Kind::Do)
            .await
            .map(drop)
    }

    pub async fn new_service(&self, config: &ServiceConfig) -> Result<(), ClientError> {
        let attrs = vec![IpvsAttr::Service(Nest::new(service_attrs(config)))];
        self.command(IpvsCmd::NewService, attrs).await
    }

    pub async fn set_service(&self, config: &ServiceConfig) -> Result<(), ClientError> {
        let attrs = vec![IpvsAttr::Service(Nest::new(service_attrs(config)))];
        self.command(IpvsCmd::SetService, attrs).await
    }

    pub async fn del_service(&self, key: &ServiceKey) -> Result<(), ClientError> {
        self.command(IpvsCmd::DelService, vec![service_nest(key)])
            .await
    }

    pub async fn new_dest(
        &self,
        service: &ServiceKey,
        dest: &DestConfig,
    ) -> Result<(), ClientError> {
        let attrs = vec![
            service_nest(service),
            IpvsAttr::Dest(Nest::new(dest_attrs(dest))),
        ];
        self.command(IpvsCmd::NewDest, attrs).await
    }

    pub async fn set_dest(
        &self,
        service: &ServiceKey,
        dest: &DestConfig,
    ) -> Result<(), ClientError> {
        let attrs = vec![
            service_nest(service),
            IpvsAttr::Dest(Nest::new(dest_attrs(dest))),
        ];
        self.command(IpvsCmd::SetDest, attrs).await
    }

    pub async fn del_dest(&self, service: &ServiceKey, dest: &DestKey) -> Result<(), ClientError> {
        let attrs = vec![
            service_nest(service),
            IpvsAttr::Dest(Nest::new(dest_key_attrs(dest))),
        ];
        self.command(IpvsCmd::DelDest, attrs).await
    }

    /// Zero one service's counters, or all of them.
    pub async fn zero(&self, service: Option<&ServiceKey>) -> Result<(), ClientError> {
        self.command(
            IpvsCmd::Zero,
            service.map(service_nest).into_iter().collect(),
        )
        .await
    }

    pub async fn flush(&self) -> Result<(), ClientError> {
        self.command(IpvsCmd::Flush, Vec::new()).await
    }

    /// Set timeouts; a zero field is left unchanged.
    pub async fn set_timeouts(&self, timeouts: &Timeouts) -> Result<(), ClientError> {
        self.command(IpvsCmd::SetConfig, timeouts_attrs(timeouts))
            .await
    }

    pub async fn timeouts(&self) -> Result<Timeouts, ClientError> {
        let replies = self
            .call(IpvsMessage::new(IpvsCmd::GetConfig, Vec::new()), Kind::Do)
            .await?;
        Ok(replies
            .first()
            .map(|m| timeouts_from_attrs(&m.attrs))
            .unwrap_or(Timeouts {
                tcp: 0,
                tcp_fin: 0,
                udp: 0,
            }))
    }

    pub async fn info(&self) -> Result<Info, ClientError> {
        let replies = self
            .call(IpvsMessage::new(IpvsCmd::GetInfo, Vec::new()), Kind::Do)
            .await?;
        let attrs = replies.first().map(|m| m.attrs.as_slice()).unwrap_or(&[]);
        Ok(info_from_attrs(attrs)?)
    }

    pub async fn new_daemon(&self, daemon: &Daemon) -> Result<(), ClientError> {
        let attrs = vec![IpvsAttr::Daemon(Nest::new(daemon_attrs(daemon)))];
        self.command(IpvsCmd::NewDaemon, attrs).await
    }

    pub async fn del_daemon(&self, state: DaemonState) -> Result<(), ClientError> {
        let attrs = vec![IpvsAttr::Daemon(Nest::new(daemon_state_attrs(state)))];
        self.command(IpvsCmd::DelDaemon, attrs).await
    }

    pub async fn daemons(&self) -> Result<Vec<Daemon>, ClientError> {
        let replies = self
            .call(IpvsMessage::new(IpvsCmd::GetDaemon, Vec::new()), Kind::Dump)
            .await?;
        let mut daemons = Vec::new();
        for reply in &replies {
            for attr in &reply.attrs {
                if let IpvsAttr::Daemon(nest) = attr {
                    daemons.push(daemon_from_attrs(&nest.attrs)?);
                }
            }
        }
        Ok(daemons)
    }

    /// Run independent "do" commands pipelined, a window per datagram;
    /// one result per request, in order. For bulk loads, where one round
    /// trip per command would dominate.
    pub async fn batch(
        &self,
        requests: &[IpvsMessage],
    ) -> Result<Vec<Result<(), ClientError>>, ClientError> {
        let replies = self
            .transport
            .lock()
            .await
            .transact(requests, Kind::Do)
            .await?;
        Ok(requests
            .iter()
            .zip(replies)
            .map(|(request, reply)| check(request.cmd, reply).map(drop))
            .collect())
    }

    /// Every service, without destinations.
    pub async fn services(&self) -> Result<Vec<Service>, ClientError> {
        let replies = self
            .call(
                IpvsMessage::new(IpvsCmd::GetService, Vec::new()),
                Kind::Dump,
            )
            .await?;
        services_of(&replies)
    }

    /// One service's destinations, in the kernel's list order.
    pub async fn dests(&self, service: &ServiceKey) -> Result<Vec<Dest>, ClientError> {
        let request = IpvsMessage::new(IpvsCmd::GetDest, vec![service_nest(service)]);
        let replies = self.call(request, Kind::Dump).await?;
        dests_of(&replies, service)
    }

    /// The whole table: info, services, and every service's destinations,
    /// the destination dumps pipelined on one socket.
    pub async fn table(&self) -> Result<Table, ClientError> {
        let mut transport = self.transport.lock().await;
        let mut replies = transport
            .transact(&[IpvsMessage::new(IpvsCmd::GetInfo, Vec::new())], Kind::Do)
            .await?;
        let info_reply = check(IpvsCmd::GetInfo, replies.pop().unwrap_or(Ok(Vec::new())))?;
        let info_attrs = info_reply
            .first()
            .map(|m| m.attrs.as_slice())
            .unwrap_or(&[]);
        let info = info_from_attrs(info_attrs)?;

        let mut replies = transport
            .transact(
                &[IpvsMessage::new(IpvsCmd::GetService, Vec::new())],
                Kind::Dump,
            )
            .await?;
        let services_reply = check(IpvsCmd::GetService, replies.pop().unwrap_or(Ok(Vec::new())))?;
        let mut services = services_of(&services_reply)?;

        drop(transport);
        let requests: Vec<IpvsMessage> = services
            .iter()
            .map(|s| IpvsMessage::new(IpvsCmd::GetDest, vec![service_nest(&s.key())]))
            .collect();
        let replies = self.dumps_side_by_side(requests).await?;
        for (service, reply) in services.iter_mut().zip(replies) {
            let key = service.key();
            service.dests = dests_of(&check(IpvsCmd::GetDest, reply)?, &key)?;
        }
        Ok(Table {
            origin: Origin::Kernel,
            info,
            services,
        })
    }
}

impl IpvsClient {
    /// Run dump requests split over the socket pool, one task per socket;
    /// replies come back in request order.
    async fn dumps_side_by_side(
        &self,
        requests: Vec<IpvsMessage>,
    ) -> Result<Vec<Reply>, ClientError> {
        let mut pool = self.dump_pool.lock().await;
        let sockets = DUMP_SOCKETS.min(requests.len().div_ceil(64)).max(1);
        while pool.len() < sockets {
            pool.push(Transport::open().await?);
        }
        let share = requests.len().div_ceil(sockets).max(1);
        let mut parts: Vec<Vec<IpvsMessage>> = Vec::with_capacity(sockets);
        let mut rest = requests.into_iter().peekable();
        while rest.peek().is_some() {
            parts.push(rest.by_ref().take(share).collect());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (index, part) in parts.into_iter().enumerate() {
            let Some(mut transport) = pool.pop() else {
                break;
            };
            tasks.spawn(async move {
                let replies = transport.transact(&part, Kind::Dump).await;
                (index, transport, replies)
            });
        }
        let mut results: Vec<Option<Vec<Reply>>> = vec![None; tasks.len()];
        while let Some(joined) = tasks.join_next().await {
            let (index, transport, replies) = joined.map_err(|e| TransportError::Io {
                context: "dump task",
                source: std::io::Error::other(e.to_string()),
            })?;
            pool.push(transport);
            results[index] = Some(replies?);
        }
        Ok(results.into_iter().flatten().flatten().collect())
    }
}

fn services_of(replies: &[IpvsMessage]) -> Result<Vec<Service>, ClientError> {
    let mut services = Vec::with_capacity(replies.len());
    for reply in replies {
        for attr in &reply.attrs {
            if let IpvsAttr::Service(nest) = attr {
                services.push(service_from_attrs(&nest.attrs)?);
            }
        }
    }
    Ok(services)
}

fn dests_of(replies: &[IpvsMessage], service: &ServiceKey) -> Result<Vec<Dest>, ClientError> {
    let family = service.family();
    let mut dests = Vec::with_capacity(replies.len());
    for reply in replies {
        for attr in &reply.attrs {
            if let IpvsAttr::Dest(nest) = attr {
                dests.push(dest_from_attrs(&nest.attrs, family)?);
            }
        }
    }
    Ok(dests)
}
