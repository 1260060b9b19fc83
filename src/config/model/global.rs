//! `global_defs`: daemon-wide settings (identity, e-mail alerts, VRRP
//! defaults, LVS sync daemon, notify FIFOs).
//!
//! Plain data recording what the operator wrote; defaults are the
//! `effective_*` methods. Never parses text, never reports diagnostics.

use std::net::IpAddr;
use std::time::Duration;

use super::{RawSetting, Script, Text, Timer};
use crate::config::source::Spanned;

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: Text,
    pub port: Option<u16>,
}

impl SmtpServer {
    /// keepalived.conf(5): "default port number: 25".
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(25)
    }
}

/// `lvs_sync_daemon IF [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N]
/// [group ADDR]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    pub interface: Text,
    pub instance: Option<Text>,
    pub id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

impl LvsSyncDaemon {
    /// keepalived.conf(5): UDP port 8848 by default.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(8848)
    }
}

/// `lvs_timeouts [tcp S] [tcpfin S] [udp S]` (unset = left unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LvsTimeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

/// A FIFO keepalived writes notify events to: `NAME [USER [GROUP]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fifo {
    pub path: Text,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// The three `*_notify_fifo` families (`notify_fifo`, `vrrp_notify_fifo`,
/// `lvs_notify_fifo`), each with its optional reader script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyFifo {
    pub fifo: Option<Fifo>,
    pub script: Option<Script>,
}

/// The `global_defs` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlobalDefs {
    pub router_id: Option<Text>,
    pub notification_email: Vec<Text>,
    pub notification_email_from: Option<Text>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<Text>,
    pub smtp_connect_timeout: Option<Spanned<u32>>,
    pub smtp_alert: Option<Spanned<bool>>,
    pub smtp_alert_vrrp: Option<Spanned<bool>>,
    pub smtp_alert_checker: Option<Spanned<bool>>,
    pub enable_script_security: bool,
    /// Where `enable_script_security` was read: keepalived looks up the
    /// default script user for each script and FIFO it reads after it.
    /// (A located unit, so models compare equal wherever it was written.)
    pub script_security_at: Option<Spanned<()>>,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<Text>,
    pub script_group: Option<String>,
    pub vrrp_version: Option<Spanned<u8>>,
    pub vrrp_mcast_group4: Option<Spanned<IpAddr>>,
    pub vrrp_mcast_group6: Option<Spanned<IpAddr>>,
    pub vrrp_garp_master_delay: Option<Spanned<u32>>,
    pub vrrp_garp_master_repeat: Option<Spanned<u32>>,
    pub vrrp_garp_lower_prio_delay: Option<Spanned<u32>>,
    pub vrrp_garp_lower_prio_repeat: Option<Spanned<u32>>,
    pub vrrp_garp_master_refresh: Option<Spanned<u32>>,
    pub vrrp_garp_master_refresh_repeat: Option<Spanned<u32>>,
    pub vrrp_garp_interval: Option<Timer>,
    pub vrrp_gna_interval: Option<Timer>,
    pub vrrp_min_garp: Option<Spanned<bool>>,
    pub vrrp_garp_extra_if: Option<Spanned<super::vrrp::GarpExtraIf>>,
    pub vrrp_lower_prio_no_advert: Option<Spanned<bool>>,
    pub vrrp_higher_prio_send_advert: Option<Spanned<bool>>,
    /// FIFO lines on instance priority changes, for every instance.
    pub vrrp_notify_priority_changes: Option<Spanned<bool>>,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_strict: bool,
    pub vrrp_priority: Option<Spanned<i8>>,
    pub checker_priority: Option<Spanned<i8>>,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_timeouts: Option<LvsTimeouts>,
    pub lvs_flush: bool,
    pub notify_fifo: NotifyFifo,
    pub vrrp_notify_fifo: NotifyFifo,
    pub lvs_notify_fifo: NotifyFifo,
    /// `dynamic_interfaces [allow_if_changes]`: `Some(true)` with the option.
    pub dynamic_interfaces: Option<bool>,
    pub random_seed: Option<Spanned<u32>>,
    /// `include_check [OPTIONS]`: the option words as written.
    pub include_check: Option<Vec<String>>,
    /// Recognised keywords lvstop keeps but does not act on.
    pub other: Vec<RawSetting>,
}

impl GlobalDefs {
    /// keepalived.conf(5): 224.0.0.18 (RFC 5798 §5.1.1.2).
    pub fn effective_mcast_group4(&self) -> IpAddr {
        self.vrrp_mcast_group4
            .map_or(IpAddr::from([224, 0, 0, 18]), |group| group.value)
    }

    /// keepalived.conf(5): ff02::12 (RFC 5798 §5.1.2.2).
    pub fn effective_mcast_group6(&self) -> IpAddr {
        self.vrrp_mcast_group6
            .map_or(IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]), |group| {
                group.value
            })
    }

    /// keepalived.conf(5) `vrrp_version`: default 2.
    pub fn effective_vrrp_version(&self) -> u8 {
        self.vrrp_version.map_or(2, |version| version.value)
    }

    /// keepalived.conf(5): second GARP burst 5 s after becoming master.
    pub fn effective_garp_master_delay(&self) -> Duration {
        Duration::from_secs(u64::from(
            self.vrrp_garp_master_delay.map_or(5, |delay| delay.value),
        ))
    }

    /// keepalived.conf(5): 5 GARPs per burst.
    pub fn effective_garp_master_repeat(&self) -> u32 {
        self.vrrp_garp_master_repeat
            .map_or(5, |repeat| repeat.value)
    }

    /// keepalived.conf(5): no refreshing by default.
    pub fn effective_garp_master_refresh(&self) -> Duration {
        Duration::from_secs(u64::from(
            self.vrrp_garp_master_refresh
                .map_or(0, |refresh| refresh.value),
        ))
    }

    /// keepalived's SMTP connect timeout defaults to 30 s.
    pub fn effective_smtp_connect_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(
            self.smtp_connect_timeout
                .map_or(30, |timeout| timeout.value),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_man_page() {
        let global = GlobalDefs::default();
        assert_eq!(global.effective_mcast_group4().to_string(), "224.0.0.18");
        assert_eq!(global.effective_mcast_group6().to_string(), "ff02::12");
        assert_eq!(global.effective_vrrp_version(), 2);
        assert_eq!(global.effective_garp_master_delay(), Duration::from_secs(5));
        assert_eq!(global.effective_garp_master_repeat(), 5);
        assert_eq!(global.effective_garp_master_refresh(), Duration::ZERO);
        assert_eq!(
            global.effective_smtp_connect_timeout(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn smtp_and_sync_daemon_ports_default() {
        let at = crate::config::source::Location::default();
        let smtp = SmtpServer {
            host: Spanned::new("mail".into(), at),
            port: None,
        };
        assert_eq!(smtp.effective_port(), 25);
        let sync = LvsSyncDaemon {
            interface: Spanned::new("eth0".into(), at),
            instance: None,
            id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        assert_eq!(sync.effective_port(), 8848);
    }
}
