//! Which library survives which big workload on the default stack.
//!
//! Every (library, case) pair runs in a child process on its main thread
//! (the default 8 MiB stack of `ulimit -s`), and again on a 4 GiB-stack
//! thread; the parent reports `ok` with the time, or how the child died
//! (a stack overflow is SIGSEGV/SIGABRT, which cannot be caught in-process).
//!
//! `cargo run --release --bin stack_probe` (or `-- <lib> <case> [big]` for
//! one pair).

use gengc_benches::peers::{bacon, dumpster, gcmodule, gengc, rc, rustcc, rustgc};
use gengc_benches::{on_big_stack, workloads as w, Lib};
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIBS: [&str; 7] = ["Rc", "gengc", "rust-cc", "dumpster", "bacon_rajan_cc", "gcmodule", "gc"];
const CASES: [&str; 5] = ["dll_1m", "chain_1m_drop", "tree_1m", "rings", "random_graph"];

fn case<L: Lib>(name: &str) {
    match name {
        // One 1M doubly linked list, dropped and collected.
        "dll_1m" => {
            let l = w::build_dll::<L>(1_000_000);
            drop(l);
            L::collect();
        }
        // An acyclic 1M singly linked list, dropped (recursive drop glue).
        "chain_1m_drop" => {
            let head = L::link(0);
            let mut tail = head.clone();
            for i in 1..1_000_000 {
                let x = L::link(i);
                L::link_set_next(&tail, &x);
                tail = x;
            }
            drop(tail);
            drop(head);
            L::collect();
        }
        "tree_1m" => {
            black_box(w::tree_1m::<L>());
        }
        "rings" => {
            let r = w::build_rings::<L>(10_000, 100);
            drop(r);
            L::collect();
        }
        "random_graph" => w::random_graph::<L>(w::random_graph_roots::<L>(), 1_000_000),
        _ => panic!("unknown case {name}"),
    }
}

fn dispatch(lib: &str, name: &str) {
    match lib {
        "Rc" => case::<rc::RcLib>(name),
        "gengc" => case::<gengc::GengcLib>(name),
        "rust-cc" => case::<rustcc::RustCcLib>(name),
        "dumpster" => case::<dumpster::DumpsterLib>(name),
        "bacon_rajan_cc" => case::<bacon::BaconLib>(name),
        "gcmodule" => case::<gcmodule::GcmoduleLib>(name),
        "gc" => case::<rustgc::RustGcLib>(name),
        _ => panic!("unknown library {lib}"),
    }
}

fn child(lib: &str, name: &str, big: bool) -> String {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.args([lib, name]);
    if big {
        cmd.arg("big");
    }
    let start = Instant::now();
    let mut proc = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn child");
    loop {
        if let Some(status) = proc.try_wait().expect("wait") {
            let t = start.elapsed();
            return if status.success() {
                format!("ok ({:.0} ms)", t.as_secs_f64() * 1e3)
            } else if let Some(sig) = status.signal() {
                let what = match sig {
                    11 => "SIGSEGV (stack overflow)".to_string(),
                    6 => "SIGABRT (stack overflow or abort)".to_string(),
                    s => format!("signal {s}"),
                };
                format!("**crashed: {what}**")
            } else {
                format!("**failed: exit {}**", status.code().unwrap_or(-1))
            };
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = proc.kill();
            let _ = proc.wait();
            return "**timeout (300 s)**".into();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [lib, name] => dispatch(lib, name),
        [lib, name, big] if big == "big" => on_big_stack(|| dispatch(lib, name)),
        [] => {
            println!("| case | library | default 8 MiB stack | 4 GiB stack |");
            println!("|---|---|---|---|");
            for name in CASES {
                for lib in LIBS {
                    let small = child(lib, name, false);
                    let big = child(lib, name, true);
                    println!("| {name} | {lib} | {small} | {big} |");
                }
            }
        }
        _ => eprintln!("usage: stack_probe [<lib> <case> [big]]"),
    }
}
