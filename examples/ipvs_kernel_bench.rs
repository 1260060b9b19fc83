//! Load a large IPVS table into the kernel and time lvstop's full-table
//! read; run inside the VM by `benches/kernel_read_vs_ipvsadm.sh`, which
//! times `ipvsadm -Ln` on the same table in the same boot.
//!
//! `ipvs_kernel_bench populate SERVICES DESTS` — TCP services on
//! 10.x.y.z:80, each with DESTS masquerading destinations (pipelined
//! NEW_SERVICE/NEW_DEST, so loading stays quick).
//! `ipvs_kernel_bench read` — one full read (every destination dumped over
//! netlink), rendered as `ipvsadm -Ln` lines to /dev/null so the work
//! matches ipvsadm's; prints counts.
//! `ipvs_kernel_bench listing` — the same with `KernelDataplane::listing`
//! (services over netlink, destinations from `/proc/net/ip_vs`).
//! `ipvs_kernel_bench observer` — the observer's refresh
//! (`observe::table::TableReader`), twice; prints the steady one in ms.
//! `ipvs_kernel_bench phases` — the listing's parts timed one by one: the
//! netlink service dump, the `/proc/net/ip_vs` read, and its parsing.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use lvstop::dataplane::kernel::client::IpvsClient;
use lvstop::dataplane::kernel::genl::{
    dest_attrs, service_attrs, service_key_attrs, IpvsAttr, IpvsCmd, IpvsMessage, Nest,
};
use lvstop::dataplane::kernel::KernelDataplane;
use lvstop::ipvs::model::{DestConfig, Forward, ServiceConfig, ServiceKey};

fn service_key(index: u32) -> ServiceKey {
    let ip = Ipv4Addr::from(0x0a00_0000 + index + 1);
    ServiceKey::tcp(SocketAddr::new(IpAddr::V4(ip), 80))
}

async fn populate(client: &IpvsClient, services: u32, dests: u32) -> Result<(), String> {
    let mut requests = Vec::new();
    for s in 0..services {
        let config = ServiceConfig::new(service_key(s), "wlc");
        requests.push(IpvsMessage::new(
            IpvsCmd::NewService,
            vec![IpvsAttr::Service(Nest::new(service_attrs(&config)))],
        ));
    }
    for s in 0..services {
        for d in 0..dests {
            let ip = Ipv4Addr::from(0xac10_0000 + s * 16 + d + 1);
            let dest = DestConfig::new(SocketAddr::new(IpAddr::V4(ip), 8080), Forward::Masq, 1);
            requests.push(IpvsMessage::new(
                IpvsCmd::NewDest,
                vec![
                    IpvsAttr::Service(Nest::new(service_key_attrs(&service_key(s)))),
                    IpvsAttr::Dest(Nest::new(dest_attrs(&dest))),
                ],
            ));
        }
    }
    let results = client.batch(&requests).await.map_err(|e| e.to_string())?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(format!("{failed} of {} commands failed", results.len()));
    }
    Ok(())
}

async fn read(client: &IpvsClient, fast: bool) -> Result<(), String> {
    let started = std::time::Instant::now();
    let table = if fast {
        let dataplane = KernelDataplane::connect()
            .await
            .map_err(|e| e.to_string())?;
        dataplane.listing().await.map_err(|e| e.to_string())?
    } else {
        client.table().await.map_err(|e| e.to_string())?
    };
    let fetched = started.elapsed();
    let mut out = String::new();
    let mut dests = 0;
    for service in table.sorted_services() {
        let _ = writeln!(out, "{} {}", service.key(), service.config.scheduler);
        for dest in service.sorted_dests() {
            dests += 1;
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                dest.key().to_string(),
                dest.config.forward.ipvsadm_name(),
                dest.weight(),
                dest.active,
                dest.inactive
            );
        }
    }
    std::fs::write("/dev/null", out.as_bytes()).map_err(|e| e.to_string())?;
    eprintln!(
        "{} services, {dests} destinations: read {fetched:?}, read and render {:?}",
        table.services.len(),
        started.elapsed()
    );
    Ok(())
}

/// The observer's refresh (`lvstop` on a keepalived director): two
/// consecutive refreshes of one reader, each timed; prints the second (the
/// steady state a console at 1 Hz sees).
async fn observer() -> Result<(), String> {
    use lvstop::observe::table::TableReader;
    let kernel = KernelDataplane::connect()
        .await
        .map_err(|e| e.to_string())?;
    let mut reader = TableReader::default();
    for refresh in ["first", "steady"] {
        let started = std::time::Instant::now();
        let table = reader.read(&kernel).await.map_err(|e| e.to_string())?;
        eprintln!(
            "observer refresh ({refresh}): {} services in {:?}",
            table.services.len(),
            started.elapsed()
        );
        if refresh == "steady" {
            println!("{}", started.elapsed().as_millis());
        }
    }
    Ok(())
}

async fn phases(client: &IpvsClient) -> Result<(), String> {
    use lvstop::dataplane::kernel::procfs;
    let started = std::time::Instant::now();
    let services = client.services().await.map_err(|e| e.to_string())?;
    let dumped = started.elapsed();
    let text = std::fs::read_to_string(procfs::PROC_IP_VS).map_err(|e| e.to_string())?;
    let read = started.elapsed() - dumped;
    let listed = procfs::parse_listing(&text).map_err(|e| e.to_string())?;
    let parsed = started.elapsed() - dumped - read;
    eprintln!(
        "phases: {} services dumped in {dumped:?}; {} bytes of {} read in {read:?}; {} services parsed in {parsed:?}",
        services.len(),
        text.len(),
        procfs::PROC_IP_VS,
        listed.len()
    );
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = IpvsClient::connect().await.map_err(|e| e.to_string())?;
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["populate", services, dests] => {
                let services = services.parse().map_err(|_| "SERVICES is a number")?;
                let dests = dests.parse().map_err(|_| "DESTS is a number")?;
                populate(&client, services, dests).await
            }
            ["read"] => read(&client, false).await,
            ["listing"] => read(&client, true).await,
            ["phases"] => phases(&client).await,
            ["observer"] => observer().await,
            _ => Err(
                "usage: ipvs_kernel_bench populate SERVICES DESTS | read | listing | phases | observer"
                    .into(),
            ),
        }
    })
}
