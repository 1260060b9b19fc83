//! Persistence templates (`IP_VS_CONN_F_TEMPLATE`): one per client network
//! (the client address masked with the service's persistence netmask),
//! pointing at the destination its first connection was scheduled to.
//!
//! Kernel behaviour reproduced:
//! - a template lives while connections it controls exist (`n_control`),
//!   and expires `timeout` seconds after the last of them is gone (the
//!   connection entry, TIME_WAIT emulation included) or after its last use;
//! - it counts as its destination's PersistConn;
//! - a template to a destination quiesced to weight 0 (or overloaded) is
//!   still used: the kernel only drops it when `expire_quiescent_template`
//!   is set, and its default is off. A template to a removed destination
//!   is dropped on use and the client is scheduled afresh
//!   (`ip_vs_check_template`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::ipvs::model::Connection;
use crate::ipvs::sched::Packet;

use super::table::ServiceEntry;

#[derive(Debug)]
pub(super) struct Template {
    pub id: u64,
    pub dest: u64,
    pub dest_addr: SocketAddr,
    /// Connections this template controls.
    pub controlled: u32,
    /// When the template expires once it controls nothing.
    pub deadline: Instant,
}

#[derive(Debug, Default)]
pub(super) struct Templates {
    map: HashMap<IpAddr, Template>,
}

impl Templates {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get_mut(&mut self, key: &IpAddr) -> Option<&mut Template> {
        self.map.get_mut(key)
    }
}

fn expired(template: &Template, now: Instant) -> bool {
    template.controlled == 0 && template.deadline <= now
}

impl ServiceEntry {
    fn persistence_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.service.config.timeout))
    }

    /// Pick the destination for a new connection: the client's template
    /// when the service is persistent and the template is usable, else the
    /// scheduler. Returns the index into `service.dests` and the template
    /// that will control the connection.
    pub fn select_dest(
        &mut self,
        packet: &Packet,
        now: Instant,
        elapsed: Duration,
        new_id: &mut dyn FnMut() -> u64,
    ) -> Option<(usize, Option<IpAddr>)> {
        if !self.service.config.flags.persistent() {
            let index = self
                .scheduler
                .schedule(&self.service.dests, packet, elapsed)
                .ok()?;
            return Some((index, None));
        }
        let key = self.service.config.persistence_key(packet.client.ip());
        let timeout = self.persistence_timeout();
        if let Some(template) = self.templates.map.get_mut(&key) {
            let live = self.slots.iter().position(|s| s.id == template.dest);
            match live {
                Some(index) if !expired(template, now) => {
                    template.deadline = now + timeout;
                    return Some((index, Some(key)));
                }
                _ => self.drop_template(key),
            }
        }
        let index = self
            .scheduler
            .schedule(&self.service.dests, packet, elapsed)
            .ok()?;
        let dest = self.service.dests.get_mut(index)?;
        dest.template_bound();
        let dest_addr = self.upstream_addr(&self.service.dests[index]);
        self.templates.map.insert(
            key,
            Template {
                id: new_id(),
                dest: self.slots[index].id,
                dest_addr,
                controlled: 0,
                deadline: now + timeout,
            },
        );
        Some((index, Some(key)))
    }

    fn drop_template(&mut self, key: IpAddr) {
        if let Some(template) = self.templates.map.remove(&key) {
            if let Some(dest) = self.dest_mut(template.dest) {
                dest.template_unbound();
            }
            self.prune_trash();
        }
    }

    /// A controlled connection is gone: start the template's countdown
    /// when it was the last one.
    pub fn release_template(&mut self, key: IpAddr, template_id: u64, now: Instant) {
        let timeout = self.persistence_timeout();
        if let Some(template) = self.templates.map.get_mut(&key) {
            if template.id == template_id {
                template.controlled = template.controlled.saturating_sub(1);
                if template.controlled == 0 {
                    template.deadline = now + timeout;
                }
            }
        }
    }

    /// Drop every template that has expired.
    pub fn expire_templates(&mut self, now: Instant) {
        if self.templates.is_empty() {
            return;
        }
        let gone: Vec<IpAddr> = self
            .templates
            .map
            .iter()
            .filter(|(_, t)| expired(t, now))
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            self.drop_template(key);
        }
    }

    /// Templates as `/proc/net/ip_vs_conn` lists them: client port 0,
    /// state `NONE`.
    pub fn list_templates(&self, now: Instant, out: &mut Vec<Connection>) {
        let Some(vaddr) = self.service.config.key.socket_addr() else {
            return;
        };
        let protocol = match self.service.config.key {
            crate::ipvs::model::ServiceKey::Inet { protocol, .. } => protocol.as_str(),
            crate::ipvs::model::ServiceKey::Fwmark { .. } => "IP",
        };
        for (key, template) in &self.templates.map {
            let expires = if template.controlled > 0 {
                self.service.config.timeout
            } else {
                template.deadline.saturating_duration_since(now).as_secs() as u32
            };
            out.push(Connection {
                protocol: protocol.into(),
                client: SocketAddr::new(*key, 0),
                virtual_addr: vaddr,
                dest: template.dest_addr,
                state: "NONE".into(),
                expires,
                template: true,
                pe_name: None,
                pe_data: None,
            });
        }
    }
}
