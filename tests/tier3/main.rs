//! The real-kernel tier (root, `LVSTOP_TEST_PRIVILEGED=1`): Debian's kernel
//! with IPVS booted by virtme-ng, lvstop's kernel backend, `--once` and the
//! schedulers against it, and the reference deployment end to end.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod tier3_dr_seed;
mod tier3_health_kernel;
mod tier3_kernel_backend;
mod tier3_observe_keepalived;
mod tier3_observe_pair;
mod tier3_once_kernel;
mod tier3_sched_fidelity;
mod tier3_seed_pair;
mod tier3_vm_smoke;
