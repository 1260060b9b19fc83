//! Listens to VRRP on the wire (never sending) and prints the observer's
//! report as one JSON line every period:
//! `observe_wire [PERIOD_MS] [EXPECTED_JSON]` (default 1000 ms, no
//! expectations). EXPECTED_JSON is a JSON array of
//! `{"instance","interface","vrid","version","interval_cs","vips","priority"}`.
//! Needs CAP_NET_RAW; run it in a director's network namespace with
//! `ip netns exec NS observe_wire`.

use std::time::Duration;

use lvstop::observe::wire::{Expected, WireWatch};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("observe_wire: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let period = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let expected: Vec<Expected> = match args.next() {
        Some(json) => serde_json::from_str(&json)?,
        None => Vec::new(),
    };
    let watch = WireWatch::start(expected)?;
    let mut ticks = tokio::time::interval(Duration::from_millis(period));
    loop {
        ticks.tick().await;
        println!("{}", serde_json::to_string(&watch.report())?);
    }
}
