//! `lvstop demo`: the reference deployment on loopback — two web real
//! servers, two directors (master and backup, `VI_1`) on an in-memory VRRP
//! segment, a client load — with the console on top, in ten seconds and
//! without root.
//!
//! The console follows whichever director holds MASTER (its name is in
//! the header), so after a failover or `:demo kill` it shows the director
//! now serving the VIP. Its commands go to that director. `:demo stop
//! NAME` / `:demo start NAME` stop and start a web real server; `:demo
//! kill` stops the MASTER director and `:demo revive` starts it again.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Mutex};

use super::directors::DemoDirectors;
use super::world::DemoWorld;
use super::{DemoError, DemoOptions};
use crate::cli::{CommonOptions, DemoArgs};
use crate::engine::channel::{command_channel, CommandRequest, Update};
use crate::engine::handle::Handle;
use crate::ui::extension::{Extension, ExtensionRequest, ExtensionVerb};
use crate::vrrp::machine::State;

/// The instance the demo's directors run.
const INSTANCE: &str = "VI_1";

/// `:demo` actions, the verb the demo adds to the console: the reference
/// deployment's checks, live.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DemoAction {
    /// Stop the named web real server (`service httpd stop`).
    StopServer(String),
    /// Start it again.
    StartServer(String),
    /// Stop the director that is MASTER now (`systemctl stop keepalived`).
    KillMaster,
    /// Start every stopped director again.
    Revive,
}

impl DemoAction {
    /// The `:demo` verb and its forms, as the console checks them.
    fn verb() -> ExtensionVerb {
        ExtensionVerb {
            verb: "demo".into(),
            forms: ["stop NAME", "start NAME", "kill", "revive"]
                .map(String::from)
                .to_vec(),
        }
    }

    /// The action the words after `:demo` ask for.
    fn from_args(args: &[String]) -> Option<DemoAction> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["stop", name] => Some(DemoAction::StopServer((*name).to_string())),
            ["start", name] => Some(DemoAction::StartServer((*name).to_string())),
            ["kill"] => Some(DemoAction::KillMaster),
            ["revive"] => Some(DemoAction::Revive),
            _ => None,
        }
    }
}

/// Entry point of `lvstop demo`.
pub fn run(common: &CommonOptions, args: &DemoArgs) -> ExitCode {
    let console = match crate::console::console_options(common) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("lvstop demo: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = DemoOptions {
        vip: args.vip,
        port: args.port,
        ..DemoOptions::default()
    };
    options.load.rate = args.rate;
    let interval = crate::console::refresh(common);
    crate::console::block_on("lvstop demo", demo(options, console, interval))
}

async fn demo(
    options: DemoOptions,
    mut console: crate::ui::ConsoleOptions,
    interval: Duration,
) -> Result<(), DemoError> {
    crate::console::log_to_file();
    let mut world = DemoWorld::start(options).await?;
    let directors = match DemoDirectors::start(world.directors()).await {
        Ok(directors) => directors,
        Err(e) => {
            world.shutdown().await;
            return Err(e);
        }
    };
    world.start_load();
    let world = Arc::new(Mutex::new(world));
    let directors = Arc::new(Mutex::new(directors));

    let first = directors.lock().await.handle(0);
    let (current, followed) = watch::channel(first);
    let (update_tx, updates) = mpsc::channel(8);
    let follower = tokio::spawn(follow_master(
        Arc::clone(&directors),
        current.clone(),
        update_tx,
        interval,
    ));
    let (commands, command_queue) = command_channel();
    let router = tokio::spawn(route_commands(followed.clone(), command_queue));
    let (demo_tx, demo_queue) = mpsc::channel(4);
    let actions = tokio::spawn(carry_out(
        Arc::clone(&world),
        Arc::clone(&directors),
        followed,
        demo_queue,
    ));

    console.embedded = true;
    console.source = "embedded engine (demo)".into();
    console.extension = Some(Extension {
        verbs: vec![DemoAction::verb()],
        requests: demo_tx,
    });
    let result = crate::ui::run(console, updates, commands, crate::console::actor())
        .await
        .map_err(DemoError::from);

    follower.abort();
    router.abort();
    actions.abort();
    if let Some(directors) = Arc::into_inner(directors) {
        directors.into_inner().shutdown().await;
    }
    if let Some(world) = Arc::into_inner(world) {
        world.into_inner().shutdown().await;
    }
    result
}

/// Whether `handle`'s director holds `VI_1` as MASTER now.
async fn is_master(handle: &Handle) -> bool {
    handle.snapshot().await.is_ok_and(|s| {
        s.vrrp
            .instances
            .iter()
            .any(|i| i.name == INSTANCE && i.state == State::Master)
    })
}

/// The running director holding MASTER, else any running one.
async fn master_handle(directors: &Mutex<DemoDirectors>) -> Option<Handle> {
    let handles: Vec<Handle> = {
        let directors = directors.lock().await;
        (0..2).filter_map(|i| directors.handle(i)).collect()
    };
    for handle in &handles {
        if is_master(handle).await {
            return Some(handle.clone());
        }
    }
    handles.into_iter().next()
}

/// Forward the followed director's updates; switch to the MASTER when the
/// followed one stops being it or stops altogether.
async fn follow_master(
    directors: Arc<Mutex<DemoDirectors>>,
    current: watch::Sender<Option<Handle>>,
    out: mpsc::Sender<Update>,
    interval: Duration,
) {
    loop {
        let Some(handle) = current.borrow().clone() else {
            tokio::time::sleep(interval).await;
            current.send_replace(master_handle(&directors).await);
            continue;
        };
        let mut updates = handle.subscribe(interval, 0);
        let mut recheck = tokio::time::interval(interval);
        loop {
            tokio::select! {
                update = updates.recv() => match update {
                    Some(Update::Lost(_)) | None => break,
                    Some(update) => {
                        if out.send(update).await.is_err() {
                            return;
                        }
                    }
                },
                _ = recheck.tick() => {
                    if !is_master(&handle).await {
                        if let Some(master) = master_handle(&directors).await {
                            if is_master(&master).await {
                                break;
                            }
                        }
                    }
                }
            }
        }
        current.send_replace(master_handle(&directors).await);
    }
}

/// Commands go to the director the console follows.
async fn route_commands(
    followed: watch::Receiver<Option<Handle>>,
    mut queue: mpsc::Receiver<CommandRequest>,
) {
    while let Some(request) = queue.recv().await {
        let handle = followed.borrow().clone();
        tokio::spawn(async move {
            let answer = match handle {
                Some(handle) => handle.execute(request.actor, request.command).await,
                None => Err(crate::engine::command::CommandError::ShuttingDown),
            };
            let _ = request.reply.send(answer);
        });
    }
}

/// `:demo` actions.
async fn carry_out(
    world: Arc<Mutex<DemoWorld>>,
    directors: Arc<Mutex<DemoDirectors>>,
    followed: watch::Receiver<Option<Handle>>,
    mut queue: mpsc::Receiver<ExtensionRequest>,
) {
    while let Some(request) = queue.recv().await {
        let reply = request.answer;
        let Some(action) = DemoAction::from_args(&request.args) else {
            let _ = reply.send(Err(format!("usage: {}", DemoAction::verb().usage())));
            continue;
        };
        let answer = match action {
            DemoAction::StopServer(name) | DemoAction::StartServer(name)
                if server_index(&*world.lock().await, &name).is_none() =>
            {
                Err(format!("no real server '{name}' (rs1, rs2)"))
            }
            DemoAction::StopServer(name) => {
                let mut world = world.lock().await;
                let index = server_index(&world, &name).unwrap_or_default();
                world
                    .stop_server(index)
                    .await
                    .map(|()| format!("{name} stopped: watch its check turn down"))
                    .map_err(|e| e.to_string())
            }
            DemoAction::StartServer(name) => {
                let mut world = world.lock().await;
                let index = server_index(&world, &name).unwrap_or_default();
                world
                    .start_server(index)
                    .await
                    .map(|()| format!("{name} started again"))
                    .map_err(|e| e.to_string())
            }
            DemoAction::KillMaster => {
                let master = followed.borrow().clone();
                let mut directors = directors.lock().await;
                let mut killed = None;
                for index in 0..2 {
                    if let Some(handle) = directors.handle(index) {
                        if master.is_some() && is_master(&handle).await {
                            killed = Some(index);
                            break;
                        }
                    }
                }
                match killed {
                    Some(index) => {
                        let name = directors.names()[index].clone();
                        directors.stop_director(index).await;
                        Ok(format!("{name} stopped: the backup takes VI_1 over"))
                    }
                    None => Err("no director is MASTER now".to_string()),
                }
            }
            DemoAction::Revive => {
                let mut directors = directors.lock().await;
                let mut started = Vec::new();
                let mut error = None;
                for index in 0..2 {
                    if !directors.is_running(index) {
                        match directors.start_director(index).await {
                            Ok(()) => started.push(directors.names()[index].clone()),
                            Err(e) => error = Some(e.to_string()),
                        }
                    }
                }
                match (error, started.is_empty()) {
                    (Some(e), _) => Err(e),
                    (None, true) => Err("both directors are running".to_string()),
                    (None, false) => Ok(format!("{} started again", started.join(", "))),
                }
            }
        };
        let _ = reply.send(answer);
    }
}

fn server_index(world: &DemoWorld, name: &str) -> Option<usize> {
    world.servers().iter().position(|s| s.name() == name)
}

#[cfg(test)]
mod tests {
    use super::DemoAction;

    #[test]
    fn every_form_the_console_accepts_is_a_demo_action() {
        for form in DemoAction::verb().forms {
            let args: Vec<String> = form.split_whitespace().map(|w| w.to_lowercase()).collect();
            assert!(DemoAction::from_args(&args).is_some(), "{form}");
        }
        assert_eq!(
            DemoAction::verb().usage(),
            "demo stop NAME | demo start NAME | demo kill | demo revive"
        );
    }
}
