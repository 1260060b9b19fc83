//! What changed between two renderings of one configuration block, said
//! in the configuration's own words (`priority 100 -> 90`,
//! `virtual_ipaddress: 198.51.100.5/24 added`). Rendering is canonical
//! (`config::render`), so equal settings give equal lines and only real
//! edits show. Pure text work; it never looks at the model.

use std::collections::BTreeMap;

/// One statement of a rendered block: the outer blocks it sits in (the
/// first `depth`), the inner ones, and its own text.
type Entry = (String, String, String);

/// One edit: the outer blocks it sits in (`vrrp_instance VI_1`) and what
/// changed, in the configuration's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub outer: String,
    /// The inner blocks (`virtual_ipaddress`), empty at the outer level.
    pub inner: String,
    /// The statement's keyword (its first word).
    pub keyword: String,
    pub phrase: String,
}

fn entries(text: &str, depth: usize) -> BTreeMap<Entry, usize> {
    let mut path: Vec<String> = Vec::new();
    let mut out = BTreeMap::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line == "}" {
            path.pop();
            continue;
        }
        if let Some(opener) = line.strip_suffix('{') {
            path.push(opener.trim().to_string());
            continue;
        }
        let split = depth.min(path.len());
        let outer = path.get(..split).unwrap_or_default().join(" ");
        let inner = path.get(split..).unwrap_or_default().join(" ");
        *out.entry((outer, inner, line.to_string())).or_insert(0) += 1;
    }
    out
}

fn first_word(line: &str) -> (&str, Option<&str>) {
    match line.split_once(' ') {
        Some((key, rest)) => (key, Some(rest)),
        None => (line, None),
    }
}

fn prefixed(path: &str, phrase: String) -> String {
    if path.is_empty() {
        phrase
    } else {
        format!("{path}: {phrase}")
    }
}

/// The edits that turn `before` into `after`, one phrase each: a
/// statement whose keyword stays but whose value changed reads
/// `keyword old -> new`; others read `… added` / `… removed`. The first
/// `depth` enclosing blocks go to [`Change::outer`], deeper ones prefix the
/// phrase (`virtual_ipaddress: 198.51.100.5/24 added`).
pub fn changes(before: &str, after: &str, depth: usize) -> Vec<Change> {
    let old = entries(before, depth);
    let new = entries(after, depth);
    let surplus = |a: &BTreeMap<Entry, usize>, b: &BTreeMap<Entry, usize>| -> Vec<Entry> {
        let mut out = Vec::new();
        for (entry, count) in a {
            let other = b.get(entry).copied().unwrap_or(0);
            for _ in other..*count {
                out.push(entry.clone());
            }
        }
        out
    };
    let removed = surplus(&old, &new);
    let mut added = surplus(&new, &old);
    let mut out = Vec::new();
    for (outer, path, line) in removed {
        let (key, value) = first_word(&line);
        let partner = added.iter().position(|(o, p, l)| {
            let (k, v) = first_word(l);
            *o == outer && *p == path && k == key && value.is_some() && v.is_some()
        });
        let keyword = key.to_string();
        let phrase = match partner {
            Some(index) => {
                let (_, _, new_line) = added.remove(index);
                let (_, new_value) = first_word(&new_line);
                prefixed(
                    &path,
                    format!(
                        "{key} {} -> {}",
                        value.unwrap_or_default(),
                        new_value.unwrap_or_default()
                    ),
                )
            }
            None => prefixed(&path, format!("{line} removed")),
        };
        out.push(Change {
            outer,
            inner: path,
            keyword,
            phrase,
        });
    }
    for (outer, path, line) in added {
        let phrase = prefixed(&path, format!("{line} added"));
        let keyword = first_word(&line).0.to_string();
        out.push(Change {
            outer,
            inner: path,
            keyword,
            phrase,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_value_reads_old_to_new_and_list_entries_read_added_or_removed() {
        let before = "vrrp_instance VI_1 {\n    priority 100\n    nopreempt\n    virtual_ipaddress {\n        198.51.100.1/24\n    }\n}\n";
        let after = "vrrp_instance VI_1 {\n    priority 90\n    virtual_ipaddress {\n        198.51.100.1/24\n        198.51.100.5/24\n    }\n}\n";
        let found = changes(before, after, 1);
        let phrases: Vec<&str> = found.iter().map(|c| c.phrase.as_str()).collect();
        assert_eq!(
            phrases,
            [
                "nopreempt removed",
                "priority 100 -> 90",
                "virtual_ipaddress: 198.51.100.5/24 added"
            ]
        );
        assert!(found.iter().all(|c| c.outer == "vrrp_instance VI_1"));
        assert!(changes(before, before, 1).is_empty());
    }
}
