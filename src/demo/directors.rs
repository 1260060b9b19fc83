//! The demo's two directors: two engines in this process, each with its
//! own userspace dataplane, their VRRP instances on one in-memory segment.
//! The MASTER's dataplane serves the VIP (`engine::gate`); when it stops
//! or steps down, the backup takes the VIP over, as in the reference
//! deployment's second check.
//!
//! Each director's configuration is written to a private directory so a
//! `reload` has a file to read, and the console's config screen shows a
//! real path. Nothing here binds outside loopback or needs root.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::DirectorConfig;
use super::DemoError;
use crate::config::load::{load_str, Options};
use crate::dataplane::userspace::UserspaceDataplane;
use crate::engine::director::{Engine, EngineOptions};
use crate::engine::handle::Handle;
use crate::vrrp::driver::{MemoryHost, RunnerIo, VrrpOptions};
use crate::vrrp::transport::memory::MemorySegment;

/// One director: its configuration and, while running, its engine.
#[derive(Debug)]
struct Director {
    config: DirectorConfig,
    path: PathBuf,
    running: Option<(Engine, Arc<UserspaceDataplane>)>,
}

/// Both directors on their segment.
#[derive(Debug)]
pub struct DemoDirectors {
    segment: MemorySegment,
    directory: PathBuf,
    directors: Vec<Director>,
}

impl DemoDirectors {
    /// Write both configurations and start both engines (master first).
    pub async fn start(configs: &[DirectorConfig; 2]) -> Result<DemoDirectors, DemoError> {
        let directory = private_directory()?;
        let mut directors = Vec::with_capacity(configs.len());
        for config in configs {
            let path = directory.join(format!("{}.conf", config.name));
            std::fs::write(&path, &config.text).map_err(|e| DemoError::Director {
                name: config.name.clone(),
                why: format!("cannot write {}: {e}", path.display()),
            })?;
            directors.push(Director {
                config: config.clone(),
                path,
                running: None,
            });
        }
        let mut demo = DemoDirectors {
            segment: MemorySegment::new(),
            directory,
            directors,
        };
        for index in 0..demo.directors.len() {
            demo.start_director(index).await?;
        }
        Ok(demo)
    }

    /// The names, master's first.
    pub fn names(&self) -> Vec<String> {
        self.directors
            .iter()
            .map(|d| d.config.name.clone())
            .collect()
    }

    /// Where director `index`'s configuration lives.
    pub fn config_path(&self, index: usize) -> Option<&Path> {
        self.directors.get(index).map(|d| d.path.as_path())
    }

    /// The handle of director `index`, while it runs.
    pub fn handle(&self, index: usize) -> Option<Handle> {
        self.directors
            .get(index)?
            .running
            .as_ref()
            .map(|(engine, _)| engine.handle())
    }

    pub fn is_running(&self, index: usize) -> bool {
        self.directors
            .get(index)
            .is_some_and(|d| d.running.is_some())
    }

    /// Start director `index` (again): its engine reads its file.
    pub async fn start_director(&mut self, index: usize) -> Result<(), DemoError> {
        let segment = self.segment.clone();
        let count = self.directors.len();
        let director = self
            .directors
            .get_mut(index)
            .ok_or(DemoError::NoSuchServer { index, count })?;
        if director.running.is_some() {
            return Ok(());
        }
        let failed = |why: String| DemoError::Director {
            name: director.config.name.clone(),
            why,
        };
        let text = std::fs::read_to_string(&director.path)
            .map_err(|e| failed(format!("cannot read {}: {e}", director.path.display())))?;
        let outcome = load_str(&director.path, &text, &Options::default());
        if outcome.has_errors() {
            return Err(failed(format!(
                "{} does not load ({} error(s))",
                director.path.display(),
                outcome
                    .diagnostics
                    .count(crate::config::diagnostic::Severity::Error)
            )));
        }
        let dataplane = Arc::new(
            UserspaceDataplane::start(Default::default()).map_err(|e| failed(e.to_string()))?,
        );
        let engine = Engine::start(
            Arc::clone(&dataplane),
            outcome.config,
            EngineOptions {
                config_path: director.path.clone(),
                vrrp: VrrpOptions {
                    io: RunnerIo::Memory {
                        segment,
                        address: director.config.segment_address,
                        host: MemoryHost::default(),
                    },
                    ..Default::default()
                },
            },
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
        director.running = Some((engine, dataplane));
        Ok(())
    }

    /// Stop director `index` as `systemctl stop keepalived` would: its
    /// instances send priority 0 and the other director takes over.
    pub async fn stop_director(&mut self, index: usize) {
        let Some(director) = self.directors.get_mut(index) else {
            return;
        };
        if let Some((engine, dataplane)) = director.running.take() {
            engine.stop().await;
            dataplane.shutdown();
        }
    }

    /// Stop both and remove the configuration files.
    pub async fn shutdown(mut self) {
        for index in 0..self.directors.len() {
            self.stop_director(index).await;
        }
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// `$XDG_RUNTIME_DIR/lvstop-demo-PID`, else the temporary directory's;
/// mode 0700.
fn private_directory() -> Result<PathBuf, DemoError> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let directory = base.join(format!("lvstop-demo-{}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&directory)
        .map_err(|e| DemoError::Director {
            name: "demo".into(),
            why: format!("cannot create {}: {e}", directory.display()),
        })?;
    Ok(directory)
}
