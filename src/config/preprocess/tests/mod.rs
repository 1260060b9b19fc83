//! Behaviour of the whole preprocessor: what lines come out, and where
//! each token says it came from. Include tests live in [`include`].

use std::path::{Path, PathBuf};

use proptest::prelude::*;

mod include;

use super::*;
use crate::config::diagnostic::Severity;
use crate::config::source::{FileId, Location};

fn opts(id: &str) -> LoadOptions {
    LoadOptions {
        config_id: id.to_string(),
        random_seed: Some(7),
    }
}

fn load(text: &str, id: &str) -> (Loaded, Diagnostics) {
    let mut diags = Diagnostics::new();
    let loaded = load_str(
        Path::new("/etc/keepalived/keepalived.conf"),
        text,
        &opts(id),
        &mut diags,
    );
    (loaded, diags)
}

fn texts(loaded: &Loaded) -> Vec<String> {
    loaded
        .lines
        .iter()
        .map(|l| l.text.trim().to_string())
        .collect()
}

fn codes(diags: &Diagnostics) -> Vec<(&'static str, Severity)> {
    diags.iter().map(|d| (d.code, d.severity)).collect()
}

/// (file name, line, column) of `needle` in output line `index`.
fn where_is(loaded: &Loaded, index: usize, needle: &str) -> (String, u32, u32) {
    let line = &loaded.lines[index];
    let offset = line.text.find(needle).unwrap();
    let at = line.location_of(offset);
    let name = loaded
        .sources
        .path(at.file)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (name, at.line, at.column)
}

#[test]
fn plain_lines_pass_through_and_comments_go() {
    let (l, d) = load(
        "global_defs {\n\n  ! note\n  # note\n  router_id r1\n}\n",
        "main",
    );
    assert_eq!(texts(&l), ["global_defs {", "router_id r1", "}"]);
    assert_eq!(where_is(&l, 1, "r1"), ("keepalived.conf".into(), 5, 13));
    assert!(d.is_empty());
}

#[test]
fn continuation_joins_lines_and_keeps_their_columns() {
    let (l, d) = load("vrrp_instance VI_1 \\ ! c\n   {\nstate \"a\\\"\n", "main");
    assert_eq!(texts(&l), ["vrrp_instance VI_1    {", "state \"a\\\""]);
    assert_eq!(where_is(&l, 0, "{"), ("keepalived.conf".into(), 2, 4));
    assert_eq!(codes(&d), [("line-continuation", Severity::Warning)]);
}

#[test]
fn a_line_of_only_a_backslash_joins_cleanly() {
    let (l, _) = load("\\\n=\n", "main");
    assert_eq!(texts(&l), ["="]);
    assert_eq!(l.lines[0].segments.len(), 1);
    assert_eq!(where_is(&l, 0, "="), ("keepalived.conf".into(), 2, 1));
}

#[test]
fn conditionals_follow_the_config_id() {
    let text = "@main   router_id main_router\n@backup router_id backup_router\n\
                @^main 1.2.3.4\n@^backup 1.2.3.5\n@main\n@main$P=1\n";
    let (l, _) = load(text, "main");
    assert_eq!(texts(&l), ["router_id main_router", "1.2.3.5"]);
    assert_eq!(
        where_is(&l, 0, "router_id"),
        ("keepalived.conf".into(), 1, 9)
    );
    let (l, _) = load(text, "backup");
    assert_eq!(texts(&l), ["router_id backup_router", "1.2.3.4"]);
    let (l, _) = load(text, "other");
    assert_eq!(texts(&l), ["1.2.3.4", "1.2.3.5"]);
}

#[test]
fn parameters_expand_at_use_time() {
    let text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n\
                ${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n  ${ADDRESS_BASE}.100/32 x\n";
    let (l, d) = load(text, "main");
    assert_eq!(texts(&l), ["10.2.0.100/32", "10.2.10.100/32 x"]);
    // Expanded text points at the reference; what follows keeps its column.
    assert_eq!(where_is(&l, 1, "10.2"), ("keepalived.conf".into(), 5, 3));
    assert_eq!(where_is(&l, 1, ".100"), ("keepalived.conf".into(), 5, 18));
    assert_eq!(where_is(&l, 1, "x"), ("keepalived.conf".into(), 5, 26));
    assert!(d.is_empty());
}

#[test]
fn undefined_parameters_stay_and_redefinition_applies_later() {
    let text = "a ${UNDEF} $UNDEF\n$P=1\nb $P\n$P=\nc${P}d\n$Q = 3\n$P = 4\n";
    let (l, d) = load(text, "main");
    assert_eq!(
        texts(&l),
        ["a ${UNDEF} $UNDEF", "b 1", "cd", "$Q = 3", "= 4"]
    );
    assert!(d.is_empty());
}

#[test]
fn parameters_work_with_conditionals() {
    let text = "@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n\
                $IF_MAIN=@main\n$IF_MAIN weight 3\n";
    let (l, _) = load(text, "main");
    assert_eq!(texts(&l), ["priority 240", "weight 3"]);
    let (l, _) = load(text, "backup");
    assert_eq!(texts(&l), ["priority 200"]);
}

#[test]
fn multiline_definition_from_the_man_page() {
    let text = "$INSTANCE= \\\nvrrp_instance VI_${NUM} { \\\n    interface eth0.${NUM} \\\n\
                \x20   @high priority 130 \\\n    @low priority 120 \\\n    virtual_ipaddress { \\\n\
                \x20       10.0.${NUM}.254/24 \\\n    } \\\n}\n\n$NUM=0\n$INSTANCE\n\n$NUM=1\n  $INSTANCE\n";
    let (l, d) = load(text, "low");
    let expect = |n: u32| {
        vec![
            format!("vrrp_instance VI_{n} {{"),
            format!("interface eth0.{n}"),
            "priority 120".to_string(),
            "virtual_ipaddress {".to_string(),
            format!("10.0.{n}.254/24"),
            "}".to_string(),
            "}".to_string(),
        ]
    };
    let mut both = expect(0);
    both.extend(expect(1));
    assert_eq!(texts(&l), both);
    // Every generated token points at the `$INSTANCE` that produced it.
    assert_eq!(where_is(&l, 8, "eth0.1"), ("keepalived.conf".into(), 15, 3));
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn nested_multiline_definitions_from_the_man_page() {
    let text = r#"$RS= \
real_server 192.168.${VS_NUM}.${RS_NUM} 80 { \
    weight 1 \
    MISC_CHECK { \
        misc_path "${_PWD}/scripts/vs.sh RS_misc.${INST}.${VS_NUM}.${RS_NUM}.0" \
    } \
}
$VS= \
virtual_server 10.0.${VS_NUM}.4 80 { \
    quorum 2 \
    $RS_NUM=1 \
    $RS \
    $RS_NUM=2 \
    $RS \
}
$INST=i
$VS_NUM=0
$VS
$VS_NUM=1
$VS
"#;
    let (l, d) = load(text, "main");
    let servers: Vec<String> = texts(&l)
        .into_iter()
        .filter(|t| t.starts_with("real_server") || t.starts_with("virtual_server"))
        .collect();
    assert_eq!(
        servers,
        [
            "virtual_server 10.0.0.4 80 {",
            "real_server 192.168.0.1 80 {",
            "real_server 192.168.0.2 80 {",
            "virtual_server 10.0.1.4 80 {",
            "real_server 192.168.1.1 80 {",
            "real_server 192.168.1.2 80 {",
        ]
    );
    assert!(texts(&l)
        .contains(&"misc_path \"/etc/keepalived/scripts/vs.sh RS_misc.i.1.2.0\"".to_string()));
    assert_eq!(l.lines.len(), 2 * (3 + 2 * 6));
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn a_blank_line_ends_a_multiline_definition_like_keepalived() {
    let (l, _) = load("$M= \\\nfooA 1 \\\n\nfooB 2\n$M\n", "main");
    assert_eq!(texts(&l), ["fooB 2", "fooA 1"]);
}

#[test]
fn excluded_multiline_definitions_are_consumed() {
    let text = "@backup $M= \\\nx 1 \\\ny 2\n$M\n";
    let (l, _) = load(text, "main");
    assert_eq!(texts(&l), ["$M"]);
    let (l, _) = load(text, "backup");
    assert_eq!(texts(&l), ["x 1", "y 2"]);
}

#[test]
fn self_referencing_parameters_are_errors_not_hangs() {
    let (l, d) = load("$A=${A}x\nv ${A}\nnext\n", "main");
    assert_eq!(texts(&l), ["next"]);
    let err = d.iter().next().unwrap();
    assert_eq!(err.code, "param-recursion");
    assert_eq!(
        err.location,
        Some(Location::new(err.location.unwrap().file, 2, 3))
    );
    let (l, d) = load("$M= \\\na \\\n$M\n$M\n", "main");
    assert!(l.lines.len() <= MAX_INCLUDE_DEPTH * 4);
    assert!(codes(&d).contains(&("param-recursion", Severity::Error)));
    let (_, d) = load("$M= \\\n$M \\\n$M\n$M\n", "main");
    assert_eq!(
        codes(&d),
        [
            ("param-recursion", Severity::Error),
            ("expansion-limit", Severity::Error)
        ]
    );
}

#[test]
fn predefined_parameters() {
    std::env::set_var("LVSTOP_PREPROCESS_TEST", "from-env");
    let text = "r ${_RANDOM 5 5}\ni ${_INSTANCE}\np ${_PWD}\n\
                h \"${_HASH}${_BANG}\"\ne ${_ENV LVSTOP_PREPROCESS_TEST}.\nu ${_ENV LVSTOP_UNSET_VAR}.\n";
    let (l, d) = load(text, "main");
    assert_eq!(
        texts(&l),
        [
            "r 5",
            "i main",
            "p /etc/keepalived",
            "h \"#!\"",
            "e from-env.",
            "u ."
        ]
    );
    assert!(d.is_empty());
    let (l, d) = load("r ${_RANDOM 9 1}\n", "main");
    assert_eq!(texts(&l), ["r ${_RANDOM 9 1}"]);
    assert_eq!(codes(&d), [("param-syntax", Severity::Error)]);
}

#[test]
fn random_is_repeatable_with_a_seed() {
    let text = "a ${_RANDOM}\nb ${_RANDOM 1 1000000}\n";
    assert_eq!(texts(&load(text, "x").0), texts(&load(text, "x").0));
    let seeded = |seed_line: &str| {
        let mut diags = Diagnostics::new();
        let options = LoadOptions::with_config_id("x");
        let text = format!("{seed_line}\nv ${{_RANDOM 0 4294967295}}\n");
        texts(&load_str(Path::new("k.conf"), &text, &options, &mut diags))
    };
    assert_eq!(seeded("random_seed 42"), seeded("random_seed 42"));
    assert_ne!(seeded("random_seed 42"), seeded("random_seed 43"));
}

#[test]
fn seq_examples_from_the_man_page() {
    let (l, d) = load("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n", "main");
    assert_eq!(
        texts(&l),
        [
            "ip_address 10.0.0.1",
            "ip_address 10.0.1.1",
            "ip_address 10.0.2.1",
            "ip_address 10.0.3.1"
        ]
    );
    assert!(d.is_empty());
    assert_eq!(
        where_is(&l, 2, "ip_address"),
        ("keepalived.conf".into(), 1, 20)
    );
    assert_eq!(where_is(&l, 2, "2.1"), ("keepalived.conf".into(), 1, 36));
    let hex = [
        "ip_address fe80::20:90:1",
        "ip_address fe80::20:a0:1",
        "ip_address fe80::20:b0:1",
        "ip_address fe80::20:c0:1",
    ];
    let (l, _) = load(
        "~SEQx(SUBNET, 144, 16, 192) ip_address fe80::20:${SUBNET}:1\n",
        "m",
    );
    assert_eq!(texts(&l), hex);
    let (l, _) = load(
        "~SEQx(SUBNET, 0x90, 0x10, 0xc0) ip_address fe80::20:${SUBNET}:1\n",
        "m",
    );
    assert_eq!(texts(&l), hex);
    let (l, _) = load(
        "~SEQx(AD2, 0x90, 0x10, 0xc0) ~SEQx(AD1, 0x12, -1, 0x0c) fe81::10:${AD2}:${AD1}\n",
        "m",
    );
    let t = texts(&l);
    assert_eq!(t.len(), 28);
    assert_eq!(
        (t[0].as_str(), t[6].as_str(), t[27].as_str()),
        ("fe81::10:90:12", "fe81::10:90:c", "fe81::10:c0:c")
    );
}

#[test]
fn lst_examples_from_the_man_page() {
    let (l, _) = load(
        "~LST({IP, IP1}, {10,1},{20,4},{5,6},{12,8}) 192.168.${IP}.${IP1}\n",
        "m",
    );
    assert_eq!(
        texts(&l),
        [
            "192.168.10.1",
            "192.168.20.4",
            "192.168.5.6",
            "192.168.12.8"
        ]
    );
    let (l, _) = load(
        "~LST(IP, 1, 2, 3, 4) ~LST(IP1, 5,6,7) 192.169.${IP}.${IP1}\n",
        "m",
    );
    let t = texts(&l);
    assert_eq!(t.len(), 12);
    assert_eq!(
        (t[0].as_str(), t[3].as_str(), t[11].as_str()),
        ("192.169.1.5", "192.169.2.5", "192.169.4.7")
    );
    let (l, _) = load(
        "~LST({IP,   IP1},  {10,1},{20,4},{5,6},{12,8})  ~SEQ(IP2,168,2,172) 192.${IP2}.${IP}.${IP1}\n",
        "m",
    );
    let expected: Vec<String> = [(10, 1), (20, 4), (5, 6), (12, 8)]
        .iter()
        .flat_map(|(a, b)| [168, 170, 172].map(move |c| format!("192.{c}.{a}.{b}")))
        .collect();
    assert_eq!(texts(&l), expected);
}

#[test]
fn generators_mix_with_parameters_and_conditionals() {
    let text = "$N=2\n~SEQ(X,0,${N}) a${X}\n$G=~SEQ(Z,0,1)\n$G c${Z}\n~SEQ(W,0,1) @kt d${W}\n\
                ~SEQ(V,0,1) $VV=${V}\ne${VV}\n";
    let (l, d) = load(text, "kt");
    assert_eq!(texts(&l), ["a0", "a1", "a2", "c0", "c1", "d0", "d1", "e1"]);
    assert!(d.is_empty());
}

#[test]
fn malformed_generators_are_errors_at_their_place() {
    for (line, code) in [
        ("~SEQ(X,0,0,5) x", "seq-syntax"),
        ("~SEQ(L,1,-1,3) x", "seq-syntax"),
        ("~SEQx(B,-0x2) x", "seq-syntax"),
        ("~SEQ(X,1 x", "seq-syntax"),
        ("~LST(C1, a, b c, d) x", "lst-syntax"),
        ("~LST({A,B},{1,2},{3}) x", "lst-syntax"),
    ] {
        let (l, d) = load(&format!("ok\n  {line}\n"), "m");
        assert_eq!(texts(&l), ["ok"], "{line}");
        let err = d.iter().next().unwrap();
        assert_eq!((err.code, err.severity), (code, Severity::Error), "{line}");
        assert_eq!(
            err.location.map(|l| (l.line, l.column)),
            Some((2, 3)),
            "{line}"
        );
    }
}

#[test]
fn runaway_generators_stop_with_an_error() {
    let (l, d) = load("~SEQ(X, 0, 1000000000000) x\nafter\n", "m");
    assert_eq!(texts(&l), ["after"]);
    assert_eq!(codes(&d), [("expansion-limit", Severity::Error)]);
    let (_, d) = load("~SEQ(A,1,5000) ~SEQ(B,1,5000) $Z=1\n", "m");
    assert_eq!(codes(&d), [("expansion-limit", Severity::Error)]);
}

#[test]
fn main_file_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let mut diags = Diagnostics::new();
    let missing = load_file(&dir.path().join("nope.conf"), &opts("m"), &mut diags);
    assert!(matches!(missing, Err(LoadError::Missing { .. })));
    let not_file = load_file(dir.path(), &opts("m"), &mut diags);
    assert!(matches!(not_file, Err(LoadError::NotAFile { .. })));
    let bad = dir.path().join("latin1.conf");
    std::fs::write(&bad, b"ok\nrouter_id caf\xe9\n").unwrap();
    let loaded = load_file(&bad, &opts("m"), &mut diags).unwrap();
    assert_eq!(texts(&loaded), ["ok", "router_id caf\u{fffd}"]);
    let warning = diags.iter().next().unwrap();
    assert_eq!(
        (warning.code, warning.location.map(|l| l.line)),
        ("not-utf8", Some(2))
    );
}

#[test]
fn default_config_id_is_a_host_label() {
    let id = LoadOptions::default_config_id();
    assert!(!id.is_empty() && !id.contains('.'));
    assert_eq!(LoadOptions::default().config_id, id);
}

/// Not a timing assertion: run with `--release -- --ignored --nocapture`
/// to see how long 300 000 plain lines take.
#[test]
#[ignore]
fn large_plain_config_timing() {
    let mut text = String::new();
    for i in 0..300_000 {
        text.push_str(&format!(
            "    real_server 10.0.{}.{} 80 {{ weight 1 }}\n",
            i / 250,
            i % 250
        ));
    }
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let (l, _) = load(&text, "m");
        eprintln!("{} lines in {:?}", l.lines.len(), start.elapsed());
        let start = std::time::Instant::now();
        let floor: Vec<SourceLine> = text
            .lines()
            .enumerate()
            .map(|(i, t)| SourceLine::verbatim(t, FileId(0), i as u32))
            .collect();
        eprintln!(
            "allocation floor: {} lines in {:?}",
            floor.len(),
            start.elapsed()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics(text in "([$@~{}(),=!#\"' \\\\\\na-cA-C0-9_^x-]|SEQ|SEQx|LST|include |\\$\\{_RANDOM |\\$A=|\\$\\{A\\}){0,80}") {
        let mut diags = Diagnostics::new();
        let loaded = load_str(Path::new("/nonexistent-lvstop-dir/k.conf"), &text, &opts("a"), &mut diags);
        for line in &loaded.lines {
            prop_assert!(!line.segments.is_empty());
            prop_assert_eq!(line.segments[0].offset, 0);
            for pair in line.segments.windows(2) {
                prop_assert!(pair[0].offset < pair[1].offset);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        let mut diags = Diagnostics::new();
        let loaded = load_str(Path::new("/nonexistent-lvstop-dir/k.conf"), &text, &opts("a"), &mut diags);
        prop_assert!(loaded.lines.iter().all(|l| !l.segments.is_empty()));
    }
}
