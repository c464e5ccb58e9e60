//! Every library computes the same answers on small versions of every
//! workload, and the collectors reclaim what they should.

use gengc_benches::peers::gengc::GengcLib;
use gengc_benches::rng::SplitMix64;
use gengc_benches::{for_each_lib, on_big_stack, workloads as w, Lib};

fn answers<L: Lib>(out: &mut Vec<(&'static str, String)>) {
    let leaf = L::leaf(7);
    let mut small: Vec<L::Blob<62>> = Vec::new();
    let mut large: Vec<L::Blob<512>> = Vec::new();
    w::alloc_batch::<L, 62>(&mut small, 100);
    w::alloc_batch::<L, 512>(&mut large, 100);
    w::alloc_drop::<L>(100);
    w::clone_drop::<L>(&leaf, 100);
    assert_eq!(L::leaf_get(&leaf), 7);
    let t = w::build_tree::<L>(10);
    let sum = L::tree_sum(&t);
    drop(t);
    let rings = w::build_rings::<L>(10, 10);
    drop(rings);
    let dll = w::build_dll::<L>(1000);
    assert_eq!(L::link_chain_len(&dll), 1000);
    drop(dll);
    let live = w::live_objects::<L>(1000);
    w::churn::<L>(5000);
    drop(live);
    let heap = w::live_heap::<L>(1000);
    for l in &heap {
        L::mark_candidate(l);
    }
    L::collect();
    assert_eq!(L::link_chain_len(&heap[999]), 11); // 999, 499, .., 1, 0
    drop(heap);
    let bt = w::binary_trees::<L>(8);
    let btp = w::binary_trees_with_parent::<L>(8);
    let ll = w::large_linked_list::<L>(100);
    let st = w::stress_test::<L>();
    w::random_graph::<L>(w::random_graph_roots::<L>(), 10_000);
    L::collect();
    out.push((L::NAME, format!("{sum} {bt:?} {btp:?} {ll:?} {st:?}")));
}

#[test]
fn all_libraries_agree() {
    on_big_stack(|| {
        let mut out = Vec::new();
        for_each_lib!(answers(&mut out));
        answers::<gengc_benches::peers::gengc::acyclic::GengcAcyclicLib>(&mut out);
        for (name, a) in &out {
            println!("{name}: {a}");
            assert_eq!(a, &out[0].1, "{name} disagrees with {}", out[0].0);
        }
    });
}

#[test]
fn gengc_reclaims_everything() {
    on_big_stack(|| {
        gengc::collect();
        let before = gengc::memory_report();
        let rings = w::build_rings::<GengcLib>(100, 100);
        drop(rings);
        assert_eq!(gengc::collect(), 10_000);
        let dll = w::build_dll::<GengcLib>(100_000);
        drop(dll);
        assert_eq!(gengc::collect(), 100_000);
        w::churn::<GengcLib>(10_000);
        w::random_graph::<GengcLib>(w::random_graph_roots::<GengcLib>(), 100_000);
        w::stress_test::<GengcLib>();
        gengc::collect();
        assert_eq!(gengc::gc::generation_sizes(), (0, 0, 0));
        let after = gengc::memory_report();
        println!("before:\n{before}\nafter:\n{after}");
    });
}

#[test]
fn rng_is_deterministic() {
    let mut a = SplitMix64::new(12345);
    let mut b = SplitMix64::new(12345);
    for _ in 0..1000 {
        assert_eq!(a.below(17), b.below(17));
    }
}
