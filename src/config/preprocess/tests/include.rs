//! Includes: globs, braces, relative directories, each variant's handling
//! of missing files, `include_check` scoping, cycles, and a fixture tree
//! under `tests/fixtures/preprocess/` that keepalived 2.2.7 also accepts.

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn load_path(path: &Path, id: &str) -> (Loaded, Diagnostics) {
    let mut diags = Diagnostics::new();
    let loaded = load_file(path, &opts(id), &mut diags).unwrap();
    (loaded, diags)
}

#[test]
fn includes_follow_globs_braces_and_relative_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "keepalived.conf",
        "top\n  include conf.d/*.conf\ninclude {one,two}.inc\ninclude sub/nested.conf\nend\n",
    );
    write(dir.path(), "conf.d/b.conf", "b1\n");
    write(dir.path(), "conf.d/a.conf", "a1\na2 ${_PWD}\n");
    write(dir.path(), "conf.d/.hidden.conf", "hidden\n");
    write(dir.path(), "one.inc", "one\n");
    write(dir.path(), "two.inc", "two\n");
    write(dir.path(), "sub/nested.conf", "include leaf.conf\n");
    write(dir.path(), "sub/leaf.conf", "  leaf\n");
    let (l, d) = load_path(&main, "m");
    let conf_d = std::fs::canonicalize(dir.path().join("conf.d")).unwrap();
    assert_eq!(
        texts(&l),
        [
            "top",
            "a1",
            &format!("a2 {}", conf_d.display()),
            "b1",
            "one",
            "two",
            "leaf",
            "end"
        ]
    );
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(where_is(&l, 6, "leaf"), ("leaf.conf".into(), 1, 3));
    let leaf_file = l.lines[6].start().file;
    let nested_site = l.sources.file(leaf_file).unwrap().included_from.unwrap();
    assert_eq!((nested_site.line, nested_site.column), (1, 1));
    let nested = l.sources.file(nested_site.file).unwrap();
    assert!(nested.path.ends_with("sub/nested.conf"));
    let a_site = l
        .sources
        .file(l.lines[1].start().file)
        .unwrap()
        .included_from
        .unwrap();
    assert_eq!((a_site.file, a_site.line, a_site.column), (FileId(0), 2, 3));
}

#[test]
fn each_include_variant_reports_missing_files_its_way() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[(&str, Severity)]); 9] = [
        (
            "include missing.conf",
            &[("include-missing", Severity::Warning)],
        ),
        ("include nomatch*.conf", &[]),
        (
            "includer missing.conf",
            &[("include-missing", Severity::Error)],
        ),
        (
            "includem missing.conf",
            &[("include-missing", Severity::Error)],
        ),
        ("includem nomatch*.conf", &[]),
        (
            "includew nomatch*.conf",
            &[("include-no-match", Severity::Error)],
        ),
        (
            "includeb {x,y}*.conf",
            &[
                ("include-no-match", Severity::Error),
                ("include-no-match", Severity::Error),
            ],
        ),
        (
            "includea {x,y}.conf",
            &[
                ("include-missing", Severity::Error),
                ("include-missing", Severity::Error),
            ],
        ),
        ("include", &[("include-syntax", Severity::Error)]),
    ];
    for (line, expected) in cases {
        let main = write(dir.path(), "main.conf", &format!("{line}\n"));
        let (l, d) = load_path(&main, "m");
        assert!(l.lines.is_empty(), "{line}");
        assert_eq!(codes(&d), expected, "{line}");
    }
    let main = write(dir.path(), "main.conf", "include conf.d\n");
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    let (_, d) = load_path(&main, "m");
    assert_eq!(codes(&d), [("include-unreadable", Severity::Warning)]);
}

#[test]
fn include_check_is_saved_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "main.conf",
        "global_defs {\n include_check readable\n}\ninclude child.conf\ninclude gone1.conf\n",
    );
    write(
        dir.path(),
        "child.conf",
        "include_check -readable\ninclude gone2.conf\n",
    );
    let (l, d) = load_path(&main, "m");
    assert_eq!(
        texts(&l),
        [
            "global_defs {",
            "include_check readable",
            "}",
            "include_check -readable"
        ]
    );
    let found: Vec<_> = d
        .iter()
        .map(|d| (d.code, d.severity, d.message.contains("gone1")))
        .collect();
    assert_eq!(
        found,
        [
            ("include-missing", Severity::Warning, false),
            ("include-missing", Severity::Error, true),
        ]
    );
}

#[test]
fn include_cycles_are_reported_with_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "a.conf", "a\ninclude b.conf\n");
    write(
        dir.path(),
        "b.conf",
        "b\ninclude ./a.conf\ninclude b.conf\n",
    );
    let (l, d) = load_path(&main, "m");
    assert_eq!(texts(&l), ["a", "b"]);
    let messages: Vec<_> = d.iter().map(|d| (d.code, d.message.clone())).collect();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].0, "include-cycle");
    assert!(messages[0].1.contains("a.conf -> ") && messages[0].1.contains("b.conf -> "));
    assert!(messages[1].1.ends_with("b.conf"));
}

#[test]
fn fixture_configures_both_directors_from_one_file() {
    let main =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/preprocess/keepalived.conf");
    let (l, d) = load_path(&main, "main");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        texts(&l),
        [
            "global_defs {",
            "router_id LVS_MAIN",
            "}",
            "virtual_server 192.168.100.88 80 {",
            "lb_algo wrr",
            "lb_kind DR",
            "protocol TCP",
            "real_server 192.168.100.82 80 { weight 1 }",
            "real_server 192.168.100.83 80 { weight 1 }",
            "}",
            "vrrp_instance VI_1 {",
            "interface eth0",
            "virtual_router_id 51",
            "state MASTER",
            "priority 100",
            "virtual_ipaddress {",
            "192.168.100.88",
            "}",
            "}",
        ]
    );
    assert_eq!(
        where_is(&l, 8, "real_server"),
        ("10-virtual-server.conf".into(), 5, 22)
    );
    assert_eq!(
        where_is(&l, 8, "83"),
        ("10-virtual-server.conf".into(), 5, 46)
    );
    assert_eq!(where_is(&l, 16, "192"), ("instance.conf".into(), 9, 9));
    let (l, _) = load_path(&main, "backup");
    let t = texts(&l);
    assert!(t.contains(&"router_id LVS_BACKUP".to_string()));
    assert!(t.contains(&"state BACKUP".to_string()) && t.contains(&"priority 99".to_string()));
}
