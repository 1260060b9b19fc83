//! The console reaches the rest of the crate through a short, fixed list
//! of modules; anything else under `src/ui` naming `crate::…` fails here.

use std::path::{Path, PathBuf};

/// The crate modules `src/ui` may name, and why.
const ALLOWED: &[(&str, &str)] = &[
    ("ui", "the console itself"),
    (
        "northbound",
        "every engine-side type that reaches the console",
    ),
    (
        "config",
        "the config editor loads and checks the draft text as the daemon would",
    ),
    (
        "fleet",
        "the console's own feed over several directors' control sockets; it carries northbound types",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first module named by each `crate::` path in `code`, groups
/// (`crate::{a::b, c}`) included.
fn crate_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `mycrate::`, not `crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        found.push(leading_ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
        } else {
            found.push(leading_ident(rest));
        }
    }
    found
}

fn leading_ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// How many modules below `ui` a file is: `app/mod.rs` 1, `app/keys.rs` 2.
fn module_depth(relative: &Path) -> usize {
    let parts = relative.components().count();
    if relative.ends_with("mod.rs") {
        parts - 1
    } else {
        parts
    }
}

/// The longest `super::super::…` chain in `code`.
fn climbs(code: &str) -> usize {
    code.match_indices("super::")
        .map(|(at, _)| {
            code.as_bytes()[at..]
                .chunks(7)
                .take_while(|chunk| *chunk == b"super::")
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// The code of a file without its comments (doc links name modules
/// without importing them).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_console_imports_the_crate_only_through_its_allowed_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 10, "src/ui not found at {}", root.display());
    let mut offences = Vec::new();
    // This file names other modules in its fixtures on purpose.
    let this_file = Path::new(file!()).file_name();
    for file in files.iter().filter(|f| f.file_name() != this_file) {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        for module in crate_modules(&code_of(&text)) {
            if !ALLOWED.iter().any(|(allowed, _)| *allowed == module) {
                offences.push(format!("{}: crate::{module}", file.display()));
            }
        }
        // A `super::` chain longer than the file's depth below `src/ui`
        // leaves the console as surely as `crate::` does.
        let depth = module_depth(file.strip_prefix(&root).unwrap_or(file));
        if climbs(&code_of(&text)) > depth {
            offences.push(format!("{}: super:: beyond src/ui", file.display()));
        }
    }
    assert!(
        offences.is_empty(),
        "src/ui may name only crate::{{{}}}:\n{}",
        ALLOWED
            .iter()
            .map(|(m, _)| *m)
            .collect::<Vec<_>>()
            .join(", "),
        offences.join("\n")
    );
}

#[test]
fn the_import_scan_sees_paths_groups_and_inline_uses() {
    let code = "use crate::engine::event::Event;\n\
                use crate::{config::load, vrrp::{machine, driver}};\n\
                let x = crate::health::machine::View::new();\n\
                use mycrate::thing;";
    assert_eq!(
        crate_modules(code),
        ["engine", "config", "vrrp", "health"].map(String::from)
    );
    assert_eq!(code_of("let a = 1; // crate::engine"), "let a = 1; ");
    assert_eq!(climbs("use super::super::engine; use super::x;"), 2);
    assert_eq!(module_depth(Path::new("app/keys.rs")), 2);
    assert_eq!(module_depth(Path::new("app/mod.rs")), 1);
}
