//! Everything `lvstop demo` runs besides the two engines and the console:
//! the web real servers, the client load, and the two configuration
//! texts the engines start from. The demo-only actions ("stop a real
//! server", "start it again") act here.
//!
//! The order the caller follows: [`DemoWorld::start`] (web servers up,
//! texts ready), start both engines from [`DemoWorld::directors`], then
//! [`DemoWorld::start_load`] so the first requests find the VIP served;
//! [`DemoWorld::shutdown`] at the end. This module never starts an
//! engine.

use super::config::{DemoOptions, DirectorConfig};
use super::load::{LoadGenerator, LoadStats, Tally};
use super::web::WebServer;
use super::DemoError;

/// The running demo surroundings.
#[derive(Debug)]
pub struct DemoWorld {
    options: DemoOptions,
    directors: [DirectorConfig; 2],
    servers: Vec<WebServer>,
    load: Option<LoadGenerator>,
}

impl DemoWorld {
    /// Validates `options`, renders both configurations and starts every
    /// web real server. Fails, with nothing left running, when one cannot
    /// listen.
    pub async fn start(options: DemoOptions) -> Result<DemoWorld, DemoError> {
        let directors = options.director_configs()?;
        let mut servers: Vec<WebServer> = Vec::with_capacity(options.real_servers.len());
        for spec in &options.real_servers {
            match WebServer::start(&spec.name, spec.addr).await {
                Ok(server) => servers.push(server),
                Err(e) => {
                    for server in &mut servers {
                        server.stop().await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(DemoWorld {
            options,
            directors,
            servers,
            load: None,
        })
    }

    pub fn options(&self) -> &DemoOptions {
        &self.options
    }

    /// The master's and the backup's configuration, in that order.
    pub fn directors(&self) -> &[DirectorConfig; 2] {
        &self.directors
    }

    pub fn servers(&self) -> &[WebServer] {
        &self.servers
    }

    /// The reference deployment's `service httpd stop` on real server `index`.
    pub async fn stop_server(&mut self, index: usize) -> Result<(), DemoError> {
        self.server(index)?.stop().await;
        Ok(())
    }

    /// `service httpd start` again.
    pub async fn start_server(&mut self, index: usize) -> Result<(), DemoError> {
        self.server(index)?.start_again().await
    }

    /// Starts the client load against the virtual service (again, after
    /// [`DemoWorld::stop_load`]); nothing happens when it runs.
    pub fn start_load(&mut self) {
        if self.load.is_none() {
            let target = self.options.virtual_service();
            self.load = Some(LoadGenerator::start(target, self.options.load.clone()));
        }
    }

    pub async fn stop_load(&mut self) {
        if let Some(load) = self.load.take() {
            load.stop().await;
        }
    }

    pub fn load_running(&self) -> bool {
        self.load.is_some()
    }

    /// The load's counts; empty while no load runs.
    pub fn load_stats(&self) -> LoadStats {
        match &self.load {
            Some(load) => load.stats(),
            None => LoadStats {
                target: self.options.virtual_service(),
                total: Tally::default(),
                recent: Tally::default(),
                keepalive_open: 0,
                skipped: 0,
            },
        }
    }

    /// Stops the load, then every web server.
    pub async fn shutdown(mut self) {
        self.stop_load().await;
        for server in &mut self.servers {
            server.stop().await;
        }
    }

    fn server(&mut self, index: usize) -> Result<&mut WebServer, DemoError> {
        let count = self.servers.len();
        self.servers
            .get_mut(index)
            .ok_or(DemoError::NoSuchServer { index, count })
    }
}
