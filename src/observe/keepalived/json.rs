//! Parsing keepalived's JSON dump (`/tmp/keepalived.json`, written by the
//! VRRP process on `keepalived --signum=JSON`) into [`KeepalivedInstance`]s.
//!
//! The dump is an array of `{"data": {...}, "stats": {...}}`, one per
//! instance. Fields are read one by one and a missing or oddly typed field
//! becomes `None`, so a keepalived that adds, drops or retypes a key still
//! yields every instance. Only a dump that is not JSON, not an array, or
//! an instance without a name is an error. `auth_data` (the VRRP
//! password) is never read.

use std::path::Path;

use serde_json::{Map, Value};

use super::error::DumpError;
use super::types::{KeepalivedInstance, KeepalivedVip, KeepalivedVrrpState, KeepalivedVrrpStats};

/// Parses the whole dump; `path` only names it in errors.
pub fn parse_instances(text: &str, path: &Path) -> Result<Vec<KeepalivedInstance>, DumpError> {
    let value: Value = serde_json::from_str(text).map_err(|e| DumpError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let shape = |message: String| DumpError::JsonShape {
        path: path.to_path_buf(),
        message,
    };
    let Value::Array(entries) = value else {
        return Err(shape("the dump is not a JSON array of instances".into()));
    };
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let data = entry
                .get("data")
                .and_then(Value::as_object)
                .ok_or_else(|| shape(format!("instance {} has no \"data\" object", index + 1)))?;
            let name = data
                .get("iname")
                .and_then(Value::as_str)
                .ok_or_else(|| shape(format!("instance {} has no \"iname\"", index + 1)))?;
            let stats = entry.get("stats").and_then(Value::as_object);
            Ok(instance(name, data, stats))
        })
        .collect()
}

fn instance(
    name: &str,
    data: &Map<String, Value>,
    stats: Option<&Map<String, Value>>,
) -> KeepalivedInstance {
    let uint = |key: &str| data.get(key).and_then(Value::as_u64);
    let small = |key: &str| uint(key).and_then(|n| u8::try_from(n).ok());
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let state = |key: &str| {
        data.get(key)
            .and_then(Value::as_i64)
            .map(KeepalivedVrrpState::from_number)
    };
    let strings = |key: &str| -> Vec<String> {
        data.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    KeepalivedInstance {
        name: name.to_string(),
        state: state("state"),
        wanted_state: state("wantstate"),
        vrid: small("vrid"),
        interface: text("ifp_ifname"),
        vmac_interface: text("vmac_ifname"),
        base_priority: small("base_priority"),
        effective_priority: small("effective_priority"),
        // keepalived writes 0 until it hears another master.
        master_priority: small("master_priority").filter(|&p| p != 0),
        master_address: None,
        vips: strings("vips").iter().map(|line| vip(line)).collect(),
        track_interfaces: strings("track_ifp"),
        vrrp_version: small("version"),
        advert_interval_secs: data.get("adver_int").and_then(Value::as_f64),
        preempt: flag(data.get("nopreempt")).map(|nopreempt| !nopreempt),
        last_transition_unix_ms: data
            .get("last_transition")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| (s * 1000.0) as u64),
        stats: stats.map(vrrp_stats).unwrap_or_default(),
    }
}

/// keepalived writes some flags as `true`/`false` and others as 0/1.
fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        _ => None,
    }
}

fn vip(line: &str) -> KeepalivedVip {
    let words: Vec<&str> = line.split_whitespace().collect();
    let device = words
        .windows(2)
        .find(|pair| pair[0] == "dev")
        .map(|pair| pair[1].to_string());
    KeepalivedVip {
        address: words.first().map(|w| w.to_string()).unwrap_or_default(),
        device,
        installed: words.last() == Some(&"set"),
        text: line.to_string(),
    }
}

fn vrrp_stats(stats: &Map<String, Value>) -> KeepalivedVrrpStats {
    let count = |key: &str| stats.get(key).and_then(Value::as_u64);
    KeepalivedVrrpStats {
        adverts_received: count("advert_rcvd"),
        adverts_sent: count("advert_sent"),
        became_master: count("become_master"),
        released_master: count("release_master"),
        priority_zero_received: count("pri_zero_rcvd"),
        priority_zero_sent: count("pri_zero_sent"),
        auth_failures: count("auth_failure"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keepalived-dumps"
    );

    fn fixture(name: &str) -> Vec<KeepalivedInstance> {
        let path = Path::new(FIXTURES).join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        parse_instances(&text, &path).unwrap()
    }

    #[test]
    fn a_backup_and_a_master_with_a_tracked_interface_down() {
        let instances = fixture("vrrp-backup-and-master.json");
        let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["VI_1", "VI_2"]);
        let vi1 = &instances[0];
        assert_eq!(vi1.state, Some(KeepalivedVrrpState::Backup));
        assert_eq!(vi1.vrid, Some(51));
        assert_eq!(vi1.interface.as_deref(), Some("vka0"));
        assert_eq!(vi1.vmac_interface, None);
        assert_eq!(
            (vi1.base_priority, vi1.effective_priority),
            (Some(150), Some(150))
        );
        assert_eq!(vi1.master_priority, Some(200));
        assert_eq!(vi1.vips[0].address, "198.51.100.100");
        assert_eq!(vi1.vips[0].device.as_deref(), Some("vka0"));
        assert!(!vi1.vips[0].installed, "a backup holds no VIP");
        assert_eq!(vi1.preempt, Some(true));
        assert_eq!(vi1.vrrp_version, Some(2));
        let vi2 = &instances[1];
        assert_eq!(vi2.state, Some(KeepalivedVrrpState::Master));
        assert_eq!(
            (vi2.base_priority, vi2.effective_priority),
            (Some(100), Some(70))
        );
        assert_eq!(
            vi2.master_priority, None,
            "keepalived's 0: no other master heard"
        );
        assert!(vi2.vips.iter().all(|v| v.installed));
        assert_eq!(vi2.track_interfaces, ["vka1"]);
    }

    #[test]
    fn every_json_fixture_parses() {
        for (name, state) in [
            ("vrrp-two-masters.json", KeepalivedVrrpState::Master),
            ("vrrp-fault.json", KeepalivedVrrpState::Fault),
            ("checker-dr-wrr.json", KeepalivedVrrpState::Master),
        ] {
            let instances = fixture(name);
            assert!(!instances.is_empty(), "{name}");
            assert!(
                instances.iter().all(|i| i.state == Some(state)),
                "{name}: {instances:?}"
            );
            assert!(
                instances.iter().all(|i| i.stats.adverts_sent.is_some()),
                "{name}"
            );
        }
    }

    #[test]
    fn the_vrrp_password_never_leaves_the_dump() {
        let text =
            std::fs::read_to_string(Path::new(FIXTURES).join("vrrp-two-masters.json")).unwrap();
        assert!(
            text.contains("\"auth_data\":\"1111\""),
            "the fixture has a password"
        );
        let parsed =
            serde_json::to_string(&parse_instances(&text, Path::new("x")).unwrap()).unwrap();
        assert!(!parsed.contains("1111"), "{parsed}");
    }

    #[test]
    fn a_truncated_dump_is_an_error_with_its_position() {
        let text = std::fs::read_to_string(Path::new(FIXTURES).join("vrrp-fault.json")).unwrap();
        let cut = &text[..text.len() / 2];
        match parse_instances(cut, Path::new("/tmp/keepalived.json")) {
            Err(DumpError::Json { line, column, .. }) => {
                assert_eq!((line, column), (1, cut.len()))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_fields_are_unknown_and_a_missing_name_is_an_error() {
        let sparse = r#"[{"data": {"iname": "VI_9", "state": 7, "vrid": "x"}}]"#;
        let instances = parse_instances(sparse, Path::new("x")).unwrap();
        assert_eq!(instances[0].state, Some(KeepalivedVrrpState::Other(7)));
        assert_eq!(instances[0].vrid, None);
        assert_eq!(instances[0].base_priority, None);
        assert_eq!(instances[0].stats, KeepalivedVrrpStats::default());
        let err = parse_instances(r#"[{"data": {"vrid": 1}}]"#, Path::new("x")).unwrap_err();
        assert!(
            err.to_string().contains("instance 1 has no \"iname\""),
            "{err}"
        );
        let err = parse_instances(r#"{"data": 1}"#, Path::new("x")).unwrap_err();
        assert!(matches!(err, DumpError::JsonShape { .. }), "{err}");
    }
}
