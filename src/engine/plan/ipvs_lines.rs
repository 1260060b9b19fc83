//! One IPVS operation as the `ipvsadm` command line that would do it
//! (`-a -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 1`), for plans an
//! operator reads before saying yes. Additions reuse `ipvsadm -S`'s
//! rendering so the words match `lvstop --once -S` exactly. Text only.

use std::net::SocketAddr;

use crate::dataplane::Operation;
use crate::ipvs::format;
use crate::ipvs::model::{
    Dest, DestConfig, Info, Origin, Service, ServiceConfig, ServiceKey, Table,
};

pub use crate::ipvs::format::service_switch;

/// The `-S` lines of a table holding `config` and `dests`.
fn saved(config: ServiceConfig, dests: &[DestConfig]) -> Vec<String> {
    let mut service = Service::new(config);
    service.dests = dests.iter().map(|d| Dest::new(*d)).collect();
    let table = Table {
        origin: Origin::Userspace,
        info: Info::KERNEL_DEFAULT,
        services: vec![service],
    };
    let mut out = String::new();
    format::save(&table, true, &mut out);
    out.lines().map(str::to_string).collect()
}

fn service_line(verb: &str, config: &ServiceConfig) -> String {
    let line = saved(config.clone(), &[])
        .into_iter()
        .next()
        .unwrap_or_default();
    match line.strip_prefix("-A") {
        Some(rest) => format!("{verb}{rest}"),
        None => format!("{verb} {}", service_switch(config.key)),
    }
}

fn dest_line(verb: &str, service: ServiceKey, dest: &DestConfig) -> String {
    let lines = saved(
        ServiceConfig::new(service, "wlc"),
        std::slice::from_ref(dest),
    );
    let mut line = match lines.get(1).and_then(|l| l.strip_prefix("-a")) {
        Some(rest) => format!("{verb}{rest}"),
        None => format!(
            "{verb} {} -r {}",
            service_switch(service),
            SocketAddr::new(dest.key.addr, dest.key.port)
        ),
    };
    // `-S` leaves thresholds out; a plan must not.
    if dest.upper_threshold != 0 {
        line.push_str(&format!(" -x {}", dest.upper_threshold));
    }
    if dest.lower_threshold != 0 {
        line.push_str(&format!(" -y {}", dest.lower_threshold));
    }
    line
}

/// The ipvsadm command line of `operation`.
pub fn line(operation: &Operation) -> String {
    match operation {
        Operation::AddService(config) => service_line("-A", config),
        Operation::EditService(config) => service_line("-E", config),
        Operation::DeleteService(key) => format!("-D {}", service_switch(*key)),
        Operation::AddDest { service, dest } => dest_line("-a", *service, dest),
        Operation::EditDest { service, dest } => dest_line("-e", *service, dest),
        Operation::DeleteDest { service, dest } => format!(
            "-d {} -r {}",
            service_switch(*service),
            SocketAddr::new(dest.addr, dest.port)
        ),
        Operation::Zero(None) => "-Z".to_string(),
        Operation::Zero(Some(key)) => format!("-Z {}", service_switch(*key)),
        Operation::SetTimeouts(t) => format!("--set {} {} {}", t.tcp, t.tcp_fin, t.udp),
        Operation::StartDaemon(d) => format!(
            "--start-daemon {} --mcast-interface {} --syncid {}",
            daemon_role(d.state),
            d.mcast_ifn,
            d.syncid
        ),
        Operation::StopDaemon(state) => format!("--stop-daemon {}", daemon_role(*state)),
        Operation::Flush => "-C".to_string(),
    }
}

fn daemon_role(state: crate::ipvs::model::DaemonState) -> &'static str {
    match state {
        crate::ipvs::model::DaemonState::Master => "master",
        crate::ipvs::model::DaemonState::Backup => "backup",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ipvs::model::Forward;

    #[test]
    fn operations_read_like_ipvsadm_commands() {
        let key = ServiceKey::tcp("198.51.100.88:80".parse().unwrap());
        let dest = DestConfig::new("198.51.100.82:80".parse().unwrap(), Forward::Route, 1);
        assert_eq!(
            line(&Operation::AddDest { service: key, dest }),
            "-a -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 1"
        );
        assert_eq!(
            line(&Operation::AddService(
                ServiceConfig::new(key, "wrr").persistent(60)
            )),
            "-A -t 198.51.100.88:80 -s wrr -p 60"
        );
        assert_eq!(
            line(&Operation::DeleteDest {
                service: key,
                dest: dest.key
            }),
            "-d -t 198.51.100.88:80 -r 198.51.100.82:80"
        );
        let mut heavier = dest;
        heavier.weight = 3;
        assert_eq!(
            line(&Operation::EditDest {
                service: key,
                dest: heavier
            }),
            "-e -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 3"
        );
        assert_eq!(
            line(&Operation::DeleteService(key)),
            "-D -t 198.51.100.88:80"
        );
    }
}
