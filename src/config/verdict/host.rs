//! The host as keepalived sees it when testing a configuration: which
//! network interfaces exist, which users and groups, which script files.

use std::path::{Path, PathBuf};

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::Config;

/// What keepalived asks of the machine it tests a configuration on.
pub trait Host {
    fn interface_exists(&self, name: &str) -> bool;
    fn user_exists(&self, name: &str) -> bool;
    fn group_exists(&self, name: &str) -> bool;
    /// The file a script's program resolves to (an absolute or relative
    /// path as written, else the first match on the search path).
    fn find_program(&self, program: &str) -> Option<PathBuf>;
}

/// The machine lvstop runs on.
#[derive(Debug, Default)]
pub struct LiveHost;

/// keepalived runs scripts with this search path when a program is named
/// without a directory.
const SEARCH_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Host for LiveHost {
    fn interface_exists(&self, name: &str) -> bool {
        !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
    }

    fn user_exists(&self, name: &str) -> bool {
        matches!(nix::unistd::User::from_name(name), Ok(Some(_)))
    }

    fn group_exists(&self, name: &str) -> bool {
        matches!(nix::unistd::Group::from_name(name), Ok(Some(_)))
    }

    fn find_program(&self, program: &str) -> Option<PathBuf> {
        if program.contains('/') {
            let path = PathBuf::from(program);
            return path.is_file().then_some(path);
        }
        std::env::var("PATH")
            .unwrap_or_else(|_| SEARCH_PATH.to_string())
            .split(':')
            .map(|dir| Path::new(dir).join(program))
            .find(|path| path.is_file())
    }
}

const LOOPBACK: &str = "lo";

/// keepalived refuses a VRRP instance on the loopback interface, on any
/// host: a configuration error (which script security still outranks).
pub fn loopback(config: &Config, diagnostics: &mut Diagnostics) {
    for instance in &config.vrrp.instances {
        if let Some(interface) = instance.interface.as_ref().filter(|i| i.value == LOOPBACK) {
            diagnostics.push(
                Diagnostic::warning(
                    "loopback-interface",
                    "keepalived refuses a VRRP instance on the loopback interface 'lo'",
                )
                .at(interface.at),
            );
        }
    }
}

/// keepalived.conf(5): an instance's `interface`, its tracked interfaces,
/// a VIP's or route's `dev` and a static address's or route's `dev` must
/// exist when the configuration is read, unless
/// `dynamic_interfaces` allows them to appear later; a VRRP instance may
/// not use the loopback interface.
pub fn interfaces(config: &Config, host: &dyn Host, diagnostics: &mut Diagnostics) {
    if config.global.dynamic_interfaces.is_some() {
        return;
    }
    let mut missing = |name: &str, what: &str, at| {
        if !host.interface_exists(name) {
            diagnostics.push(
                Diagnostic::warning(
                    super::HOST_INTERFACE,
                    format!("{what} '{name}' does not exist on this host (keepalived refuses it; use --offline to check for another host)"),
                )
                .at(at),
            );
        }
    };
    for instance in &config.vrrp.instances {
        if let Some(interface) = &instance.interface {
            if interface.value != LOOPBACK {
                missing(&interface.value, "interface", interface.at);
            }
        }
        for tracked in &instance.track_interfaces {
            missing(&tracked.name.value, "tracked interface", tracked.name.at);
        }
        for vip in &instance.virtual_addresses {
            if let Some(dev) = &vip.dev {
                missing(&dev.value, "VIP interface", dev.at);
            }
        }
        for route in &instance.virtual_routes {
            if let Some(dev) = &route.dev {
                missing(dev, "route interface", route.destination.at);
            }
        }
    }
    // The static addresses and routes are set by the VRRP process too,
    // whether or not it runs an instance (measured on keepalived 2.2.7).
    for address in &config.vrrp.static_addresses {
        if let Some(dev) = &address.dev {
            missing(&dev.value, "static address interface", dev.at);
        }
    }
    for route in &config.vrrp.static_routes {
        if let Some(dev) = &route.dev {
            missing(dev, "static route interface", route.destination.at);
        }
    }
}
