//! Log output of the long-running commands: one line per event on stderr
//! (journald or the terminal adds the rest). `LVSTOP_LOG` sets the filter
//! with tracing's directive syntax (`debug`, `lvstop::dataplane=trace`);
//! the default is `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("LVSTOP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second init (tests that run several commands in one process) is
    // harmless: the first subscriber stays.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .try_init();
}
