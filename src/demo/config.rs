//! The demo's options and the two directors' keepalived.conf texts.
//!
//! The texts follow the reference deployment's configuration — `vrrp_instance
//! VI_1`, `virtual_router_id 51`, `advert_int 1`, PASS authentication, weight
//! 3 real servers under `wrr` — with what a loopback demo needs instead:
//!
//! - **Addresses** keep the reference deployment's last octets in 127.0.0.0/8:
//!   directors .80 (master) and .81 (backup), real servers .82 and .83, VIP
//!   .88.
//! - **VRRP** runs on an in-memory segment (`RunnerIo::Memory`): the
//!   runner treats every interface a configuration names as up and
//!   holding the director's segment address, and VIPs land in a
//!   `MemoryHost`, not on the host. So `interface demo0` names the segment,
//!   not a host interface; nothing needs to exist and nothing is touched.
//!   The director addresses are only identities on that segment.
//! - **`lvs_method NAT`** (the reference deployment's `lb_kind`): the
//!   userspace dataplane proxies whatever the method, and from the client's
//!   side that is NAT; the reference deployment's DR would be shown as `Route`
//!   while behaving like NAT.
//! - **No persistence**: every demo client comes from 127.0.0.1, so the
//!   reference deployment's `persistence_timeout 60` would pin all of them
//!   to one real server and hide the spread the first check looks for.
//! - **HTTP_GET instead of TCP_CHECK**, fast: `delay_loop 1`,
//!   `connect_timeout 1`, `retry 1`, `delay_before_retry 1`. A stopped
//!   web server refuses at once, so it is marked DOWN by the second failed
//!   attempt: within about 2 s (one delay_loop to the next check, one
//!   delay_before_retry to the retry).
//!
//! This module only writes text; loading it is the engine's business.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::load::LoadOptions;
use super::DemoError;

/// One built-in web real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerSpec {
    /// Shown in its page (`This is test <name>`); no spaces.
    pub name: String,
    pub addr: SocketAddr,
    /// The reference deployment's `weight 3`.
    pub weight: u32,
}

/// Which role a director's configuration gives it at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectorRole {
    Master,
    Backup,
}

/// One director of the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorSpec {
    /// `router_id` and the name the console shows.
    pub name: String,
    /// Its address on the in-memory VRRP segment.
    pub segment_address: IpAddr,
    pub priority: u8,
}

/// Everything `lvstop demo` can be told.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// The virtual IP (default 127.0.0.88).
    pub vip: IpAddr,
    /// The virtual service's port (default 8088: no root needed).
    pub port: u16,
    /// The web real servers (default rs1 127.0.0.82:8080, rs2
    /// 127.0.0.83:8080).
    pub real_servers: Vec<RealServerSpec>,
    /// Priority 150, `state MASTER` (default lvs-master, 127.0.0.80).
    pub master: DirectorSpec,
    /// Priority 100, `state BACKUP` (default lvs-backup, 127.0.0.81).
    pub backup: DirectorSpec,
    /// The name of the VRRP segment in both configurations.
    pub interface: String,
    pub virtual_router_id: u8,
    /// `lvs_sched`, the reference deployment's `lb_algo` (default `wrr`, as in
    /// the reference deployment; with equal weights it alternates like `rr`,
    /// and a changed weight shows at once).
    pub scheduler: String,
    pub load: LoadOptions,
}

impl Default for DemoOptions {
    fn default() -> Self {
        let lo = |last: u8| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
        let rs = |name: &str, last: u8| RealServerSpec {
            name: name.to_string(),
            addr: SocketAddr::new(lo(last), 8080),
            weight: 3,
        };
        DemoOptions {
            vip: lo(88),
            port: 8088,
            real_servers: vec![rs("rs1", 82), rs("rs2", 83)],
            master: DirectorSpec {
                name: "lvs-master".to_string(),
                segment_address: lo(80),
                priority: 150,
            },
            backup: DirectorSpec {
                name: "lvs-backup".to_string(),
                segment_address: lo(81),
                priority: 100,
            },
            interface: "demo0".to_string(),
            virtual_router_id: 51,
            scheduler: "wrr".to_string(),
            load: LoadOptions::default(),
        }
    }
}

/// One director's configuration, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorConfig {
    pub name: String,
    pub role: DirectorRole,
    /// What to pass as `RunnerIo::Memory { address, .. }`.
    pub segment_address: IpAddr,
    /// keepalived.conf text.
    pub text: String,
}

impl DemoOptions {
    /// The VIP and port clients use.
    pub fn virtual_service(&self) -> SocketAddr {
        SocketAddr::new(self.vip, self.port)
    }

    /// Refuses options the demo cannot honour: it stays on loopback, needs
    /// a real server, and gives every piece its own address.
    pub fn validate(&self) -> Result<(), DemoError> {
        let bad = |m: String| Err(DemoError::Options(m));
        if !self.vip.is_loopback() {
            return bad(format!("VIP '{}' is not a loopback address", self.vip));
        }
        if self.real_servers.is_empty() {
            return bad("at least one real server is needed".into());
        }
        for (i, rs) in self.real_servers.iter().enumerate() {
            if !rs.addr.ip().is_loopback() {
                return bad(format!("real server '{}' is not on loopback", rs.addr));
            }
            if rs.addr == self.virtual_service() {
                return bad(format!("real server '{}' is the virtual service", rs.addr));
            }
            if rs.name.is_empty() || !rs.name.chars().all(|c| c.is_ascii_graphic()) {
                return bad(format!(
                    "real server name '{}' must be printable ASCII without spaces",
                    rs.name
                ));
            }
            if self.real_servers[..i]
                .iter()
                .any(|o| o.addr == rs.addr || o.name == rs.name)
            {
                return bad(format!(
                    "real server '{}' ({}) is listed twice",
                    rs.name, rs.addr
                ));
            }
        }
        if self.master.segment_address == self.backup.segment_address {
            return bad("the two directors need different segment addresses".into());
        }
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic());
        if !word(&self.interface) || !word(&self.scheduler) {
            return bad("interface and scheduler must be single words".into());
        }
        if !word(&self.master.name) || !word(&self.backup.name) {
            return bad("director names must be single words".into());
        }
        if self.virtual_router_id == 0 {
            return bad("virtual_router_id must be 1-255".into());
        }
        Ok(())
    }

    /// The master's and the backup's keepalived.conf, in that order.
    pub fn director_configs(&self) -> Result<[DirectorConfig; 2], DemoError> {
        self.validate()?;
        let config = |spec: &DirectorSpec, role| DirectorConfig {
            name: spec.name.clone(),
            role,
            segment_address: spec.segment_address,
            text: self.render(spec, role),
        };
        Ok([
            config(&self.master, DirectorRole::Master),
            config(&self.backup, DirectorRole::Backup),
        ])
    }

    fn render(&self, director: &DirectorSpec, role: DirectorRole) -> String {
        let state = match role {
            DirectorRole::Master => "MASTER",
            DirectorRole::Backup => "BACKUP",
        };
        let mut text = String::new();
        // Writing to a String cannot fail; the results are ignored.
        let _ = write!(
            text,
            "! lvstop demo: director {name} ({state}), generated by `lvstop demo`.\n\
             ! VRRP runs on the in-memory segment '{interface}' (no host interface);\n\
             ! the virtual service is served by the userspace dataplane on loopback.\n\
             \n\
             global_defs {{\n\
             \x20   router_id {name}\n\
             }}\n\
             \n\
             vrrp_instance VI_1 {{\n\
             \x20   state {state}\n\
             \x20   interface {interface}\n\
             \x20   virtual_router_id {vrid}\n\
             \x20   priority {priority}\n\
             \x20   advert_int 1\n\
             \x20   authentication {{\n\
             \x20       auth_type PASS\n\
             \x20       auth_pass 1111\n\
             \x20   }}\n\
             \x20   virtual_ipaddress {{\n\
             \x20       {vip}\n\
             \x20   }}\n\
             }}\n\
             \n\
             virtual_server {vip} {port} {{\n\
             \x20   delay_loop 1\n\
             \x20   lvs_sched {scheduler}\n\
             \x20   lvs_method NAT\n\
             \x20   protocol TCP\n",
            name = director.name,
            interface = self.interface,
            vrid = self.virtual_router_id,
            priority = director.priority,
            vip = self.vip,
            port = self.port,
            scheduler = self.scheduler,
        );
        for rs in &self.real_servers {
            let _ = write!(
                text,
                "\n\
                 \x20   # {name}: answers \"This is test {name}\"\n\
                 \x20   real_server {ip} {port} {{\n\
                 \x20       weight {weight}\n\
                 \x20       HTTP_GET {{\n\
                 \x20           url {{\n\
                 \x20               path /\n\
                 \x20               status_code 200\n\
                 \x20           }}\n\
                 \x20           connect_timeout 1\n\
                 \x20           retry 1\n\
                 \x20           delay_before_retry 1\n\
                 \x20       }}\n\
                 \x20   }}\n",
                name = rs.name,
                ip = rs.addr.ip(),
                port = rs.addr.port(),
                weight = rs.weight,
            );
        }
        text.push_str("}\n");
        text
    }
}
