//! The chart of the suite: grouped bars, one group per workload, one bar per
//! library, each bar the library's mean time relative to `Rc` in the same
//! group (log scale, bars drawn from the 1× line: up = slower than `Rc`,
//! down = faster). Top panel: the workloads; bottom panel: allocation
//! throughput by object size.
//!
//! Reads criterion's `target/criterion/**/new/{benchmark,estimates}.json`
//! (the mean point estimates, as `scripts/report.py` does) and writes an
//! SVG. No font files are needed: the SVG backend writes `<text>` elements
//! and the viewer renders them; every label is placed explicitly.
//!
//! `cargo run --release --bin chart -- [--out results/chart.svg] [--machine "..."]`

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The libraries, in bar order, with their colours. `Rc` is the 1× line.
const LIBS: [(&str, RGBColor); 6] = [
    ("gengc", RGBColor(214, 39, 40)),
    ("rust-cc", RGBColor(31, 119, 180)),
    ("dumpster", RGBColor(255, 157, 60)),
    ("bacon_rajan_cc", RGBColor(44, 160, 44)),
    ("gcmodule", RGBColor(148, 103, 189)),
    ("gc", RGBColor(140, 86, 75)),
];
const GENGC: RGBColor = LIBS[0].1;

/// (criterion group, parameter or "", label; `\n` separates label lines).
const WORKLOADS: [(&str, &str, &str); 18] = [
    ("binary_trees", "", "binary\ntrees"),
    ("binary_trees_with_parent_pointers", "", "binary trees\n+ parents"),
    ("large_linked_list", "", "large\nlinked list"),
    ("stress_test", "", "stress\ntest"),
    ("random_graph", "", "random\ngraph"),
    ("rings", "", "rings\nbuild+collect"),
    ("rings_reclaim", "", "rings\nreclaim"),
    ("dll_1m", "", "dll 1M\nbuild+collect"),
    ("dll_1m_reclaim", "", "dll 1M\nreclaim"),
    ("churn", "", "churn\n(cycles)"),
    ("tree_1m", "", "tree 1M build\n+walk+drop"),
    ("tree_1m_walk", "", "tree 1M\nwalk"),
    ("tree_1m_drop", "", "tree 1M\ndrop"),
    ("alloc_drop", "", "alloc+drop\nleaf"),
    ("alloc_drop_tracked", "", "alloc+drop\ntracked"),
    ("clone_drop", "", "clone\n+drop"),
    ("build_4m_vs_1m", "1000000", "build 1M\ntracked"),
    ("build_4m_vs_1m", "4000000", "build 4M\ntracked"),
];

const SIZES: [(&str, &str); 9] = [
    ("8", "8 B"),
    ("16", "16 B"),
    ("32", "32 B"),
    ("64", "64 B"),
    ("128", "128 B"),
    ("256", "256 B"),
    ("496", "496 B\n(largest pooled)"),
    ("1024", "1 KiB\n(gengc large obj.)"),
    ("4096", "4 KiB\n(gengc large obj.)"),
];

/// 1-2-5 ticks of the log axis.
const TICKS: [f64; 13] = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

const FONT: &str = "sans-serif";
const W: u32 = 1800;
const H: u32 = 1180;

/// (group, parameter) -> library -> mean ns per iteration.
type Results = BTreeMap<(String, String), BTreeMap<String, f64>>;

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

fn load(dir: &Path, out: &mut Results) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "new") {
            let (Some(b), Some(est)) = (read_json(&p.join("benchmark.json")), read_json(&p.join("estimates.json"))) else {
                continue;
            };
            let group = b["group_id"].as_str().unwrap_or_default().to_string();
            let lib = b["function_id"].as_str().unwrap_or_default().to_string();
            let param = b["value_str"].as_str().unwrap_or_default().to_string();
            if let Some(mean) = est["mean"]["point_estimate"].as_f64() {
                out.entry((group, param)).or_default().insert(lib, mean);
            }
        } else {
            load(&p, out);
        }
    }
}

/// One group of bars: its label and each library's ratio to `Rc`.
struct Group {
    label: String,
    ratios: Vec<Option<f64>>,
}

fn groups(results: &Results, wanted: &[(&str, &str, &str)]) -> Vec<Group> {
    wanted
        .iter()
        .filter_map(|&(group, param, label)| {
            let row = results.get(&(group.to_string(), param.to_string()))?;
            let rc = *row.get("Rc")?;
            Some(Group {
                label: label.to_string(),
                ratios: LIBS.iter().map(|(lib, _)| row.get(*lib).map(|t| t / rc)).collect(),
            })
        })
        .collect()
}

/// The y range: 1-2-5 ticks around every ratio.
fn y_range(gs: &[Group]) -> (f64, f64) {
    let all = gs.iter().flat_map(|g| g.ratios.iter().flatten().copied());
    let (lo, hi) = all.fold((1.0f64, 1.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    let lo = TICKS.iter().rev().copied().find(|&t| t <= lo / 1.1).unwrap_or(TICKS[0]);
    let hi = TICKS.iter().copied().find(|&t| t >= hi * 1.15).unwrap_or(TICKS[TICKS.len() - 1]);
    (lo.min(0.5), hi.max(2.0))
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}×")
    }
}

fn text(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    // The SVG backend divides the size by 1.24.
    (FONT, size * 1.24).into_font().color(&color).pos(Pos::new(h, v))
}

type Res = Result<(), Box<dyn std::error::Error>>;

/// Draws one panel of grouped bars into `area`; labels go on `root` at
/// backend coordinates.
fn panel(root: &DrawingArea<SVGBackend<'_>, Shift>, area: &DrawingArea<SVGBackend<'_>, Shift>, title: &str, gs: &[Group]) -> Res {
    let n = gs.len() as f64;
    let (ymin, ymax) = y_range(gs);
    let mut chart = ChartBuilder::on(area)
        .margin_left(80)
        .margin_right(20)
        .margin_top(34)
        .margin_bottom(62)
        .build_cartesian_2d(0f64..n, (ymin..ymax).log_scale())?;
    let grey = RGBColor(200, 200, 200);
    let dark = RGBColor(40, 40, 40);

    // Panel title, top left of the plot.
    let (px0, py0) = chart.backend_coord(&(0.0, ymax));
    let (px1, py1) = chart.backend_coord(&(n, ymin));
    root.draw(&Text::new(title.to_string(), (px0, py0 - 10), text(15.0, dark, HPos::Left, VPos::Bottom)))?;

    // Alternating group backgrounds, then the horizontal grid with labels.
    for i in (0..gs.len()).step_by(2) {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(i as f64, ymax), (i as f64 + 1.0, ymin)],
            RGBColor(246, 246, 246).filled(),
        )))?;
    }
    for &t in TICKS.iter().filter(|&&t| t >= ymin && t <= ymax) {
        let style = if t == 1.0 { dark.stroke_width(2) } else { grey.stroke_width(1) };
        if t != 1.0 {
            chart.draw_series(std::iter::once(PathElement::new(vec![(0.0, t), (n, t)], style)))?;
        }
        let (x, y) = chart.backend_coord(&(0.0, t));
        let label = if t < 1.0 { format!("{t}×") } else { format!("{t:.0}×") };
        root.draw(&Text::new(label, (x - 8, y), text(12.0, dark, HPos::Right, VPos::Center)))?;
    }
    // Axis frame.
    root.draw(&Rectangle::new([(px0, py0), (px1, py1)], dark.stroke_width(1)))?;
    // Y axis title, rotated.
    root.draw(&Text::new(
        "time relative to Rc (log)".to_string(),
        (px0 - 62, (py0 + py1) / 2),
        text(12.5, dark, HPos::Center, VPos::Center).transform(FontTransform::Rotate270),
    ))?;

    // Bars, from the 1× line.
    let slots = LIBS.len() as f64;
    let (pad, width) = (0.08, 0.84 / slots);
    for (i, g) in gs.iter().enumerate() {
        for (k, r) in g.ratios.iter().enumerate() {
            let Some(r) = *r else { continue };
            let x0 = i as f64 + pad + k as f64 * width;
            // At least ~3 px, so a bar at 1.00× stays visible.
            let (top, bottom) = if r >= 1.0 { (r.max(1.025), 1.0) } else { (1.0, r.min(0.975)) };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0 + 0.008, top.min(ymax)), (x0 + width - 0.008, bottom.max(ymin))],
                LIBS[k].1.filled(),
            )))?;
        }
    }
    // The Rc line on top of the bars.
    chart.draw_series(std::iter::once(PathElement::new(vec![(0.0, 1.0), (n, 1.0)], dark.stroke_width(2))))?;

    // Group labels under the axis, and gengc's ratio to Rc in its colour.
    for (i, g) in gs.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, ymin));
        let mut y = y + 6;
        for line in g.label.split('\n') {
            root.draw(&Text::new(line.to_string(), (x, y), text(12.0, dark, HPos::Center, VPos::Top)))?;
            y += 15;
        }
        if let Some(r) = g.ratios[0] {
            root.draw(&Text::new(
                fmt_ratio(r),
                (x, y + 2),
                (FONT, 12.0 * 1.24).into_font().style(FontStyle::Bold).color(&GENGC).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
    }
    Ok(())
}

fn main() -> Res {
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results/chart.svg");
    let mut machine = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(args.next().expect("--out PATH")),
            "--machine" => machine = args.next().expect("--machine TEXT"),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let criterion = std::env::var_os("CRITERION_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion"));
    let mut results = Results::new();
    load(&criterion, &mut results);
    let top = groups(&results, &WORKLOADS);
    let sizes: Vec<(&str, &str, &str)> = SIZES.iter().map(|&(p, l)| ("alloc_by_size", p, l)).collect();
    let bottom = groups(&results, &sizes);
    if top.is_empty() && bottom.is_empty() {
        return Err(format!("no criterion results with an Rc row under {}", criterion.display()).into());
    }

    let root = SVGBackend::new(&out, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let dark = RGBColor(20, 20, 20);
    root.draw(&Text::new(
        "gengc vs std::rc::Rc and the Rust cycle collectors: mean time relative to Rc (log scale; bar above the line = slower than Rc, below = faster)".to_string(),
        (20, 14),
        text(17.0, dark, HPos::Left, VPos::Top),
    ))?;
    if !machine.is_empty() {
        root.draw(&Text::new(machine.clone(), (20, 40), text(13.0, RGBColor(90, 90, 90), HPos::Left, VPos::Top)))?;
    }
    // Legend, one line under the title.
    let mut x = 20;
    let y = 64;
    root.draw(&PathElement::new(vec![(x, y + 7), (x + 22, y + 7)], dark.stroke_width(2)))?;
    root.draw(&Text::new("Rc = 1× (the line)".to_string(), (x + 28, y + 7), text(13.0, dark, HPos::Left, VPos::Center)))?;
    x += 175;
    for (name, color) in LIBS {
        root.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], color.filled()))?;
        root.draw(&Text::new(name.to_string(), (x + 20, y + 7), text(13.0, dark, HPos::Left, VPos::Center)))?;
        x += 30 + (name.len() as i32) * 8;
    }
    root.draw(&Text::new(
        "red figure under each group: gengc's time ÷ Rc's".to_string(),
        (x + 20, y + 7),
        (FONT, 13.0 * 1.24).into_font().style(FontStyle::Bold).color(&GENGC).pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;

    let body = root.margin(86, 0, 0, 0);
    let (upper, lower) = body.split_vertically(((H - 86) as f64 * 0.6) as u32);
    panel(&root, &upper, "Workloads (rust-cc-benchmarks' four, dumpster's random graph, gengc's own)", &top)?;
    panel(&root, &lower, "Allocation by payload size: 100 values live at once, then dropped (per object)", &bottom)?;
    root.draw(&Text::new(
        "Not drawn (no Rc equivalent): full collection per live object, young-collection pauses, memory per object. See benches/results/RESULTS.md."
            .to_string(),
        (20, H as i32 - 8),
        text(12.0, RGBColor(90, 90, 90), HPos::Left, VPos::Bottom),
    ))?;
    root.present()?;
    println!("wrote {}", out.display());
    Ok(())
}
