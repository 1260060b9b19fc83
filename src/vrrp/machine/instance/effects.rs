//! What an instance emits: adverts, VIP changes, gratuitous ARP / NA
//! requests, notify scripts and log lines, in keepalived's forms. Builds
//! actions only; never decides a transition.

use super::{Instance, PRIORITY_STOP};
use crate::vrrp::machine::{NoticeState, NotifyKind, NotifyTarget, ScriptCommand, VrrpAction};
use crate::vrrp::packet::{Advertisement, Auth, Version};

impl Instance {
    pub(super) fn send_advert(&mut self, priority: u8, out: &mut Vec<VrrpAction>) {
        self.stats.advert_sent += 1;
        if priority == PRIORITY_STOP {
            self.stats.pri_zero_sent += 1;
        }
        let auth = match self.config.version {
            Version::V2 => self.config.auth,
            Version::V3 => Auth::None,
        };
        // RFC 2402 §3.3.2: the sequence number grows by one per packet,
        // counting on from the last one sent or accepted.
        let ah_sequence = auth.ah_key().map(|_| {
            self.ah_sequence = self.ah_sequence.wrapping_add(1);
            self.ah_sequence
        });
        out.push(VrrpAction::SendAdvert {
            instance: self.config.name.clone(),
            interface: self.config.interface.clone(),
            source: self.config.unicast_src,
            destinations: self.config.destinations(),
            advert: Advertisement {
                version: self.config.version,
                vrid: self.config.vrid,
                priority,
                interval: self.config.interval_field(),
                auth,
                addresses: self.config.vips.iter().map(|vip| vip.address).collect(),
            },
            ah_sequence,
        });
    }

    pub(super) fn add_vips(&self, out: &mut Vec<VrrpAction>) {
        let vips: Vec<_> = self
            .config
            .vips
            .iter()
            .chain(&self.config.excluded_vips)
            .cloned()
            .collect();
        if !vips.is_empty() {
            out.push(VrrpAction::AddVips {
                instance: self.config.name.clone(),
                interface: self.config.interface.clone(),
                vips,
            });
        }
    }

    pub(super) fn remove_vips(&self, out: &mut Vec<VrrpAction>) {
        let vips: Vec<_> = self
            .config
            .vips
            .iter()
            .chain(&self.config.excluded_vips)
            .cloned()
            .collect();
        if !vips.is_empty() {
            out.push(VrrpAction::RemoveVips {
                instance: self.config.name.clone(),
                interface: self.config.interface.clone(),
                vips,
            });
        }
    }

    /// `repeat` announcements of every VIP and eVIP: keepalived 2.2.7
    /// goes round both lists (captured: VIP, eVIP, VIP, eVIP, …).
    pub(super) fn gratuitous(&self, repeat: u32, out: &mut Vec<VrrpAction>) {
        let addresses: Vec<_> = self
            .config
            .vips
            .iter()
            .chain(&self.config.excluded_vips)
            .map(|vip| vip.address)
            .collect();
        self.announce(addresses, repeat, out);
    }

    /// One `garp_extra_if` round: one announcement of each VIP and eVIP on
    /// an interface other than the instance's own (keepalived 2.2.7 with
    /// `garp_extra_if all 3` and a VIP `dev eth1`: one GARP for that VIP
    /// every 3 s after becoming MASTER, none for the instance interface's).
    pub(super) fn gratuitous_extra_if(&self, out: &mut Vec<VrrpAction>) {
        self.announce(self.extra_if_addresses(), 1, out);
    }

    /// The VIPs and eVIPs a `garp_extra_if` round announces.
    pub(super) fn extra_if_addresses(&self) -> Vec<std::net::IpAddr> {
        let own = self.config.interface.as_deref();
        self.config
            .vips
            .iter()
            .chain(&self.config.excluded_vips)
            .filter(|vip| vip.interface.as_deref().is_some_and(|dev| Some(dev) != own))
            .map(|vip| vip.address)
            .collect()
    }

    fn announce(&self, addresses: Vec<std::net::IpAddr>, repeat: u32, out: &mut Vec<VrrpAction>) {
        if repeat == 0 || addresses.is_empty() {
            return;
        }
        out.push(VrrpAction::SendGratuitous {
            instance: self.config.name.clone(),
            interface: self.config.interface.clone(),
            addresses,
            repeat,
        });
    }

    /// keepalived.conf(5): the state's own script (no arguments), then
    /// `notify` with `INSTANCE name state priority`, then the notice (FIFO
    /// line, e-mail alert). `notify_master_rx_lower_pri` runs its own
    /// script only; `notify` is for transitions.
    pub(super) fn notify(&self, kind: NotifyKind, out: &mut Vec<VrrpAction>) {
        let scripts = &self.config.notify;
        let (own, state) = match kind {
            NotifyKind::Master => (scripts.master.as_ref(), NoticeState::Master),
            NotifyKind::Backup => (scripts.backup.as_ref(), NoticeState::Backup),
            NotifyKind::Fault => (scripts.fault.as_ref(), NoticeState::Fault),
            NotifyKind::Stop => (scripts.stop.as_ref(), NoticeState::Stop),
            NotifyKind::DeletedAsFault => (None, NoticeState::Fault),
            NotifyKind::Deleted => (
                scripts.deleted.as_ref().and_then(Option::as_ref),
                NoticeState::Deleted,
            ),
            NotifyKind::MasterRxLowerPri => (
                scripts.master_rx_lower_pri.as_ref(),
                NoticeState::MasterRxLowerPri,
            ),
            NotifyKind::Any => return,
        };
        if let Some(script) = own {
            out.push(VrrpAction::RunNotify {
                target: NotifyTarget::Instance,
                name: self.config.name.clone(),
                kind,
                command: ScriptCommand::from(script),
            });
        }
        let transition = kind != NotifyKind::MasterRxLowerPri;
        if let Some(script) = scripts.any.as_ref().filter(|_| transition) {
            let mut command = ScriptCommand::from(script);
            command.argv.extend([
                "INSTANCE".to_string(),
                self.config.name.clone(),
                state.keyword().to_string(),
                self.effective_priority.to_string(),
            ]);
            out.push(VrrpAction::RunNotify {
                target: NotifyTarget::Instance,
                name: self.config.name.clone(),
                kind: NotifyKind::Any,
                command,
            });
        }
        self.notice(state, out);
    }

    /// The FIFO line, and an e-mail alert with `smtp_alert`. keepalived
    /// 2.2.7 mails MASTER, BACKUP, FAULT and DELETED, never STOP or the
    /// FIFO-only states (recorded: tests/fixtures/notify/keepalived-vrrp).
    pub(super) fn notice(&self, state: NoticeState, out: &mut Vec<VrrpAction>) {
        let mailed = matches!(
            state,
            NoticeState::Master | NoticeState::Backup | NoticeState::Fault | NoticeState::Deleted
        );
        out.push(VrrpAction::Notice {
            target: NotifyTarget::Instance,
            name: self.config.name.clone(),
            state,
            priority: self.effective_priority,
            alert: mailed && self.config.notify.smtp_alert,
        });
    }

    pub(super) fn log(&self, line: String, out: &mut Vec<VrrpAction>) {
        out.push(VrrpAction::Log {
            line: format!("({}) {line}", self.config.name),
        });
    }
}
