//! Prints a generated director configuration:
//! `gen_config [VIRTUAL_SERVERS] [REAL_SERVERS_EACH]` (default 2300 16).

fn main() {
    let mut args = std::env::args().skip(1);
    let virtual_servers = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_300);
    let real_servers = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    print!(
        "{}",
        lvstop::config::generate::director(virtual_servers, real_servers)
    );
}
