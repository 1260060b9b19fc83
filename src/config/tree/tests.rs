use super::*;

fn shape(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let mut s = n.keyword.text.to_string();
            for a in &n.args {
                s.push(' ');
                s.push_str(&a.text);
            }
            if let Some(b) = &n.block {
                s.push_str(&format!(" [{}]", shape(&b.children)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn tree(text: &str) -> (String, Diagnostics) {
    let mut d = Diagnostics::new();
    let nodes = build_str(text, &mut d);
    (shape(&nodes), d)
}

#[test]
fn nested_blocks_and_one_line_blocks() {
    let (s, d) =
        tree("vrrp_instance VI_1 {\n state MASTER\n virtual_ipaddress { 10.0.0.1 10.0.0.2 }\n}\n");
    assert!(d.is_empty());
    assert_eq!(
        s,
        "vrrp_instance VI_1 [state MASTER; virtual_ipaddress [10.0.0.1 10.0.0.2]]"
    );
}

#[test]
fn brace_on_its_own_line_opens_the_previous_statement() {
    let (s, d) = tree("global_defs\n{\n router_id X\n}\n");
    assert!(d.is_empty());
    assert_eq!(s, "global_defs [router_id X]");
}

#[test]
fn unbalanced_braces_are_errors_with_locations() {
    let (_, d) = tree("global_defs {\n router_id X\n");
    let first = d.iter().next().unwrap();
    assert_eq!(first.code, "unclosed-block");
    assert_eq!(first.location.unwrap().line, 1);
    let (_, d) = tree("}\n");
    assert_eq!(d.iter().next().unwrap().code, "unbalanced-brace");
}

#[test]
fn a_line_list_without_brace_takes_lines_up_to_the_next_closer() {
    let (s, d) = tree(
        "vrrp_instance V {\n track_file f\n priority 50\n authentication {\n auth_type PASS\n }\n state MASTER\n}\n",
    );
    assert_eq!(
        s,
        "vrrp_instance V [track_file f [priority 50; authentication; {; auth_type PASS]; state MASTER]"
    );
    let codes: Vec<_> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, [LINES_WITHOUT_BRACE]);
}

#[test]
fn a_line_list_without_brace_and_without_inner_brace_closes_its_block_too() {
    let (s, d) = tree("global_defs {\n notification_email\n a@b\n }\n router_id X\n}\n");
    assert_eq!(s, "global_defs [notification_email [a@b]]; router_id X");
    let codes: Vec<_> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, [LINES_WITHOUT_BRACE, "unbalanced-brace"]);
}

#[test]
fn a_line_list_with_its_brace_on_the_next_line_is_a_block() {
    let (s, d) = tree("vrrp_instance V {\n track_interface\n {\n eth0\n }\n}\n");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(s, "vrrp_instance V [track_interface [eth0]]");
}

#[test]
fn a_block_without_its_brace_takes_the_next_lines_up_to_a_closer() {
    // Measured on keepalived 2.2.7: "Missing '{' at beginning of
    // configuration block", then the lines are read as the block's, and
    // the '}' that closes it is one too many for the brace count.
    let (s, d) = tree("track_file f\nvrrp_instance V {\n state MASTER\n}\n");
    assert_eq!(s, "track_file f [vrrp_instance V; state MASTER]");
    let codes: Vec<_> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, [MISSING_OPEN, IGNORED_OPEN]);
    let (s, d) = tree(
        "virtual_server 192.0.2.9 80 {\n real_server 192.0.2.2 80\n  weight 1\n }\n real_server 192.0.2.3 80 {\n }\n}\n",
    );
    assert_eq!(
        s,
        "virtual_server 192.0.2.9 80 [real_server 192.0.2.2 80 [weight 1]; real_server 192.0.2.3 80 []]"
    );
    let codes: Vec<_> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, [MISSING_OPEN, "unbalanced-brace"]);
}

#[test]
fn several_closers_on_one_line() {
    let (s, d) = tree("virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n weight 1 } }\n virtual_server_group g\n");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        s,
        "virtual_server 192.0.2.1 80 [real_server 192.0.2.2 80 [weight 1]]; virtual_server_group g"
    );
}

#[test]
fn a_brace_after_a_keyword_that_opens_no_block_is_ignored() {
    // Measured on keepalived 2.2.7: "Unknown keyword 'FOO_BLOCK'",
    // "Unexpected '{' - ignoring", priority read in the instance, the
    // next '}' closes the instance, advert_int is unknown at the top.
    let (s, d) = tree("vrrp_instance V {\n FOO_BLOCK {\n  priority 50\n }\n advert_int 1\n}\n");
    assert_eq!(s, "vrrp_instance V [FOO_BLOCK; priority 50]; advert_int 1");
    let codes: Vec<_> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, [IGNORED_OPEN, CLOSES_NOTHING]);
    // The same for a keyword that takes a value, and for '{' alone on
    // the next line.
    let (s, _) = tree("vrrp_instance V {\n priority 100\n {\n state MASTER\n }\n}\n");
    assert_eq!(s, "vrrp_instance V [priority 100; state MASTER]");
}

#[test]
fn a_server_keepalived_cannot_read_is_skipped_by_count() {
    // Measured on keepalived 2.2.7: "Invalid real server ip
    // address/port 300.1.2.3/80 - skipping": the unknown FOO's braces
    // are counted within the skipped block, so the weight after them
    // is never read.
    let (s, d) = tree(
        "virtual_server 192.0.2.1 80 {\n real_server 300.1.2.3 80 {\n  FOO {\n  }\n  weight\n }\n}\n",
    );
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        s,
        "virtual_server 192.0.2.1 80 [real_server 300.1.2.3 80 [FOO []; weight]]"
    );
}

#[test]
fn braces_balance_by_count_as_keepalived_counts_them() {
    // Two surplus closers, then two openers: two errors at the '}'s
    // (the count restarts at zero) and two never closed.
    let (_, d) = tree("}\n}\n{\n{\n");
    let found: Vec<_> = d
        .iter()
        .map(|d| (d.code, d.location.map(|l| l.line)))
        .collect();
    assert_eq!(
        found,
        [
            ("unbalanced-brace", Some(1)),
            ("unbalanced-brace", Some(2)),
            (IGNORED_OPEN, Some(3)),
            (IGNORED_OPEN, Some(4)),
            ("unclosed-block", Some(3)),
            ("unclosed-block", Some(4)),
        ]
    );
    // An ignored '{' balanced by a later '}' is no error.
    let (_, d) = tree("global_defs {\n router_id X {\n }\n}\n");
    assert!(
        d.iter()
            .all(|d| d.severity < crate::config::diagnostic::Severity::Error),
        "{d:?}"
    );
}
