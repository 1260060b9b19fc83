//! ipvsadm's text formats, rendered from the [`model`](crate::ipvs::model):
//! `-L`/`-l` with `--stats`, `--rate`, `--exact`, `--thresholds`,
//! `--persistent-conn`, `--tun-info`; `-S`/`--save`; `-c`; `--timeout`;
//! `--daemon`. Everything after the first line is byte-identical to
//! ipvsadm 1.31 on the same state (checked against goldens captured from
//! the real ipvsadm on a real kernel: `tests/dataplane/ipvsadm_format.rs`).
//!
//! Names are never resolved: without `numeric` lvstop still prints
//! numeric addresses and ports (ipvsadm would look up host and service
//! names, which blocks on DNS and differs from host to host).
//!
//! The [`restore`] submodule reads the other direction: ipvsadm command
//! lines (`-S` output, `ipvsadm -R` input) into commands on a table.
//!
//! This module owns text only: it never reads the kernel or the clock.

mod conn;
mod list;
mod number;
mod order;
pub mod restore;
mod text;

pub use conn::{connections, daemons, timeouts};
pub use list::service_switch;
pub use number::push_counter;

use std::fmt::Write;

use crate::ipvs::model::{Origin, ServiceKey, Table};

/// The listing options of `ipvsadm -L`, with ipvsadm's meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `-n`. lvstop always prints numeric addresses; kept for the caller's
    /// bookkeeping and for symmetry with ipvsadm.
    pub numeric: bool,
    /// `--stats`: cumulative counters (wins over every other view).
    pub stats: bool,
    /// `--rate`: the estimator's rates.
    pub rate: bool,
    /// `--exact`: full numbers instead of K/M/G/T in `--stats`/`--rate`.
    pub exact: bool,
    /// `--thresholds`: upper/lower connection thresholds.
    pub thresholds: bool,
    /// `--persistent-conn`: persistence templates per destination (and
    /// the persistence-engine columns of `-c`).
    pub persistent_conn: bool,
    /// `--tun-info`: the tunnel column.
    pub tun_info: bool,
    /// `--nosort`: services and destinations in the table's own order
    /// (the kernel's, for a table read from the kernel).
    pub nosort: bool,
}

/// The first line of a listing. The kernel's own for a kernel table; a
/// line that cannot be mistaken for the kernel's for lvstop's userspace
/// dataplane.
pub fn header(table: &Table, out: &mut String) {
    match table.origin {
        Origin::Kernel => {
            let (major, minor, patch) = table.info.version_triple();
            let _ = writeln!(
                out,
                "IP Virtual Server version {major}.{minor}.{patch} (size={})",
                table.info.conn_tab_size
            );
        }
        Origin::Userspace => {
            out.push_str(
                "lvstop userspace dataplane (IPVS-compatible listing; not the kernel's IPVS)\n",
            );
        }
    }
}

/// `ipvsadm -L` and its variants: header, titles, then every service in
/// ipvsadm's order with its destinations in ipvsadm's order.
pub fn list(table: &Table, opts: &ListOptions, out: &mut String) {
    header(table, out);
    let view = list::View::of(opts);
    out.push_str(view.title());
    let services: Vec<&crate::ipvs::model::Service> = if opts.nosort {
        table.services.iter().collect()
    } else {
        order::services(&table.services)
    };
    for svc in services {
        list::push_service(out, svc, view, opts);
    }
}

/// `ipvsadm -L` of one service (`-t VIP:PORT`, `-f MARK`): the titles and
/// that service, without the version line, as ipvsadm prints it.
pub fn list_service(
    table: &Table,
    key: ServiceKey,
    opts: &ListOptions,
    out: &mut String,
) -> Result<(), NoSuchService> {
    let svc = table.service(key).ok_or(NoSuchService)?;
    let view = list::View::of(opts);
    out.push_str(view.title());
    list::push_service(out, svc, view, opts);
    Ok(())
}

/// The service asked for is not in the table (ipvsadm's wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("No such service")]
pub struct NoSuchService;

/// `ipvsadm -S`: the table as `ipvsadm -R` input. `numeric` is accepted
/// for symmetry; addresses are always numeric.
pub fn save(table: &Table, numeric: bool, out: &mut String) {
    let _ = numeric;
    for svc in order::services(&table.services) {
        list::push_rule_service(out, &svc.config);
        for dest in order::dests(&svc.dests) {
            list::push_rule_dest(out, &svc.config, dest);
        }
    }
}

#[cfg(test)]
mod tests;
