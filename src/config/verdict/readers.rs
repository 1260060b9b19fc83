//! keepalived's processes and the parts of the file each one reads.
//!
//! keepalived 2.2.7 reads the file once per process: the parent reads
//! `global_defs`, the VRRP process the VRRP blocks, the checker process
//! the LVS blocks. A process passes over a top-level block it does not own
//! by counting braces from the block's `{` until the count is back where it
//! was (measured: a block another process owns that holds an ignored `{`
//! swallows the blocks after it, up to the `}` that balances the count).
//! What a process passes over that way it never judges, so lvstop's
//! findings there do not move keepalived's verdict; the brace count itself
//! is judged over the whole text (see [`crate::config::tree`]).

use std::collections::HashSet;

use crate::config::source::Location;
use crate::config::tree::{Node, Tree};

/// One of keepalived's processes that read the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Parent,
    Vrrp,
    Checker,
}

const READERS: [Reader; 3] = [Reader::Parent, Reader::Vrrp, Reader::Checker];

/// The processes that read a top-level block as keywords.
fn owners(keyword: &str) -> &'static [Reader] {
    match keyword {
        "global_defs" => &[Reader::Parent],
        "vrrp_script"
        | "vrrp_instance"
        | "vrrp_sync_group"
        | "vrrp_sync_group_name"
        | "track_process"
        | "vrrp_track_process"
        | "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "static_track_group"
        | "garp_group"
        | "linkbeat_interfaces"
        | "bfd_instance" => &[Reader::Vrrp],
        "virtual_server" | "virtual_server_group" | "SSL" => &[Reader::Checker],
        // Tracked files serve both VRRP instances and FILE_CHECKs.
        "track_file" | "vrrp_track_file" => &[Reader::Vrrp, Reader::Checker],
        _ => &[],
    }
}

/// Locations of the statements no process of keepalived reads as its own:
/// top-level blocks every owner passes over while skipping an earlier
/// block by count (and statements every process passes over).
pub fn unread(tree: &Tree) -> HashSet<Location> {
    let count = tree.nodes.len();
    // swallowed[reader][i]: `reader` passed over node i while skipping.
    let swallowed: Vec<Vec<bool>> = READERS
        .iter()
        .map(|&reader| passed_over(tree, reader))
        .collect();
    let mut read = HashSet::new();
    let mut unread = HashSet::new();
    for (index, node) in tree.nodes.iter().enumerate().take(count) {
        let owners = owners(node.name());
        let judged_by = |reader: &Reader| {
            READERS
                .iter()
                .position(|r| r == reader)
                .is_some_and(|r| !swallowed[r][index])
        };
        let is_read = if owners.is_empty() {
            READERS.iter().any(judged_by)
        } else {
            owners.iter().any(judged_by)
        };
        collect(node, if is_read { &mut read } else { &mut unread });
    }
    unread.retain(|at| !read.contains(at));
    unread
}

/// Which top-level nodes `reader` passes over while skipping the blocks it
/// does not own.
fn passed_over(tree: &Tree, reader: Reader) -> Vec<bool> {
    let count = tree.nodes.len();
    let mut swallowed = vec![false; count];
    let mut index = 0;
    while index < count {
        let node = &tree.nodes[index];
        let skipped = node.block.is_some()
            && !owners(node.name()).is_empty()
            && !owners(node.name()).contains(&reader);
        let reach = tree.skip_reach.get(index).copied().unwrap_or(index + 1);
        if skipped && reach > index + 1 {
            let end = reach.min(count);
            for slot in &mut swallowed[index + 1..end] {
                *slot = true;
            }
            index = end;
        } else {
            index += 1;
        }
    }
    swallowed
}

fn collect(node: &Node, into: &mut HashSet<Location>) {
    into.insert(node.keyword.at);
    into.extend(node.args.iter().map(|arg| arg.at));
    if let Some(block) = &node.block {
        into.insert(block.open);
        for child in &block.children {
            collect(child, into);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::Diagnostics;
    use crate::config::source::FileId;
    use crate::config::token::SourceLine;
    use crate::config::tree::build_tree;

    fn unread_lines(text: &str) -> Vec<u32> {
        let lines: Vec<SourceLine> = text
            .lines()
            .enumerate()
            .map(|(i, l)| SourceLine::verbatim(l, FileId(0), u32::try_from(i + 1).unwrap_or(0)))
            .collect();
        let tree = build_tree(&lines, &mut Diagnostics::new());
        let mut found: Vec<u32> = unread(&tree).iter().map(|at| at.line).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    #[test]
    fn the_checker_passes_over_a_virtual_server_swallowed_by_a_vrrp_block() {
        // Measured on keepalived 2.2.7: the ignored '{' inside the instance
        // keeps the checker's count above zero until the last '}', so the
        // virtual server's missing weight never stops its reading.
        let text = "vrrp_instance V {\n foo {\n}\nvirtual_server 192.0.2.9 80 {\n real_server 192.0.2.2 80 {\n  weight\n }\n}\n";
        assert_eq!(unread_lines(text), [4, 5, 6]);
    }

    #[test]
    fn balanced_blocks_are_all_read() {
        let text = "global_defs {\n router_id a\n}\nvrrp_instance V {\n state MASTER\n}\nvirtual_server 192.0.2.9 80 {\n}\n";
        assert!(unread_lines(text).is_empty());
    }

    #[test]
    fn an_ignored_brace_at_the_top_level_swallows_nothing() {
        // keepalived reads "foo" itself there, in every process.
        let text =
            "foo {\nvirtual_server 192.0.2.9 80 {\n real_server 192.0.2.2 80 {\n  weight\n }\n}\n";
        assert!(unread_lines(text).is_empty());
    }
}
