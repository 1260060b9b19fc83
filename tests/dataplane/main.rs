//! The dataplane: the userspace one end to end on loopback, schedulers
//! (golden sequences and properties), the rate estimator, ipvsadm's output
//! format and applying plans.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod apply_plan;
mod apply_transaction;
mod estimator_kernel;
mod ipvsadm_format;
mod sched_golden;
mod sched_properties;
mod userspace_dataplane;
