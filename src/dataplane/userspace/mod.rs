//! lvstop's userspace dataplane: an L4 proxy that behaves like IPVS.
