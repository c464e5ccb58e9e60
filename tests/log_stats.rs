//! With the `log` feature, `DebugFlags::STATS` reports through the `log`
//! crate (target `gengc`) instead of standard error.
#![cfg(feature = "log")]

use gengc::gc::{self, DebugFlags};
use std::sync::Mutex;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "gengc"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            LINES
                .lock()
                .unwrap()
                .push(format!("{} {}", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

#[test]
fn stats_go_to_the_logger() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    gc::set_debug(DebugFlags::STATS);
    gc::collect_generation(1);
    gc::set_debug(DebugFlags::empty());
    gc::collect();
    let lines = LINES.lock().unwrap();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "INFO gc: collecting generation 1...");
    assert!(lines[1].starts_with("INFO gc: objects in each generation: "));
    assert_eq!(lines[2], "INFO gc: objects in permanent generation: 0");
    assert!(
        lines[3].starts_with("INFO gc: done, 0 unreachable, 0 uncollectable, "),
        "{}",
        lines[3]
    );
}
