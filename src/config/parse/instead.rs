//! What lvstop does instead of the keywords it parses but does not act on:
//! the text of each "parsed, not acted on" warning, shared by the keyword
//! tables. Owns wording only; never decides which keyword is acted on (the
//! tables do).

pub const SNMP: &str =
    "lvstop has no SNMP agent; read state with 'lvstop --once --json' or the control socket";
pub const DBUS: &str = "lvstop has no D-Bus interface; use the control socket ('lvstop ctl')";
pub const PROCESS: &str = "lvstop runs as one process named 'lvstop'; set scheduling, memory and CPU limits in its systemd unit";
pub const BUFFERS: &str = "lvstop uses the kernel's default socket buffer sizes";
pub const FIREWALL: &str = "lvstop adds no nftables, iptables or ipset rules";
pub const NAMESPACE: &str = "lvstop runs in the network namespace it is started in";
pub const PID_FILES: &str =
    "lvstop's files are named by its own options (--socket, the pid file beside it)";
pub const RELOAD: &str =
    "lvstop reloads only on SIGHUP or 'lvstop ctl reload', after loading the file in full";
pub const SCRIPTS_AT_START: &str =
    "lvstop runs no startup or shutdown script; use ExecStartPre/ExecStopPost in its systemd unit";
pub const CONFIG_FILES: &str = "lvstop writes no copies of the configuration";
pub const LINKBEAT: &str =
    "lvstop reads interface state its own way, without MII or ETHTOOL polling";
pub const ADVERT_TUNING: &str =
    "lvstop sends and answers adverts as RFC 3768/5798 say, without this adjustment";
pub const UNICAST_TUNING: &str =
    "lvstop sends unicast adverts with TTL 255 and checks them as multicast ones";
pub const VMAC: &str =
    "lvstop names VMAC interfaces as keepalived does by default: vrrp.VRID, then vrrpN.VRID";
pub const GARP_GROUP: &str =
    "lvstop spaces gratuitous ARPs and NAs on every interface with the global vrrp_garp_interval and vrrp_gna_interval";
pub const STATIC_TRACK: &str =
    "lvstop installs static addresses, routes and rules without tracking them";
pub const ROUTE_OPTION: &str = "lvstop installs the route without it (it passes the type, src, via, dev, table, metric, scope, proto, onlink, mtu and append)";
pub const MULTIPATH_ROUTE: &str =
    "lvstop installs single-path routes only and leaves this route out";
pub const RULE_OPTION: &str = "lvstop installs the rule without it";
pub const TRACK_GROUP: &str = "lvstop installs the line without tracking it";
pub const NOTIFY_EXTRA: &str =
    "lvstop announces DELETED and priority changes for instances only, not for sync groups";
pub const NICE: &str =
    "lvstop runs at the priority it was started with; set Nice= in its systemd unit";
pub const LVS_FLUSH: &str =
    "lvstop leaves IPVS services it did not create alone instead of flushing the table at start";
pub const LVS_SYNC_INSTANCE: &str =
    "lvstop starts the IPVS sync daemon only from global_defs 'lvs_sync_daemon'";
pub const HA_SUSPEND: &str = "lvstop keeps checking real servers whatever the VRRP state";
pub const CHECKER_FWMARK: &str =
    "lvstop's checkers connect without a firewall mark, straight to the real server";
pub const FAST_RECOVERY: &str = "lvstop's HTTP and SSL checks open a new connection each time";
pub const PERSISTENCE_ENGINE: &str = "lvstop sets no IPVS persistence engine (no SIP persistence)";
pub const VIP_OPTION: &str =
    "lvstop adds the address with its prefix, brd, scope, label and dev only";
pub const SYNC_GROUP_TRACKING: &str =
    "lvstop applies each instance's own tracking to the instance only";
pub const SCRIPT_ORIGIN: &str =
    "lvstop takes scripts' users and checks as configured, without this option";
pub const DEFAULTS: &str = "lvstop keeps its default behaviour";
pub const NO_EMAIL_FAULTS: &str = "lvstop does not filter alerts by fault state";
pub const DEFAULT_INTERFACE: &str = "lvstop needs 'interface' in each vrrp_instance";
pub const LVS_FLUSH_ON_STOP: &str =
    "lvstop's shutdown leaves the IPVS table as its own stop handling does";
pub const VRRP_STARTUP_DELAY: &str =
    "lvstop starts VRRP as soon as it has loaded the configuration";
pub const LOG_VRIDS: &str = "lvstop does not log adverts for VRIDs it does not run";
pub const VRF: &str = "lvstop binds VRRP sockets to the interface, not to a VRF";
pub const IPVLAN: &str = "lvstop puts the VIPs on the instance's interface itself";
pub const STRICT: &str = "lvstop applies vrrp_strict from global_defs only";
pub const DEBUG: &str = "lvstop's log level is set with RUST_LOG / its own options";
pub const PROMOTE: &str = "lvstop leaves the kernel's promote_secondaries setting as it is";
pub const FIFO_ON_RELOAD: &str = "lvstop writes notify FIFO lines on state changes only";
pub const EMAILS_AT_START: &str = "lvstop sends checker alerts on state changes only";

/// Why BFD keywords are refused rather than ignored: a real server whose
/// only checker is a BFD_CHECK would stay down for ever.
pub const BFD: &str = "lvstop does not implement BFD (RFC 5880/5881); a real server checked by BFD would never come up; check it with TCP_CHECK, PING_CHECK or another checker instead";
pub const DYNAMIC_INTERFACES: &str =
    "lvstop does not change how it treats interfaces that appear or vanish";
pub const REGEX_STACK: &str = "lvstop's regular expressions need no stack size";
pub const CHECK_UNICAST_SRC: &str =
    "lvstop does not check that unicast adverts come from a configured unicast_peer";
pub const ACCEPT: &str =
    "lvstop adds no firewall rules, so a VIP takes traffic like any local address whatever the accept mode";
