//! Run the userspace dataplane alone, for benchmarks and manual tests:
//!
//! `userspace_proxy [--threads N] [--no-splice] [--stats] VIP:PORT REAL:PORT...`
//!
//! One TCP rr service on VIP:PORT with the given real servers (weight 1),
//! until Ctrl-C; `--stats` prints the table's counters on exit.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;

use lvstop::dataplane::userspace::{Options, UserspaceDataplane};
use lvstop::dataplane::{Dataplane, Operation};
use lvstop::ipvs::model::{DestConfig, Forward, ServiceConfig, ServiceKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut options = Options::default();
    let mut stats = false;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                threads = args.next().ok_or("--threads N")?.parse()?;
                options.threads = threads;
            }
            "--no-splice" => options.splice_after = None,
            "--stats" => stats = true,
            addr => addrs.push(addr.parse()?),
        }
    }
    let (vip, reals) = addrs.split_first().ok_or("usage: VIP:PORT REAL:PORT...")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dataplane = UserspaceDataplane::start(options)?;
        let key = ServiceKey::tcp(*vip);
        let mut ops = vec![Operation::AddService(ServiceConfig::new(key, "rr"))];
        for real in reals {
            ops.push(Operation::AddDest {
                service: key,
                dest: DestConfig::new(*real, Forward::Masq, 1),
            });
        }
        dataplane.apply(&ops).await?;
        eprintln!("proxying {vip} -> {reals:?} on {threads} threads");
        tokio::signal::ctrl_c().await?;
        if stats {
            let table = dataplane.snapshot().await?;
            for service in &table.services {
                eprintln!("{} {:?}", service.key(), service.stats);
                for dest in &service.dests {
                    eprintln!(
                        "  -> {} active {} inactive {} {:?}",
                        dest.key(),
                        dest.active,
                        dest.inactive,
                        dest.stats
                    );
                }
            }
        }
        Ok(())
    })
}
