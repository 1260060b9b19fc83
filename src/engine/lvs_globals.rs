//! `global_defs`' IPVS settings: `lvs_timeouts` and `lvs_sync_daemon`.
//!
//! - `lvs_timeouts tcp S tcpfin S udp S` sets the kernel's connection
//!   timeouts (`ipvsadm --set`); a value left out stays as it is (0 in the
//!   netlink message means "unchanged", `IPVS_CMD_SET_CONFIG`).
//! - `lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N]
//!   [group ADDR]` runs the kernel's connection synchronisation daemon
//!   (`ipvsadm --start-daemon`) on interface IF, in the role that follows
//!   the VRRP instance: master while INSTANCE is MASTER (it sends the
//!   connection table), backup otherwise (it receives it), so the director
//!   that takes over already knows the live connections. Without an
//!   instance the director is standalone and runs the master role.
//!
//! Pure: the director turns the answers into dataplane operations.

use crate::config::model::global::{LvsSyncDaemon, LvsTimeouts};
use crate::ipvs::model::{Daemon, DaemonState, Timeouts};
use crate::vrrp::driver::VrrpStatus;
use crate::vrrp::machine::State;

/// keepalived.conf(5): sync id 0 unless `id` is given; the kernel's
/// default message length (`maxlen` 0 lets the kernel pick from the MTU)
/// and TTL 1.
const DEFAULT_SYNC_ID: u32 = 0;
const DEFAULT_TTL: u8 = 1;

/// The timeouts to set, if the configuration names any.
pub fn timeouts(config: Option<&LvsTimeouts>) -> Option<Timeouts> {
    let config = config?;
    let timeouts = Timeouts {
        tcp: config.tcp.unwrap_or(0),
        tcp_fin: config.tcpfin.unwrap_or(0),
        udp: config.udp.unwrap_or(0),
    };
    (timeouts.tcp != 0 || timeouts.tcp_fin != 0 || timeouts.udp != 0).then_some(timeouts)
}

/// The sync daemon to run now, given VRRP's state.
pub fn sync_daemon(config: &LvsSyncDaemon, vrrp: &VrrpStatus) -> Daemon {
    let state = match &config.instance {
        None => DaemonState::Master,
        Some(name) => {
            let master = vrrp
                .instances
                .iter()
                .any(|i| i.name == name.value && i.state == State::Master);
            if master {
                DaemonState::Master
            } else {
                DaemonState::Backup
            }
        }
    };
    Daemon {
        state,
        mcast_ifn: config.interface.value.as_str().into(),
        syncid: config.id.map_or(DEFAULT_SYNC_ID, u32::from),
        sync_maxlen: config.maxlen.unwrap_or(0),
        mcast_group: config.group,
        mcast_port: config.effective_port(),
        mcast_ttl: config.ttl.unwrap_or(DEFAULT_TTL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{load_str, Options};

    fn global(text: &str) -> crate::config::model::Config {
        let outcome = load_str("g.conf".as_ref(), text, &Options::default());
        assert!(!outcome.has_errors(), "{text}");
        outcome.config
    }

    #[test]
    fn timeouts_left_out_stay_as_they_are() {
        let config = global("global_defs {\n    lvs_timeouts tcp 7200 udp 90\n}\n");
        assert_eq!(
            timeouts(config.global.lvs_timeouts.as_ref()),
            Some(Timeouts {
                tcp: 7200,
                tcp_fin: 0,
                udp: 90
            })
        );
        assert_eq!(timeouts(None), None);
    }

    #[test]
    fn the_sync_daemon_follows_its_instance() {
        let config = global(
            "global_defs {\n    lvs_sync_daemon eth1 VI_1 id 9 port 8850\n}\n\
             vrrp_instance VI_1 {\n    interface eth1\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        198.51.100.88\n    }\n}\n",
        );
        let Some(sync) = config.global.lvs_sync_daemon.as_ref() else {
            panic!("lvs_sync_daemon not read");
        };
        let backup = sync_daemon(sync, &VrrpStatus::default());
        assert_eq!(backup.state, DaemonState::Backup);
        assert_eq!(backup.mcast_ifn.as_str(), "eth1");
        assert_eq!((backup.syncid, backup.mcast_port), (9, 8850));
        let status: VrrpStatus = serde_json::from_value(serde_json::json!({
            "instances": [{
                "name": "VI_1", "state": "MASTER", "vrid": 51, "version": 2,
                "interface": "eth1", "base_priority": 100, "effective_priority": 100,
                "master_address": null, "master_priority": null,
                "vips": [], "vips_installed": [], "sync_group": null,
                "fault_reasons": [], "since_unix_ms": 0, "transitions": [],
                "stats": {}, "io_errors": {"advert_send": 0, "vip": 0, "announce": 0}
            }],
            "sync_groups": [], "unknown_vrid": 0
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sync_daemon(sync, &status).state, DaemonState::Master);
    }
}
