//! The one thing lvstop takes from keepalived's VRRP data dump
//! (`/tmp/keepalived.data`, written by the VRRP process on SIGUSR1): the
//! address of the master each instance last heard (`Master router = IP`),
//! which the JSON dump lacks.
//!
//! keepalived prints `Master router` for every backup but fills it later
//! than the state: keepalived 2.2.7 printed `ff02::12` (the IPv6 VRRP
//! group) for an IPv4 backup whose JSON already gave the master's
//! priority, and the master's address a few seconds later. An address is
//! therefore taken only when it could be a master's source (unicast,
//! specified) and the entry's `Master priority` is not 0 (a master was
//! heard); otherwise the master stays unknown.
//!
//! The dump is debugging text whose format keepalived does not promise;
//! every line but `VRRP Instance`, `Master router` and `Master priority` is
//! skipped, and an address that does not parse is left out.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// Instance name → master address, for the instances whose entry names
/// one (a backup that has heard a master).
pub fn master_addresses(text: &str) -> BTreeMap<String, IpAddr> {
    let mut masters = BTreeMap::new();
    let mut instance: Option<&str> = None;
    let mut address: Option<IpAddr> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("VRRP Instance = ") {
            instance = Some(name.trim());
            address = None;
        } else if line.starts_with("------<") {
            instance = None;
        } else if let Some(text) = line.strip_prefix("Master router = ") {
            address = text.trim().parse().ok().filter(could_be_a_master);
        } else if let Some(priority) = line.strip_prefix("Master priority = ") {
            let heard = priority.trim().parse::<u32>().is_ok_and(|p| p != 0);
            if let (Some(name), Some(address), true) = (instance, address, heard) {
                masters.insert(name.to_string(), address);
            }
        }
    }
    masters
}

/// A VRRP advert's source is a unicast address of the sender.
fn could_be_a_master(address: &IpAddr) -> bool {
    !(address.is_multicast() || address.is_unspecified() || address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keepalived-dumps"
    );

    #[test]
    fn only_a_backup_that_heard_a_master_names_one() {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/vrrp-backup-and-master.data")).unwrap();
        let masters = master_addresses(&text);
        assert_eq!(masters.len(), 1, "{masters:?}");
        assert_eq!(masters["VI_1"], "198.51.100.2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_backup_that_heard_no_master_names_none() {
        let text = " VRRP Instance = VI_1\n   State = BACKUP\n   Master router = ff02::12\n   Master priority = 0\n";
        assert!(master_addresses(text).is_empty());
        // Recorded from keepalived 2.2.7: a backup that never was master.
        let text = " VRRP Instance = VI_1\n   State = BACKUP\n   Master router = ff02::12\n   Master priority = 200\n";
        assert!(master_addresses(text).is_empty());
    }

    #[test]
    fn garbage_and_bad_addresses_are_skipped() {
        let text = "junk\n VRRP Instance = VI_1\n   Master router = not-an-ip\n   Master priority = 9\n\u{0}\u{1}\n VRRP Instance = VI_2\n   Master router = 198.51.100.9\n   Master priority = 200\n";
        let masters = master_addresses(text);
        assert_eq!(masters.len(), 1);
        assert_eq!(masters["VI_2"], "198.51.100.9".parse::<IpAddr>().unwrap());
    }
}
