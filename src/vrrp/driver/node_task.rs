//! The runner's one task: it owns the [`Node`], feeds it every input (a
//! received advert, a timer — a timerfd, to the microsecond, like
//! keepalived's — a link change, a script's outcome, an operator command)
//! with the monotonic time, and carries out the actions
//! it returns, in order. Adverts, VIP changes and queueing a notify are
//! done before the next input is read; gratuitous ARP bursts and
//! `vrrp_script` runs are tasks of their own, owned here so that dropping
//! the engine (a crash, as far as the segment can tell) stops them all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::io::Host;
use super::notices::NoticeSinks;
use super::routes::{self, Step};
use super::setup::{Links, Scripts};
use super::status::{unix_ms, InstanceExtra, IoErrors, Transition, VrrpEvent, VrrpStatus};
use super::timer::PreciseTimer;
use crate::net::address::AddressSpec;
use crate::net::announce::{AnnounceSchedule, AnnounceSettings, Trigger};
use crate::notify::NotifyQueue;
use crate::vrrp::machine::{
    Input, Node, NoticeState, NotifyTarget, ScriptCommand, Timestamp, Vip, VrrpAction,
};
use crate::vrrp::packet::Advertisement;
use crate::vrrp::routing::RouteSet;
use crate::vrrp::track::ScriptOutcome;
use crate::vrrp::transport::AhSeal;

/// How long one notify script may run (keepalived has no limit of its
/// own for notify scripts; lvstop kills a stuck one so the channel moves).
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// On shutdown, how long to wait for `notify_stop` scripts to finish.
const NOTIFY_DRAIN: Duration = Duration::from_secs(5);

/// What reaches the engine from its tasks and its handle.
#[derive(Debug)]
pub enum Msg {
    Input(Input),
    /// An operator's input for the named instance; the reply says
    /// whether it exists (the input is dropped when it does not).
    Operator {
        instance: String,
        input: Input,
        reply: oneshot::Sender<bool>,
    },
    /// Stop with this input (`Shutdown` or `Delete`), then answer with
    /// the sync groups' STOP notices, held back (see [`NodeTask::stop`]).
    Shutdown(Input, oneshot::Sender<Vec<VrrpAction>>),
}

/// The running node and everything it acts through.
#[derive(Debug)]
pub struct NodeTask {
    pub node: Node,
    pub epoch: Instant,
    pub started: SystemTime,
    pub links: Links,
    pub host: Arc<Host>,
    pub vip_specs: HashMap<(String, IpAddr), AddressSpec>,
    /// `virtual_routes` / `virtual_rules` by instance name.
    pub route_sets: HashMap<String, RouteSet>,
    pub scripts: Arc<Scripts>,
    pub announce: AnnounceSettings,
    pub inbox: mpsc::Sender<Msg>,
    pub status: watch::Sender<VrrpStatus>,
    pub events: broadcast::Sender<VrrpEvent>,
    pub extras: BTreeMap<String, InstanceExtra>,
    /// Notify channels by (is a sync group, name).
    pub queues: HashMap<(bool, String), NotifyQueue>,
    pub tasks: JoinSet<()>,
    /// Gratuitous ARP / NA bursts in flight, by instance and the
    /// addresses they announce (a `garp_extra_if` round announces fewer
    /// than a master's set and must not cut it short).
    pub bursts: HashMap<(String, Vec<IpAddr>), AbortHandle>,
    pub running_scripts: HashSet<String>,
    /// Warnings already logged (see `warn_once`).
    pub reported: HashSet<String>,
    pub notices: NoticeSinks,
}

impl NodeTask {
    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.epoch.elapsed())
    }

    /// Runs until a shutdown request (answered once `notify_stop` ran).
    pub async fn run(mut self, mut inbox: mpsc::Receiver<Msg>) {
        let precise = PreciseTimer::new()
            .map_err(|e| tracing::warn!("no timerfd ({e}): VRRP timers may fire up to 1 ms late"))
            .ok();
        self.step(Input::Startup).await;
        loop {
            let deadline = self
                .node
                .next_deadline()
                .map(|d| self.epoch + d.as_duration());
            let timer = async {
                match (deadline, &precise) {
                    (Some(at), Some(precise)) => {
                        if precise.sleep_until(at).await.is_err() {
                            tokio::time::sleep_until(at).await;
                        }
                    }
                    (Some(at), None) => tokio::time::sleep_until(at).await,
                    (None, _) => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = timer => self.step(Input::Tick).await,
                msg = inbox.recv() => match msg {
                    Some(Msg::Input(input)) => {
                        self.script_done(&input);
                        self.step(input).await;
                    }
                    Some(Msg::Operator { instance, input, reply }) => {
                        let known = self.node.instance(&instance).is_some();
                        if known {
                            self.step(input).await;
                        }
                        let _ = reply.send(known);
                    }
                    Some(Msg::Shutdown(input, reply)) => {
                        let held = self.stop(input).await;
                        let _ = reply.send(held);
                        return;
                    }
                    None => return,
                },
            }
            // Reap finished tasks so the set does not grow.
            while self.tasks.try_join_next().is_some() {}
        }
    }

    /// keepalived announces a sync group's STOP after every instance's
    /// (recorded: `INSTANCE "VI_1" STOP`, `INSTANCE "VI_2" STOP`, then
    /// `GROUP "G1" STOP`), and other units stop in runners of their own;
    /// so those notices are returned for the caller to deliver last.
    async fn stop(&mut self, input: Input) -> Vec<VrrpAction> {
        let now = self.now();
        let (held, actions): (Vec<VrrpAction>, Vec<VrrpAction>) = self
            .node
            .handle(now, input)
            .into_iter()
            .partition(|action| {
                matches!(
                    action,
                    VrrpAction::Notice {
                        target: NotifyTarget::Group,
                        state: NoticeState::Stop,
                        ..
                    }
                )
            });
        self.carry_out(actions).await;
        self.publish();
        for handle in self.bursts.values() {
            handle.abort();
        }
        let deadline = Instant::now() + NOTIFY_DRAIN;
        while Instant::now() < deadline
            && self.queues.values().any(|q| {
                let s = q.stats();
                s.succeeded + s.failed + s.dropped < s.submitted
            })
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        held
    }

    /// One input in, its actions carried out, the status published.
    async fn step(&mut self, input: Input) {
        let now = self.now();
        let actions = self.node.handle(now, input);
        self.carry_out(actions).await;
        self.publish();
    }

    /// The actions in order, with the route changes their transitions
    /// call for (see [`routes::interleave`]).
    async fn carry_out(&mut self, actions: Vec<VrrpAction>) {
        for step in routes::interleave(actions) {
            match step {
                Step::Act(action) => self.act(action).await,
                Step::Routes { instance, install } => self.change_routes(&instance, install).await,
            }
        }
    }

    fn publish(&mut self) {
        let status = VrrpStatus::build(&self.node.snapshot(), &self.extras, self.started);
        self.status.send_if_modified(|old| {
            let changed = *old != status;
            if changed {
                *old = status;
            }
            changed
        });
    }

    async fn act(&mut self, action: VrrpAction) {
        match action {
            VrrpAction::SendAdvert {
                instance,
                destinations,
                advert,
                ah_sequence,
                ..
            } => {
                self.send_advert(&instance, &destinations, &advert, ah_sequence)
                    .await
            }
            VrrpAction::AddVips {
                instance,
                interface,
                vips,
            } => {
                self.change_vips(&instance, interface.as_deref(), &vips, true)
                    .await
            }
            VrrpAction::RemoveVips {
                instance,
                interface,
                vips,
            } => {
                self.bursts.retain(|(name, _), burst| {
                    let keep = *name != instance;
                    if !keep {
                        burst.abort();
                    }
                    keep
                });
                self.change_vips(&instance, interface.as_deref(), &vips, false)
                    .await;
            }
            VrrpAction::SendGratuitous {
                instance,
                interface,
                addresses,
                repeat,
            } => self.gratuitous(&instance, interface.as_deref(), addresses, repeat),
            VrrpAction::RunNotify {
                target,
                name,
                command,
                ..
            } => self.notify(target, name, &command),
            VrrpAction::RunScript {
                script,
                command,
                timeout,
            } => self.run_script(script, &command, timeout),
            VrrpAction::StateChanged { instance, from, to } => {
                let at = SystemTime::now();
                let transition = Transition {
                    from,
                    to,
                    at_unix_ms: unix_ms(at),
                };
                self.extras
                    .entry(instance.clone())
                    .or_default()
                    .record(transition.clone(), at);
                let _ = self.events.send(VrrpEvent::StateChanged {
                    instance,
                    transition,
                });
            }
            VrrpAction::Notice {
                target,
                name,
                state,
                priority,
                alert,
            } => self.notices.deliver(target, &name, state, priority, alert),
            VrrpAction::Log { line } => tracing::info!("{line}"),
        }
    }

    /// One advert per destination: the VRRPv3 checksum covers the source
    /// and destination addresses (RFC 5798 §5.2.8), so each is encoded on
    /// its own. An `auth_type AH` advert goes out sealed in its
    /// Authentication Header with `ah_sequence`.
    async fn send_advert(
        &mut self,
        instance: &str,
        destinations: &[IpAddr],
        advert: &Advertisement,
        ah_sequence: Option<u32>,
    ) {
        let Some(link) = self.links.by_instance.get(instance).cloned() else {
            self.warn_once(format!("({instance}) has no transport to send adverts on"));
            self.io_errors(instance).advert_send += 1;
            return;
        };
        let source = link.source_address();
        for &to in destinations {
            let result = match advert.emit(source, to) {
                Ok(payload) => match (advert.auth.ah_key(), ah_sequence) {
                    (Some(key), Some(sequence)) => {
                        let seal = AhSeal {
                            sequence,
                            key: *key,
                        };
                        link.send_authenticated(to, &payload, seal).await
                    }
                    _ => link.send(to, &payload).await,
                }
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(reason) = result {
                self.warn_once(format!(
                    "({instance}) cannot send an advert to {to}: {reason}"
                ));
                self.io_errors(instance).advert_send += 1;
            }
        }
    }

    /// Logs `line` the first time it occurs, so a dead link does not flood
    /// the log (the counters keep the total).
    fn warn_once(&mut self, line: String) {
        if !self.reported.contains(&line) {
            tracing::warn!("{line}");
            self.reported.insert(line);
        }
    }

    fn io_errors(&mut self, instance: &str) -> &mut IoErrors {
        &mut self
            .extras
            .entry(instance.to_string())
            .or_default()
            .io_errors
    }

    fn spec(&self, instance: &str, interface: Option<&str>, vip: &Vip) -> Option<AddressSpec> {
        if let Some(spec) = self.vip_specs.get(&(instance.to_string(), vip.address)) {
            return Some(spec.clone());
        }
        let ifname = vip.interface.as_deref().or(interface)?;
        let mut spec = AddressSpec::host(ifname, vip.address);
        spec.prefix_len = vip.prefix;
        Some(spec)
    }

    async fn change_vips(
        &mut self,
        instance: &str,
        interface: Option<&str>,
        vips: &[Vip],
        add: bool,
    ) {
        for vip in vips {
            let Some(spec) = self.spec(instance, interface, vip) else {
                self.warn_once(format!("({instance}) VIP {} has no interface", vip.address));
                self.io_errors(instance).vip += 1;
                continue;
            };
            let result = if add {
                self.host.add_vip(&spec).await
            } else {
                self.host.remove_vip(&spec).await
            };
            let extra = self.extras.entry(instance.to_string()).or_default();
            extra.vips_installed.retain(|a| *a != vip.address);
            match result {
                Ok(_) => {
                    if add {
                        extra.vips_installed.push(vip.address);
                    }
                }
                Err(e) => {
                    let verb = if add { "add" } else { "remove" };
                    tracing::error!("({instance}) cannot {verb} VIP {spec}: {e}");
                    extra.io_errors.vip += 1;
                }
            }
        }
    }

    /// A burst of `repeat` gratuitous ARPs / NAs per address, paced by
    /// `vrrp_garp_interval` / `vrrp_gna_interval` through the announcement
    /// schedule; the state machine itself schedules the delayed second
    /// burst and any refresh.
    fn gratuitous(
        &mut self,
        instance: &str,
        interface: Option<&str>,
        addresses: Vec<IpAddr>,
        repeat: u32,
    ) {
        let ifnames: Vec<(IpAddr, Option<String>)> = addresses
            .iter()
            .map(|&address| {
                let ifname = self
                    .vip_specs
                    .get(&(instance.to_string(), address))
                    .map(|s| s.ifname.clone())
                    .or_else(|| interface.map(str::to_string));
                (address, ifname)
            })
            .collect();
        let settings = AnnounceSettings {
            master_repeat: repeat,
            master_delay: Duration::ZERO,
            master_refresh: Duration::ZERO,
            ..self.announce
        };
        let host = Arc::clone(&self.host);
        let name = instance.to_string();
        let key = (instance.to_string(), addresses.clone());
        let burst = self.tasks.spawn(async move {
            let mut schedule = AnnounceSchedule::new(settings, addresses);
            schedule.start(Trigger::BecameMaster, Instant::now());
            let mut failed = false;
            while let Some(at) = schedule.next_deadline() {
                // A deadline already due must not go through the timer
                // wheel: tokio fires it on its next millisecond tick, which
                // would hold the first gratuitous ARP back by up to 1 ms.
                if at > Instant::now() {
                    tokio::time::sleep_until(at).await;
                }
                for due in schedule.poll(Instant::now()) {
                    let ifname = ifnames
                        .iter()
                        .find(|(a, _)| *a == due.vip)
                        .and_then(|(_, i)| i.as_deref());
                    let Some(ifname) = ifname else { continue };
                    if let Err(e) = host.announce(ifname, due.vip).await {
                        if !failed {
                            tracing::warn!("({name}) cannot announce {}: {e}", due.vip);
                            failed = true;
                        }
                    }
                }
            }
        });
        if let Some(old) = self.bursts.insert(key, burst) {
            // The newer burst announces the same addresses.
            old.abort();
        }
    }

    fn notify(&mut self, target: NotifyTarget, name: String, command: &ScriptCommand) {
        let scripts = Arc::clone(&self.scripts);
        let Some((prepared, extra_args)) = scripts.find(command) else {
            tracing::warn!(
                "({name}) notify script '{}' was not prepared",
                command.argv.join(" ")
            );
            return;
        };
        match prepared {
            Ok(script) => {
                let queue = self
                    .queues
                    .entry((target == NotifyTarget::Group, name.clone()))
                    .or_insert_with(|| {
                        NotifyQueue::spawn(
                            name,
                            NOTIFY_TIMEOUT,
                            crate::notify::ordered::DEFAULT_CAPACITY,
                        )
                    });
                queue.push(Arc::clone(script), extra_args);
            }
            Err(reason) => {
                self.warn_once(format!("({name}) not running notify script: {reason}"));
            }
        }
    }

    /// Runs a `vrrp_script` unless its previous run is still going
    /// (keepalived does not overlap runs); the outcome comes back as an
    /// input.
    fn run_script(&mut self, name: String, command: &ScriptCommand, timeout: Duration) {
        if self.running_scripts.contains(&name) {
            return;
        }
        let scripts = Arc::clone(&self.scripts);
        let Some((prepared, extra_args)) = scripts.find(command) else {
            return;
        };
        let inbox = self.inbox.clone();
        let script = match prepared {
            Ok(script) => Arc::clone(script),
            Err(reason) => {
                self.warn_once(format!("VRRP_Script({name}) cannot run: {reason}"));
                let outcome = ScriptOutcome::Failure { status: None };
                let _ = inbox.try_send(Msg::Input(Input::ScriptResult {
                    script: name,
                    outcome,
                }));
                return;
            }
        };
        self.running_scripts.insert(name.clone());
        self.tasks.spawn(async move {
            let run = script.run(&extra_args, timeout).await;
            let outcome = if run.timed_out {
                ScriptOutcome::Timeout
            } else if run.success() {
                ScriptOutcome::Success
            } else {
                ScriptOutcome::Failure {
                    status: match run.end {
                        crate::notify::script::ScriptEnd::Exited(code) => Some(code),
                        _ => None,
                    },
                }
            };
            let _ = inbox
                .send(Msg::Input(Input::ScriptResult {
                    script: name,
                    outcome,
                }))
                .await;
        });
    }

    /// A script's outcome frees it to run again.
    fn script_done(&mut self, input: &Input) {
        if let Input::ScriptResult { script, .. } = input {
            self.running_scripts.remove(script);
        }
    }
}
