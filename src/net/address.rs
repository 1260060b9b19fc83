//! Interface addresses over rtnetlink: add, remove and list an address on an
//! interface named by the caller, with prefix, broadcast, scope and label.
//!
//! This module owns the translation between [`AddressSpec`] and the
//! kernel's `RTM_NEWADDR`/`RTM_DELADDR` messages and the mapping of kernel
//! errors to operator-readable [`AddressError`]s. It never decides *which*
//! addresses should exist (the realserver command and VRRP do) and it never
//! shells out to `ip`. Operations are idempotent: adding an address that is
//! already there is [`AddOutcome::AlreadyPresent`], removing one that is not
//! is [`RemoveOutcome::Absent`].

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};

use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::Handle;

/// Longest interface name or label the kernel accepts (IFNAMSIZ − 1).
pub const IFNAMSIZ_MAX: usize = 15;

/// Address scope, as `ip addr ... scope` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Valid only on this host (`scope host`).
    Host,
    /// Valid only on this link (`scope link`).
    Link,
    /// Valid everywhere (`scope global`, the kernel's "universe").
    Global,
}

impl Scope {
    fn to_kernel(self) -> AddressScope {
        match self {
            Self::Host => AddressScope::Host,
            Self::Link => AddressScope::Link,
            Self::Global => AddressScope::Universe,
        }
    }

    fn from_kernel(scope: AddressScope) -> Option<Self> {
        match scope {
            AddressScope::Host => Some(Self::Host),
            AddressScope::Link => Some(Self::Link),
            AddressScope::Universe => Some(Self::Global),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Host => "host",
            Self::Link => "link",
            Self::Global => "global",
        })
    }
}

/// One address on one interface: what to add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSpec {
    /// Interface name, e.g. `lo` or `eth0`.
    pub ifname: String,
    /// The address itself.
    pub addr: IpAddr,
    /// Prefix length (≤ 32 for IPv4, ≤ 128 for IPv6).
    pub prefix_len: u8,
    /// IPv4 broadcast address; `None` sends none (the kernel then has none).
    pub broadcast: Option<Ipv4Addr>,
    /// Address scope.
    pub scope: Scope,
    /// IPv4 label such as `lo:0`; must start with the interface name.
    /// Ignored for IPv6, which has no labels.
    pub label: Option<String>,
}

impl AddressSpec {
    /// A host address (/32 or /128) with global scope and no label.
    pub fn host(ifname: &str, addr: IpAddr) -> Self {
        Self {
            ifname: ifname.to_string(),
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            scope: Scope::Global,
            label: None,
        }
    }

    /// Checks the parts the kernel would reject with an unhelpful EINVAL.
    pub fn validate(&self) -> Result<(), AddressError> {
        validate_ifname(&self.ifname)?;
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(AddressError::InvalidPrefix {
                addr: self.addr,
                prefix_len: self.prefix_len,
            });
        }
        if self.broadcast.is_some() && self.addr.is_ipv6() {
            return Err(AddressError::BroadcastOnIpv6 { addr: self.addr });
        }
        if let Some(label) = &self.label {
            if self.addr.is_ipv4() {
                validate_label(&self.ifname, label)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for AddressSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} on {}", self.addr, self.prefix_len, self.ifname)?;
        match &self.label {
            Some(label) if self.addr.is_ipv4() => write!(f, " (label {label})"),
            _ => Ok(()),
        }
    }
}

/// An address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The local address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Broadcast address (IPv4), when one is set.
    pub broadcast: Option<Ipv4Addr>,
    /// Scope; `None` for the rarely used site/nowhere scopes.
    pub scope: Option<Scope>,
    /// Label (IPv4), e.g. `lo` or `lo:0`.
    pub label: Option<String>,
}

/// What [`Addresses::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The address was added.
    Added,
    /// The address was already on the interface; nothing changed.
    AlreadyPresent,
}

/// What [`Addresses::remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The address was removed.
    Removed,
    /// The address was not on the interface; nothing changed.
    Absent,
}

/// Errors from the address API, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// The interface does not exist.
    #[error("no such interface '{0}'")]
    NoSuchInterface(String),
    /// The interface name cannot be one.
    #[error("'{0}' is not a valid interface name (1 to 15 bytes, no '/', ':' or whitespace)")]
    InvalidInterfaceName(String),
    /// The label breaks the kernel's rules.
    #[error("invalid label '{label}' for interface '{ifname}': {reason}")]
    InvalidLabel {
        /// Interface name.
        ifname: String,
        /// The label given.
        label: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Prefix length too long for the family.
    #[error("invalid prefix length /{prefix_len} for {addr}")]
    InvalidPrefix {
        /// The address.
        addr: IpAddr,
        /// The prefix length given.
        prefix_len: u8,
    },
    /// IPv6 has no broadcast.
    #[error("{addr} is IPv6, which has no broadcast address")]
    BroadcastOnIpv6 {
        /// The address.
        addr: IpAddr,
    },
    /// The caller lacks CAP_NET_ADMIN.
    #[error("permission denied changing addresses on '{0}': needs CAP_NET_ADMIN (run as root)")]
    PermissionDenied(String),
    /// The netlink socket could not be opened.
    #[error("cannot open a netlink route socket: {0}")]
    Connect(#[source] io::Error),
    /// Any other kernel refusal.
    #[error("cannot {action} on '{ifname}': {source}")]
    Kernel {
        /// What was attempted, e.g. "add 198.51.100.88/32".
        action: String,
        /// Interface name.
        ifname: String,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
}

/// Checks that an interface name is one the kernel could hold and that it
/// cannot escape a `/proc/sys` path.
pub fn validate_ifname(name: &str) -> Result<(), AddressError> {
    let ok = !name.is_empty()
        && name.len() <= IFNAMSIZ_MAX
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace());
    if ok {
        Ok(())
    } else {
        Err(AddressError::InvalidInterfaceName(name.to_string()))
    }
}

/// Checks an IPv4 label: the kernel requires it to start with the interface
/// name and to fit IFNAMSIZ.
pub fn validate_label(ifname: &str, label: &str) -> Result<(), AddressError> {
    let reason = if !label.starts_with(ifname) {
        Some("a label must start with the interface name (e.g. 'lo:0' on 'lo')")
    } else if label.len() > IFNAMSIZ_MAX {
        Some("a label is at most 15 bytes")
    } else if label
        .bytes()
        .any(|b| b == 0 || b == b'/' || b.is_ascii_whitespace())
    {
        Some("a label cannot contain '/', NUL or whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(AddressError::InvalidLabel {
            ifname: ifname.to_string(),
            label: label.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A connection to the kernel's routing netlink, for address operations.
///
/// The connection task runs on the current tokio runtime and stops when the
/// handle drops.
#[derive(Debug)]
pub struct Addresses {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Addresses {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Addresses {
    /// Opens a route netlink socket. Must be called inside a tokio runtime.
    pub fn connect() -> Result<Self, AddressError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(AddressError::Connect)?;
        let task = tokio::spawn(connection);
        Ok(Self { handle, task })
    }

    /// The index of the named interface.
    pub async fn ifindex(&self, ifname: &str) -> Result<u32, AddressError> {
        validate_ifname(ifname)?;
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(ifname.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(link)) => Ok(link.header.index),
            Ok(None) => Err(AddressError::NoSuchInterface(ifname.to_string())),
            Err(e) => Err(map_error(e, "look up the interface", ifname)),
        }
    }

    /// Lists the addresses of one interface, in kernel order.
    pub async fn list(&self, ifname: &str) -> Result<Vec<InterfaceAddress>, AddressError> {
        let index = self.ifindex(ifname).await?;
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(|e| map_error(e, "list addresses", ifname))?
        {
            if let Some(addr) = from_message(&msg) {
                out.push(addr);
            }
        }
        Ok(out)
    }

    /// The address matching `spec` (same address and prefix length) on its
    /// interface, if present.
    pub async fn find(&self, spec: &AddressSpec) -> Result<Option<InterfaceAddress>, AddressError> {
        let list = self.list(&spec.ifname).await?;
        Ok(list
            .into_iter()
            .find(|a| a.addr == spec.addr && a.prefix_len == spec.prefix_len))
    }

    /// Adds an address; Ok(AlreadyPresent) when the kernel already has it.
    pub async fn add(&self, spec: &AddressSpec) -> Result<AddOutcome, AddressError> {
        spec.validate()?;
        let index = self.ifindex(&spec.ifname).await?;
        let mut request = self.handle.address().add(index, spec.addr, spec.prefix_len);
        let msg = request.message_mut();
        msg.header.scope = spec.scope.to_kernel();
        // rtnetlink fills a broadcast for short IPv4 prefixes; the spec decides.
        msg.attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if let (Some(brd), IpAddr::V4(_)) = (spec.broadcast, spec.addr) {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let (Some(label), IpAddr::V4(_)) = (&spec.label, spec.addr) {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        match request.execute().await {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(e) => Err(map_error(
                e,
                &format!("add {}/{}", spec.addr, spec.prefix_len),
                &spec.ifname,
            )),
        }
    }

    /// Removes an address (matched by address and prefix length, whatever
    /// its label); Ok(Absent) when it is not there.
    pub async fn remove(&self, spec: &AddressSpec) -> Result<RemoveOutcome, AddressError> {
        spec.validate()?;
        let index = self.ifindex(&spec.ifname).await?;
        let mut msg = AddressMessage::default();
        msg.header.family = match spec.addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.index = index;
        msg.header.prefix_len = spec.prefix_len;
        msg.attributes.push(AddressAttribute::Local(spec.addr));
        msg.attributes.push(AddressAttribute::Address(spec.addr));
        match self.handle.address().del(msg).execute().await {
            Ok(()) => Ok(RemoveOutcome::Removed),
            Err(e) if errno(&e) == Some(libc::EADDRNOTAVAIL) => Ok(RemoveOutcome::Absent),
            Err(e) => Err(map_error(
                e,
                &format!("remove {}/{}", spec.addr, spec.prefix_len),
                &spec.ifname,
            )),
        }
    }
}

fn from_message(msg: &AddressMessage) -> Option<InterfaceAddress> {
    let mut local = None;
    let mut address = None;
    let mut broadcast = None;
    let mut label = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Broadcast(b) => broadcast = Some(*b),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on
    // point-to-point links and the only one given for IPv6.
    let addr = local.or(address)?;
    Some(InterfaceAddress {
        addr,
        prefix_len: msg.header.prefix_len,
        broadcast,
        scope: Scope::from_kernel(msg.header.scope),
        label,
    })
}

/// The positive errno of a netlink error reply, if that is what it is.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| -c.get()),
        _ => None,
    }
}

fn map_error(e: rtnetlink::Error, action: &str, ifname: &str) -> AddressError {
    match errno(&e) {
        Some(libc::ENODEV) => AddressError::NoSuchInterface(ifname.to_string()),
        Some(libc::EPERM) | Some(libc::EACCES) => {
            AddressError::PermissionDenied(ifname.to_string())
        }
        Some(code) => AddressError::Kernel {
            action: action.to_string(),
            ifname: ifname.to_string(),
            source: io::Error::from_raw_os_error(code),
        },
        None => AddressError::Kernel {
            action: action.to_string(),
            ifname: ifname.to_string(),
            source: io::Error::other(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_must_start_with_the_interface_name() {
        assert!(validate_label("lo", "lo:0").is_ok());
        let err = validate_label("lo", "eth0:0").unwrap_err().to_string();
        assert!(err.contains("must start with the interface name"), "{err}");
    }

    #[test]
    fn label_longer_than_15_bytes_is_refused() {
        let err = validate_label("lo", "lo:0123456789abc")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 15 bytes"), "{err}");
    }

    #[test]
    fn interface_names_cannot_escape_a_path() {
        for bad in [
            "",
            ".",
            "..",
            "../all",
            "a/b",
            "lo:0",
            "sixteen_bytes_xx",
            "a b",
        ] {
            assert!(validate_ifname(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["lo", "eth0", "all", "default", "veth-a.10"] {
            assert!(validate_ifname(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn spec_checks_prefix_and_broadcast_family() {
        let mut spec = AddressSpec::host("lo", "2001:db8::1".parse().unwrap());
        assert_eq!(spec.prefix_len, 128);
        spec.prefix_len = 129;
        assert!(matches!(
            spec.validate(),
            Err(AddressError::InvalidPrefix { .. })
        ));
        spec.prefix_len = 128;
        spec.broadcast = Some(Ipv4Addr::BROADCAST);
        assert!(matches!(
            spec.validate(),
            Err(AddressError::BroadcastOnIpv6 { .. })
        ));
    }

    #[test]
    fn display_names_address_interface_and_label() {
        let mut spec = AddressSpec::host("lo", "198.51.100.88".parse().unwrap());
        spec.label = Some("lo:0".into());
        assert_eq!(spec.to_string(), "198.51.100.88/32 on lo (label lo:0)");
    }
}
