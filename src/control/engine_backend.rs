//! The daemon's answers on the control socket: reads from its engine and
//! dataplane, operator commands into the engine (as the connected peer),
//! subscriptions from the engine's handle.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::peer::Peer;
use super::protocol::{ErrorKind, Hello, Request, Response, PROTOCOL_VERSION};
use super::server::Backend;
use crate::dataplane::chosen::ChosenDataplane;
use crate::dataplane::{Dataplane, DataplaneError};
use crate::engine::channel::Update;
use crate::engine::handle::{Handle, SnapshotError};
use crate::engine::overrides::Actor;

/// Answers control requests from the engine and its dataplane.
#[derive(Debug)]
pub struct EngineBackend {
    dataplane: Arc<ChosenDataplane>,
    engine: Handle,
    hello: Hello,
}

impl EngineBackend {
    /// The backend of a daemon whose configuration is `config_path`.
    pub fn new(dataplane: Arc<ChosenDataplane>, engine: Handle, config_path: String) -> Self {
        EngineBackend {
            hello: Hello {
                protocol: PROTOCOL_VERSION,
                version: env!("CARGO_PKG_VERSION").to_string(),
                dataplane: dataplane.kind(),
                config_path,
                pid: std::process::id(),
            },
            dataplane,
            engine,
        }
    }
}

impl Backend for EngineBackend {
    async fn handle(&self, peer: &Peer, request: Request) -> Response {
        let failed = |e: DataplaneError| Response::error(ErrorKind::Failed, e.to_string());
        let gone = |e: SnapshotError| Response::error(ErrorKind::Failed, e.to_string());
        match request {
            Request::Hello => Response::Hello(self.hello.clone()),
            Request::Table => self
                .dataplane
                .snapshot()
                .await
                .map_or_else(failed, Response::Table),
            Request::Connections => self
                .dataplane
                .connections()
                .await
                .map_or_else(failed, Response::Connections),
            Request::Timeouts => self
                .dataplane
                .timeouts()
                .await
                .map_or_else(failed, Response::Timeouts),
            Request::Daemons => self
                .dataplane
                .daemons()
                .await
                .map_or_else(failed, Response::Daemons),
            Request::Command(command) => {
                let actor = Actor {
                    uid: peer.uid,
                    name: peer.name(),
                };
                match self.engine.execute(actor, command).await {
                    Ok(outcome) => Response::Outcome(outcome),
                    Err(error) => Response::CommandError(error),
                }
            }
            Request::Checks => self
                .engine
                .snapshot()
                .await
                .map_or_else(gone, |s| Response::Checks(Box::new(s.checks.clone()))),
            Request::Vrrp => self
                .engine
                .snapshot()
                .await
                .map_or_else(gone, |s| Response::Vrrp(s.vrrp.clone())),
            Request::Snapshot => self
                .engine
                .snapshot()
                .await
                .map_or_else(gone, |s| Response::Snapshot(Box::new((*s).clone()))),
            Request::Events { since } => {
                let (events, missed) = self.engine.events_since(since);
                Response::Events { events, missed }
            }
            Request::Subscribe { .. } => Response::error(
                ErrorKind::BadRequest,
                "subscribe is served by the socket itself",
            ),
        }
    }

    fn subscribe(&self, interval: Duration, since: u64) -> Option<mpsc::Receiver<Update>> {
        Some(self.engine.subscribe(interval, since))
    }
}
