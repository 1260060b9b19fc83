//! The repository's own conventions, checked over its text: unit tests
//! are a module's own `mod tests` (inline or `<module>/tests.rs`), no
//! comment names an issue or an item instead of the rule it means, "the
//! reference deployment" is the one name of the two-director LVS-DR setup,
//! and nothing points at a document outside the repository.

use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose name ends with one of `extensions`.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, extensions, out);
        } else if extensions
            .iter()
            .any(|e| path.to_string_lossy().ends_with(e))
        {
            out.push(path);
        }
    }
}

/// The repository's own text: code, scripts, documentation.
fn texts() -> Vec<PathBuf> {
    let root = repository();
    let mut out = Vec::new();
    for dir in [
        "src",
        "tests",
        "benches",
        "examples",
        "fuzz/fuzz_targets",
        ".ci",
    ] {
        files(&root.join(dir), &[".rs", ".sh", ".md", "run"], &mut out);
    }
    for file in ["README.md", "ARCHITECTURE.md", "Cargo.toml"] {
        out.push(root.join(file));
    }
    out
}

fn offending_lines(paths: &[PathBuf], offends: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if offends(line) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn unit_tests_are_a_modules_own_tests_module() {
    let mut sources = Vec::new();
    files(&repository().join("src"), &[".rs"], &mut sources);
    let found = offending_lines(&sources, |line| {
        let line = line.trim();
        (line.starts_with("#[path") && line.contains("_tests"))
            || (line.starts_with("mod ") && line.contains("_tests"))
    });
    assert!(
        found.is_empty(),
        "unit tests go in `mod tests`, inline or in <module>/tests.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_comment_names_an_issue_or_an_item() {
    let pattern = |line: &str| {
        let lower = line.to_lowercase();
        ["issue ", "item "].iter().any(|word| {
            lower.match_indices(word).any(|(at, _)| {
                lower[at + word.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '"')
            })
        })
    };
    let this = repository().join("tests/config/code_conventions.rs");
    let paths: Vec<PathBuf> = texts().into_iter().filter(|p| *p != this).collect();
    let found = offending_lines(&paths, |line| {
        (line.contains("//") || line.trim_start().starts_with('#')) && pattern(line)
    });
    assert!(
        found.is_empty(),
        "say the rule, not where it was asked for:\n{}",
        found.join("\n")
    );
}

#[test]
fn nothing_points_outside_the_repository() {
    let this = repository().join("tests/config/code_conventions.rs");
    let paths: Vec<PathBuf> = texts().into_iter().filter(|p| *p != this).collect();
    let found = offending_lines(&paths, |line| {
        [
            "DESIGN.md",
            "STYLE.md",
            // Spelled in two parts so this file names no outside path itself.
            concat!("..", "/shared"),
            "the seed's",
            "the seed deployment",
        ]
        .iter()
        .any(|word| line.contains(word))
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}
