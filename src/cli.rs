//! Command-line definitions (clap). Only the shape of the command line lives
//! here; what each command does is in its own module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::dataplane::chosen::DataplaneChoice;

/// The default keepalived configuration path.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// The default control socket path.
pub const DEFAULT_SOCKET: &str = "/run/lvstop/lvstop.sock";

#[derive(Debug, Parser)]
#[command(
    name = "lvstop",
    version,
    about = "Console and director engine for Linux Virtual Server (IPVS) with keepalived-compatible configuration",
    long_about = None,
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonOptions,

    /// Print the IPVS table (like `ipvsadm -Ln`), VRRP and checks, then exit.
    #[arg(long)]
    pub once: bool,

    /// Run a director engine inside the console from `-f FILE` (VRRP, checks,
    /// IPVS): the console is then the director, and quitting it stops the
    /// director. Without it, `lvstop` only attaches or observes.
    #[arg(long, conflicts_with = "once")]
    pub engine: bool,

    /// A director to show, as NAME=SOCKET (its daemon's control socket,
    /// or one forwarded with `ssh -L`); repeat for a pair or a fleet: one
    /// console (or `--once` listing) over all of them.
    #[arg(
        long = "director",
        value_name = "NAME=SOCKET",
        conflicts_with = "engine"
    )]
    pub directors: Vec<crate::fleet::DirectorSpec>,

    #[command(flatten)]
    pub listing: ListingOptions,

    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// Options every command understands.
#[derive(Debug, Args, Clone)]
pub struct CommonOptions {
    /// keepalived configuration file.
    #[arg(short = 'f', long = "config", global = true, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,

    /// Control socket of a running lvstop daemon.
    #[arg(long, global = true, value_name = "PATH", env = "LVSTOP_SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,

    /// Which dataplane the engine programs.
    #[arg(long, global = true, value_enum, default_value_t = DataplaneChoice::Auto)]
    pub dataplane: DataplaneChoice,

    /// Where the console and --once read state from: `auto` (a daemon on
    /// --socket, else the observer), `daemon`, or `observe` (the kernel's
    /// IPVS, VRRP on the wire, keepalived's own state; read-only towards
    /// VRRP and keepalived).
    #[arg(long, global = true, value_enum, default_value_t = SourceChoice::Auto)]
    pub source: SourceChoice,

    /// Start an engine (`lvstop daemon`, `lvstop --engine`) even though
    /// keepalived or another lvstop engine runs on this host. Dangerous: two
    /// VRRP speakers with the same VRIDs can move or drop the VIPs, and two
    /// IPVS owners undo each other's changes.
    #[arg(long, global = true)]
    pub allow_other_speaker: bool,

    /// Disable every action that changes the director.
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Console colour theme.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,

    /// Console keymap.
    #[arg(long, global = true, value_name = "NAME")]
    pub keymap: Option<String>,

    /// Draw the console with ASCII only (no ▲ ▼ ◐ ✕, lines or blocks).
    #[arg(long, global = true)]
    pub ascii: bool,

    /// Console refresh interval in seconds.
    #[arg(short = 'd', long, global = true, value_name = "SECS")]
    pub delay: Option<f64>,
}

/// ipvsadm's listing options, accepted with `--once` and meaning what they
/// mean to ipvsadm.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Listing options (with --once, as in ipvsadm)")]
pub struct ListingOptions {
    /// ipvsadm's list command; accepted so `--once -Ln` reads as in ipvsadm.
    #[arg(short = 'L', short_alias = 'l', hide = true)]
    pub list: bool,
    /// Numeric output of addresses and ports.
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// Show counters.
    #[arg(long)]
    pub stats: bool,
    /// Show rates.
    #[arg(long)]
    pub rate: bool,
    /// Print full numbers, not K/M/G.
    #[arg(long)]
    pub exact: bool,
    /// Show upper and lower connection thresholds.
    #[arg(long)]
    pub thresholds: bool,
    /// Show persistent connection counts.
    #[arg(long)]
    pub persistent_conn: bool,
    /// Show tunnel settings.
    #[arg(long)]
    pub tun_info: bool,
    /// Services and destinations in the dataplane's own order.
    #[arg(long)]
    pub nosort: bool,
    /// List the connection table.
    #[arg(short = 'c', long)]
    pub connection: bool,
    /// List the connection timeouts.
    #[arg(long)]
    pub timeout: bool,
    /// List the connection sync daemons.
    #[arg(long = "daemon")]
    pub sync_daemon: bool,
    /// Print the table as ipvsadm restore commands.
    #[arg(short = 'S', long)]
    pub save: bool,
    /// Only the IPVS table, byte-identical to ipvsadm's.
    #[arg(long)]
    pub ipvs_only: bool,
    /// Everything, as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceChoice {
    Auto,
    Daemon,
    /// The observer; `kernel` is its former name.
    #[value(alias = "kernel")]
    Observe,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Validate a configuration (exit codes as keepalived --config-test).
    Check(CheckArgs),
    /// Run the director engine headless.
    Daemon(DaemonArgs),
    /// Scriptable operator actions against the running engine.
    Ctl {
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
        /// Unused by ctl (it talks to the daemon's socket); declared here
        /// without `-f`, which ctl keeps for ipvsadm's firewall mark.
        #[arg(long = "config", id = "config", value_name = "FILE", hide = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        verb: crate::ctl::Verb,
    },
    /// Self-contained demo on loopback; needs no root.
    Demo(DemoArgs),
    /// Serve Prometheus metrics of a director lvstop does not run (kernel
    /// IPVS, keepalived's state, VRRP on the wire); read-only.
    Exporter(ExporterArgs),
    /// Set up or tear down a direct-routing real server.
    Realserver {
        /// start, stop or status.
        #[arg(value_parser = crate::net::realserver::ActionParser)]
        action: crate::net::realserver::RealServerAction,
        /// Virtual IP address(es), comma separated.
        #[arg(long, value_name = "IP[,IP...]")]
        vip: Option<String>,
        /// Interface that holds the VIP.
        #[arg(long, default_value = "lo")]
        dev: String,
        /// Where `start` saves the previous sysctl values for `stop`.
        #[arg(
            long,
            value_name = "FILE",
            env = "LVSTOP_REALSERVER_STATE",
            default_value = "/run/lvstop/realserver.json"
        )]
        state_file: std::path::PathBuf,
    },
}

/// `lvstop daemon` options beyond the common ones.
#[derive(Debug, Args, Clone, Default)]
pub struct DaemonArgs {
    /// Write the daemon's pid here (removed on exit); refuses to start if
    /// a live lvstop already holds it.
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// On SIGTERM leave the kernel's IPVS services in place (default: remove
    /// the ones this daemon programmed, as keepalived does).
    #[arg(long)]
    pub keep_ipvs_on_exit: bool,
    /// Members of this group may act through the control socket (root and
    /// the daemon's user always may); the socket is given to the group.
    #[arg(long, value_name = "GROUP")]
    pub admin_group: Option<String>,
    /// Serve Prometheus metrics on http://ADDR:PORT/metrics (off by
    /// default; a loopback address such as 127.0.0.1:9469 keeps them on
    /// the host).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Leave out the per-real-server and per-checker series (for tables
    /// of many thousand real servers); per-service series stay.
    #[arg(long, requires = "metrics")]
    pub metrics_no_real_servers: bool,
}

/// `lvstop exporter`'s options.
#[derive(Debug, Args, Clone)]
pub struct ExporterArgs {
    /// Where to serve http://ADDR:PORT/metrics.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9469")]
    pub listen: std::net::SocketAddr,
    /// Leave out the per-real-server and per-checker series.
    #[arg(long)]
    pub no_real_servers: bool,
    /// How often the observer refreshes, in seconds (scrapes read the
    /// latest refresh).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub refresh: f64,
}

/// `lvstop demo`'s options.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// The virtual IP (a loopback address).
    #[arg(long, value_name = "IP", default_value = "127.0.0.88")]
    pub vip: std::net::IpAddr,
    /// The virtual service's port (unprivileged by default).
    #[arg(long, value_name = "PORT", default_value_t = 8088)]
    pub port: u16,
    /// Client requests per second of the built-in load (0: none).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub rate: u32,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Configuration id for `@id` conditional lines (default: the first label
    /// of the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Print the normalized configuration in canonical keepalived syntax.
    #[arg(long)]
    pub dump: bool,

    /// Interpret keywords the way operators usually meant them where
    /// keepalived ignores them (e.g. `nb_get_retry` inside TCP_CHECK becomes
    /// `retry`).
    #[arg(long)]
    pub compat: bool,

    /// Show notes ("parsed, not acted on") as well as warnings and errors.
    #[arg(short, long)]
    pub verbose: bool,

    /// Skip the checks keepalived makes on this host (interfaces, the
    /// script user and group, script files): validate a file meant for
    /// another director.
    #[arg(long)]
    pub offline: bool,

    /// lvstop's stricter judgement for the exit code: every warning is a
    /// problem, and scripts without enable_script_security give 6 whether
    /// or not their files exist.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}
