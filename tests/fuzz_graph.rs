//! Seeded, reproducible random-graph fuzz of gengc against an exact model.
//!
//! Each episode runs on a fresh thread (a fresh heap) and performs random
//! operations on a pool of root handles: create nodes of five types (small,
//! medium and large pooled/large-object layouts, two with a finalizer that
//! sometimes resurrects a neighbour into a thread-local), add / remove /
//! replace / clear edges (through `RefCell<Vec<Gc<dyn GNode>>>`), drop and
//! clone roots, downgrade / upgrade / drop `Weak`s, hold a `RefCell`
//! mutably borrowed across a collection (also on *garbage* nodes, through a
//! raw pointer), `Gc::get_mut` with a collection while the `&mut` is live,
//! chains of `get_mut`-lent objects and root handles moved (not cloned)
//! into other nodes (the lend flags survive: `detect.rs`'s fixpoint), young
//! / middle / full collections, automatic collections (random thresholds),
//! freeze / unfreeze, and releasing the resurrected handles.
//!
//! A **model** mirrors the heap: ids, edges (in order), strong and weak
//! counts, generations, the finalized / condemned / lent flags. It predicts
//! every refcount death (cascades, finalizer resurrections included) and
//! simulates every collection — CPython's algorithm on the model graph: the
//! set, internal references, lent objects, marking, finalizers, the
//! resurrection check, teardown. After every operation the run checks:
//!
//! - the ids dropped (each node has a drop detector) are *exactly* the ones
//!   the model predicted, each once; the finalizers that ran likewise;
//! - every collection (explicit or automatic, seen through a callback)
//!   returned exactly the model's count;
//! - `gc::generation_sizes()` and `gc::freeze_count()` match the model;
//!   the resurrection holder holds exactly the predicted handles;
//! - one random root: strong / weak counts, generation, finalized flag and
//!   its edge list; every `Weak::upgrade` agrees with the model;
//! - after every explicit collection, a plain reachability oracle: every node
//!   reachable from the roots (and the resurrection holder, frozen objects,
//!   a borrowed `RefCell`'s targets) is alive; after a *full* collection,
//!   every node not so reachable is dropped.
//!
//! At the end of an episode everything is released and collected: no node
//! is alive, no pool block is used, no large object remains.
//!
//! Reproduce a failure with `GENGC_FUZZ_SEED=<seed> [GENGC_FUZZ_OPS=<n>]
//! cargo test --release --test fuzz_graph fuzz_seed_from_env -- --nocapture`;
//! add `GENGC_FUZZ_EPISODES=<k>` to soak seeds `seed..seed + k`.
//! The same engine is driven by fuzzer bytes in `fuzz/fuzz_targets/graph_ops.rs`.

#![allow(dead_code)]

use gengc::gc::{self, CallbackPhase};
use gengc::{coerce_gc, Finalize, Gc, Trace, Weak};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;

// ---------------------------------------------------------------------------
// Choice sources: a seeded PRNG, or the bytes of a fuzz input
// ---------------------------------------------------------------------------

/// splitmix64: tiny, fast, and good enough to drive a fuzzer.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Where the engine's decisions come from.
pub trait Choices {
    /// A value in `0..n` (`n >= 1`).
    fn below(&mut self, n: u32) -> u32;
    /// Whether the source has run dry (a fuzz input is consumed).
    fn exhausted(&self) -> bool {
        false
    }
}

impl Choices for SplitMix64 {
    fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }
}

/// Decisions read from fuzzer bytes; zeros once the input is consumed.
pub struct ByteChoices {
    data: Vec<u8>,
    pos: usize,
}

impl ByteChoices {
    pub fn new(data: Vec<u8>) -> ByteChoices {
        ByteChoices { data, pos: 0 }
    }
}

impl Choices for ByteChoices {
    fn below(&mut self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let bytes = if n <= 256 { 1 } else { 2 };
        let mut v = 0u32;
        for _ in 0..bytes {
            v = (v << 8) | u32::from(self.data.get(self.pos).copied().unwrap_or(0));
            self.pos += 1;
        }
        v % n
    }
    fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }
}

// ---------------------------------------------------------------------------
// The node types
// ---------------------------------------------------------------------------

/// What every node type shares: an id, the edges, a drop detector.
pub trait GNode: Trace {
    fn core(&self) -> &Core;
    fn core_mut(&mut self) -> &mut Core;
}

#[derive(Trace)]
pub struct Core {
    #[gc(skip)]
    id: u32,
    edges: RefCell<Vec<Gc<dyn GNode>>>,
    #[gc(skip)]
    _detector: Detector,
}

/// A small pooled node.
#[derive(Trace)]
struct Small {
    core: Core,
}

/// A bigger pooled node (~380-byte block).
#[derive(Trace)]
struct Medium {
    core: Core,
    #[gc(skip)]
    _pad: [u64; 40],
}

/// A large object (> 512 bytes: its own allocation).
#[derive(Trace)]
struct Large {
    core: Core,
    #[gc(skip)]
    _pad: [u8; 600],
}

/// A pooled node with a finalizer that may resurrect its first neighbour.
#[derive(Trace)]
#[gc(finalize)]
struct Fin {
    core: Core,
    #[gc(skip)]
    resurrect: bool,
}

/// A large object with the same finalizer.
#[derive(Trace)]
#[gc(finalize)]
struct FinLarge {
    core: Core,
    #[gc(skip)]
    resurrect: bool,
    #[gc(skip)]
    _pad: [u8; 700],
}

macro_rules! gnode {
    ($($t:ty),*) => {$(
        impl GNode for $t {
            fn core(&self) -> &Core {
                &self.core
            }
            fn core_mut(&mut self) -> &mut Core {
                &mut self.core
            }
        }
    )*};
}
gnode!(Small, Medium, Large, Fin, FinLarge);

impl Finalize for Fin {
    fn finalize(&self) {
        finalize_node(&self.core, self.resurrect);
    }
}

impl Finalize for FinLarge {
    fn finalize(&self) {
        finalize_node(&self.core, self.resurrect);
    }
}

#[derive(Debug)]
enum Ev {
    Drop(u32),
    Fin(u32),
    Violation(String),
}

#[derive(Default)]
struct Shared {
    /// `dead[id]`: the node's value has been dropped.
    dead: Vec<bool>,
    events: Vec<Ev>,
}

thread_local! {
    static SHARED: RefCell<Shared> = RefCell::new(Shared::default());
    /// Where resurrecting finalizers put the neighbour they save.
    static HOLDER: RefCell<Vec<Gc<dyn GNode>>> = const { RefCell::new(Vec::new()) };
    /// (generation, collected) of every collection, from a callback.
    static COLLECTIONS: RefCell<Vec<(usize, Option<usize>)>> = const { RefCell::new(Vec::new()) };
}

/// The drop detector: a leaf owning no `Gc`.
pub struct Detector(u32);

impl Drop for Detector {
    fn drop(&mut self) {
        let id = self.0;
        // `try_with`: a leaked node may die during thread-exit teardown.
        let _ = SHARED.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.dead[id as usize] {
                s.events
                    .push(Ev::Violation(format!("node {id} dropped twice")));
            }
            s.dead[id as usize] = true;
            s.events.push(Ev::Drop(id));
        });
    }
}

fn finalize_node(core: &Core, resurrect: bool) {
    let id = core.id;
    let Ok(edges) = core.edges.try_borrow() else {
        SHARED.with(|s| {
            s.borrow_mut().events.push(Ev::Violation(format!(
                "finalizer of {id}: own RefCell mutably borrowed"
            )))
        });
        return;
    };
    SHARED.with(|s| {
        let mut s = s.borrow_mut();
        s.events.push(Ev::Fin(id));
        if s.dead[id as usize] {
            s.events
                .push(Ev::Violation(format!("finalizer of {id} after its drop")));
        }
        for e in edges.iter() {
            let t = e.core().id;
            if s.dead[t as usize] {
                s.events.push(Ev::Violation(format!(
                    "finalizer of {id} sees neighbour {t} already dropped"
                )));
            }
        }
    });
    if resurrect {
        if let Some(first) = edges.first() {
            let saved = first.clone();
            HOLDER.with(|h| h.borrow_mut().push(saved));
        }
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Small,
    Medium,
    Large,
    Fin,
    FinLarge,
}

impl Kind {
    fn has_finalizer(self) -> bool {
        matches!(self, Kind::Fin | Kind::FinLarge)
    }
}

const UNTRACKED: u8 = u8::MAX;
const FROZEN: u8 = 3;

#[derive(Clone)]
struct MNode {
    kind: Kind,
    alive: bool,
    edges: Vec<u32>,
    strong: u32,
    /// `Weak` handles alive.
    weak: u32,
    /// 0..=2, FROZEN, or UNTRACKED once dead.
    gen: u8,
    finalized: bool,
    condemned: bool,
    resurrect: bool,
    /// The lent marker (top bit of the strong count) as the library keeps it.
    lent: bool,
    ptr: *const dyn GNode,
    live_pos: usize,
    // Collection scratch.
    in_set: bool,
    internal: u32,
    mark: bool,
}

/// What detection decides for one collection.
struct Plan {
    set: Vec<u32>,
    /// Objects whose lent flag the count phase clears.
    unlent: Vec<u32>,
    garbage: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Create(Kind),
    AddEdge,
    RemoveEdge,
    ReplaceEdge,
    ClearEdges,
    DropRoot,
    CloneRoot,
    Downgrade,
    Upgrade,
    DropWeak,
    ReleaseHolder,
    BorrowAcrossCollect(usize),
    BorrowAcrossCreate,
    Collect(usize),
    Freeze,
    Unfreeze,
    SetThreshold,
    GetMut,
    MoveRoot,
    LentChain(usize),
}

/// Totals over a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub ops: u64,
    pub created: u64,
    pub collections: u64,
    pub auto_collections: u64,
    pub collected: u64,
    pub finalized: u64,
    pub resurrected: u64,
    pub borrowed_garbage: u64,
    pub get_mut_collects: u64,
    pub upgrades_ok: u64,
    pub max_live: u64,
    /// Collections whose lent-object fixpoint needed a second pass.
    pub lent_chains: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.ops += o.ops;
        self.created += o.created;
        self.collections += o.collections;
        self.auto_collections += o.auto_collections;
        self.collected += o.collected;
        self.finalized += o.finalized;
        self.resurrected += o.resurrected;
        self.borrowed_garbage += o.borrowed_garbage;
        self.get_mut_collects += o.get_mut_collects;
        self.upgrades_ok += o.upgrades_ok;
        self.lent_chains += o.lent_chains;
        self.max_live = self.max_live.max(o.max_live);
    }
}

const MAX_WEAKS: usize = 32;

pub struct Engine<C: Choices> {
    src: C,
    seed: u64,
    step: u64,
    history: VecDeque<(u64, Op)>,
    // Model.
    m: Vec<MNode>,
    live: Vec<u32>,
    roots_m: Vec<u32>,
    holder_m: Vec<u32>,
    gen_size: [usize; 4],
    exp_drops: Vec<u32>,
    exp_fins: Vec<u32>,
    borrowed: Option<u32>,
    // Real handles.
    roots: Vec<Gc<dyn GNode>>,
    weaks: Vec<(u32, Weak<dyn GNode>)>,
    /// Heap size knob: 8, 48 or 256 roots at most.
    max_roots: usize,
    stats: Stats,
}

impl fmt::Debug for MNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} alive={} strong={} weak={} gen={} edges={:?} fin={} cond={} lent={}",
            self.kind,
            self.alive,
            self.strong,
            self.weak,
            self.gen,
            self.edges,
            self.finalized,
            self.condemned,
            self.lent
        )
    }
}

impl<C: Choices> Engine<C> {
    pub fn new(src: C, seed: u64) -> Engine<C> {
        Engine {
            src,
            seed,
            step: 0,
            history: VecDeque::new(),
            m: Vec::new(),
            live: Vec::new(),
            roots_m: Vec::new(),
            holder_m: Vec::new(),
            gen_size: [0; 4],
            exp_drops: Vec::new(),
            exp_fins: Vec::new(),
            borrowed: None,
            roots: Vec::new(),
            weaks: Vec::new(),
            max_roots: 48,
            stats: Stats::default(),
        }
    }

    #[track_caller]
    fn fail(&self, msg: String) -> ! {
        let hist: Vec<String> = self
            .history
            .iter()
            .map(|(i, op)| format!("  #{i}: {op:?}"))
            .collect();
        panic!(
            "fuzz_graph: seed {} (0x{:x}), op #{}: {}\nlast ops:\n{}\nreproduce: GENGC_FUZZ_SEED={} cargo test --release --test fuzz_graph fuzz_seed_from_env -- --nocapture",
            self.seed,
            self.seed,
            self.step,
            msg,
            hist.join("\n"),
            self.seed
        );
    }

    #[track_caller]
    fn check(&self, cond: bool, msg: impl FnOnce() -> String) {
        if !cond {
            self.fail(msg());
        }
    }

    /// The edges of node `b`, read through the `borrow_mut` guard held
    /// across an operation, are still the model's (`when` ends the message).
    fn check_borrowed_edges(&self, b: u32, edges: &[Gc<dyn GNode>], when: &str) {
        let got: Vec<u32> = edges.iter().map(|e| e.core().id).collect();
        self.check(got == self.m[b as usize].edges, || {
            format!(
                "borrowed node {b}: edges {got:?}{when}, model {:?}",
                self.m[b as usize].edges
            )
        });
    }

    // ----- model primitives ------------------------------------------------

    fn m_inc(&mut self, id: u32) {
        let n = &mut self.m[id as usize];
        assert!(n.alive, "model: inc on dead {id}");
        n.strong += 1;
    }

    /// A real handle was cloned (`Gc::clone` ends a `get_mut` lend).
    fn m_clone(&mut self, id: u32) {
        self.m_inc(id);
        self.m[id as usize].lent = false;
    }

    fn m_dec(&mut self, id: u32) {
        let mut work = vec![id];
        while let Some(x) = work.pop() {
            let n = &mut self.m[x as usize];
            if !n.alive {
                self.fail(format!("model: a reference to dead node {x} was released"));
            }
            n.strong -= 1;
            if n.strong == 0 {
                self.m_die(x, &mut work);
            }
        }
    }

    /// Death by reference counting: finalizer (maybe resurrecting), drop,
    /// release the edges.
    fn m_die(&mut self, x: u32, work: &mut Vec<u32>) {
        let n = &self.m[x as usize];
        if n.kind.has_finalizer() && !n.finalized {
            self.m[x as usize].finalized = true;
            self.exp_fins.push(x);
            let n = &self.m[x as usize];
            if n.resurrect && !n.edges.is_empty() {
                let t = n.edges[0];
                self.holder_m.push(t);
                self.m_clone(t);
                self.stats.resurrected += 1;
            }
        }
        self.kill(x);
        let edges = std::mem::take(&mut self.m[x as usize].edges);
        work.extend(edges);
    }

    /// Marks a node dead (value dropped), untracked.
    fn kill(&mut self, x: u32) {
        let n = &mut self.m[x as usize];
        n.alive = false;
        n.lent = false;
        if n.gen != UNTRACKED {
            self.gen_size[n.gen as usize] -= 1;
            n.gen = UNTRACKED;
        }
        let pos = n.live_pos;
        self.live.swap_remove(pos);
        if let Some(&moved) = self.live.get(pos) {
            self.m[moved as usize].live_pos = pos;
        }
        self.exp_drops.push(x);
    }

    fn set_gen(&mut self, x: u32, g: u8) {
        let n = &mut self.m[x as usize];
        if n.gen != UNTRACKED {
            self.gen_size[n.gen as usize] -= 1;
        }
        n.gen = g;
        if g != UNTRACKED {
            self.gen_size[g as usize] += 1;
        }
    }

    fn may_be_lent(&self, x: u32) -> bool {
        let n = &self.m[x as usize];
        n.lent && n.strong == 1 && n.weak == 0
    }

    /// Detection on generations `0..=g` (CPython's gc_refs, as detect.rs
    /// does it: count internal references, lent objects last, mark).
    fn detect(&mut self, g: usize) -> Plan {
        let borrowed = self.borrowed;
        let set: Vec<u32> = self
            .live
            .iter()
            .copied()
            .filter(|&x| (self.m[x as usize].gen as usize) <= g)
            .collect();
        for &x in &set {
            let n = &mut self.m[x as usize];
            n.in_set = true;
            n.internal = 0;
            n.mark = false;
        }
        // Count. A mutably borrowed RefCell traces nothing; a lent object is
        // traced only once all its references are found inside the set.
        let mut lent = Vec::new();
        let mut unlent = Vec::new();
        let mut traced = Vec::new();
        for &x in &set {
            if self.may_be_lent(x) {
                lent.push(x);
            } else {
                if self.m[x as usize].lent {
                    unlent.push(x);
                }
                traced.push(x);
            }
        }
        let count_edges = |m: &mut Vec<MNode>, x: u32| {
            if Some(x) == borrowed {
                return;
            }
            for i in 0..m[x as usize].edges.len() {
                let t = m[x as usize].edges[i];
                if m[t as usize].in_set {
                    m[t as usize].internal += 1;
                }
            }
        };
        for &x in &traced {
            count_edges(&mut self.m, x);
        }
        let mut still_lent = Vec::new();
        let mut passes = 0;
        loop {
            passes += 1;
            let mut changed = false;
            still_lent.clear();
            for &x in &lent {
                let n = &self.m[x as usize];
                if n.strong == n.internal {
                    unlent.push(x);
                    count_edges(&mut self.m, x);
                    changed = true;
                } else {
                    still_lent.push(x);
                }
            }
            std::mem::swap(&mut lent, &mut still_lent);
            if !changed {
                break;
            }
        }
        if passes > 2 {
            self.stats.lent_chains += 1;
        }
        // Mark: what is referenced from outside, and what it reaches (a
        // lent object is not read; a borrowed RefCell yields nothing).
        let mut stack = Vec::new();
        for &x in &set {
            let n = &self.m[x as usize];
            if n.mark || n.strong <= n.internal {
                continue;
            }
            self.m[x as usize].mark = true;
            stack.push(x);
            while let Some(p) = stack.pop() {
                if Some(p) == borrowed || lent.contains(&p) {
                    continue;
                }
                for i in 0..self.m[p as usize].edges.len() {
                    let t = self.m[p as usize].edges[i];
                    let tn = &mut self.m[t as usize];
                    if tn.in_set && !tn.mark {
                        tn.mark = true;
                        stack.push(t);
                    }
                }
            }
        }
        let garbage = set
            .iter()
            .copied()
            .filter(|&x| !self.m[x as usize].mark)
            .collect();
        Plan {
            set,
            unlent,
            garbage,
        }
    }

    fn clear_scratch(&mut self, set: &[u32]) {
        for &x in set {
            self.m[x as usize].in_set = false;
        }
    }

    /// A whole collection of generations `0..=g`; returns what it frees.
    fn m_collect(&mut self, g: usize) -> usize {
        let plan = self.detect(g);
        self.clear_scratch(&plan.set);
        for &x in &plan.unlent {
            self.m[x as usize].lent = false;
        }
        let dest = (g + 1).min(2) as u8;
        let garbage = plan.garbage;
        for &x in &plan.set {
            if self.m[x as usize].mark {
                self.set_gen(x, dest);
            }
        }
        for &x in &garbage {
            self.set_gen(x, UNTRACKED);
            self.m[x as usize].condemned = true;
        }
        if garbage.is_empty() {
            return 0;
        }
        // Finalizers (each once), before anything is dropped.
        let mut any = false;
        for &x in &garbage {
            let n = &self.m[x as usize];
            if n.kind.has_finalizer() && !n.finalized {
                any = true;
                self.m[x as usize].finalized = true;
                self.exp_fins.push(x);
                let n = &self.m[x as usize];
                if n.resurrect && !n.edges.is_empty() {
                    let t = n.edges[0];
                    self.holder_m.push(t);
                    self.m_clone(t);
                    self.stats.resurrected += 1;
                }
            }
        }
        // Resurrection check: detection on the garbage alone.
        let still: Vec<u32> = if any {
            for &x in &garbage {
                let n = &mut self.m[x as usize];
                n.in_set = true;
                n.internal = 0;
                n.mark = false;
            }
            for &x in &garbage {
                for i in 0..self.m[x as usize].edges.len() {
                    let t = self.m[x as usize].edges[i];
                    if self.m[t as usize].in_set {
                        self.m[t as usize].internal += 1;
                    }
                }
            }
            let mut stack = Vec::new();
            for &x in &garbage {
                let n = &self.m[x as usize];
                if n.mark || n.strong <= n.internal {
                    continue;
                }
                self.m[x as usize].mark = true;
                stack.push(x);
                while let Some(p) = stack.pop() {
                    for i in 0..self.m[p as usize].edges.len() {
                        let t = self.m[p as usize].edges[i];
                        let tn = &mut self.m[t as usize];
                        if tn.in_set && !tn.mark {
                            tn.mark = true;
                            stack.push(t);
                        }
                    }
                }
            }
            self.clear_scratch(&garbage);
            let mut still = Vec::new();
            for &x in &garbage {
                if self.m[x as usize].mark {
                    self.set_gen(x, 2);
                } else {
                    still.push(x);
                }
            }
            still
        } else {
            garbage
        };
        // Drop every value, then release what they held outside.
        for &x in &still {
            self.kill(x);
        }
        for &x in &still {
            let edges = std::mem::take(&mut self.m[x as usize].edges);
            for t in edges {
                if self.m[t as usize].alive {
                    self.m_dec(t);
                }
            }
        }
        still.len()
    }

    /// The plain oracle: reachable from the roots (and the other things
    /// that keep objects alive by design) means alive; after a full
    /// collection, nothing else is alive.
    fn oracle(&self, full: bool) {
        let mut seen = vec![false; self.m.len()];
        let mut stack: Vec<u32> = Vec::new();
        stack.extend(&self.roots_m);
        stack.extend(&self.holder_m);
        for &x in &self.live {
            let n = &self.m[x as usize];
            if n.gen == FROZEN || n.lent {
                stack.push(x);
            }
        }
        if let Some(b) = self.borrowed {
            stack.extend(&self.m[b as usize].edges);
        }
        while let Some(x) = stack.pop() {
            if std::mem::replace(&mut seen[x as usize], true) {
                continue;
            }
            stack.extend(&self.m[x as usize].edges);
        }
        SHARED.with(|s| {
            let s = s.borrow();
            for (x, &reached) in seen.iter().enumerate() {
                if reached {
                    self.check(self.m[x].alive && !s.dead[x], || {
                        format!("oracle: node {x} is reachable but dropped")
                    });
                } else if full {
                    self.check(!self.m[x].alive && s.dead[x], || {
                        format!(
                            "oracle: node {x} is unreachable after a full collection but alive: {:?}",
                            self.m[x]
                        )
                    });
                }
            }
        });
    }

    // ----- real-world helpers ----------------------------------------------

    fn take_collections(&mut self) -> Vec<(usize, Option<usize>)> {
        COLLECTIONS.with(|c| std::mem::take(&mut *c.borrow_mut()))
    }

    /// Replays the collections the callback saw (automatic ones) on the
    /// model, checking each one's count.
    fn replay_auto_collections(&mut self) {
        for (g, collected) in self.take_collections() {
            let n = self.m_collect(g);
            self.stats.collections += 1;
            self.stats.auto_collections += 1;
            self.stats.collected += n as u64;
            self.check(collected == Some(n), || {
                format!(
                    "automatic collection of generation {g} freed {collected:?}, model says {n}"
                )
            });
        }
    }

    /// An explicit collection the caller just ran, which returned `r`.
    fn replay_explicit(&mut self, g: usize, r: usize) {
        let recs = self.take_collections();
        self.check(recs.len() == 1 && recs[0].0 == g, || {
            format!("collect_generation({g}) reported {recs:?} to the callback")
        });
        // Frozen objects are outside every collection: what only they
        // reach is kept, even when the teardown frees them (a frozen object
        // held only by garbage dies by reference counting there, and what
        // it alone held becomes garbage for the next collection, as in
        // CPython). So the oracle's full check needs none frozen before.
        let none_frozen = self.gen_size[FROZEN as usize] == 0;
        let n = self.m_collect(g);
        self.stats.collections += 1;
        self.stats.collected += n as u64;
        self.check(r == n && recs[0].1 == Some(n), || {
            format!(
                "collect_generation({g}) returned {r} (callback {:?}), model says {n}",
                recs[0].1
            )
        });
        self.oracle(g == 2 && none_frozen);
    }

    /// A temporary handle into the graph: a random root, then up to three
    /// random edges. The model counts the temporary.
    fn walk(&mut self) -> Option<(u32, Gc<dyn GNode>)> {
        if self.roots.is_empty() {
            return None;
        }
        let r = self.src.below(self.roots.len() as u32) as usize;
        let mut cur = self.roots[r].clone();
        let mut id = self.roots_m[r];
        self.m_clone(id);
        self.check(cur.core().id == id, || {
            format!("root {r} is node {} but the model says {id}", cur.core().id)
        });
        let steps = self.src.below(4);
        for _ in 0..steps {
            let next = {
                let Ok(e) = cur.core().edges.try_borrow() else {
                    break;
                };
                if e.is_empty() {
                    break;
                }
                let want = &self.m[id as usize].edges;
                self.check(e.len() == want.len(), || {
                    format!("node {id} has {} edges, the model {:?}", e.len(), want)
                });
                let i = self.src.below(e.len() as u32) as usize;
                let next = e[i].clone();
                self.check(next.core().id == want[i], || {
                    format!(
                        "edge {id}[{i}] leads to {}, the model says {}",
                        next.core().id,
                        want[i]
                    )
                });
                next
            };
            let nid = next.core().id;
            self.m_clone(nid);
            let prev = std::mem::replace(&mut cur, next);
            drop(prev);
            self.m_dec(id);
            id = nid;
        }
        Some((id, cur))
    }

    fn drop_temp(&mut self, id: u32, g: Gc<dyn GNode>) {
        drop(g);
        self.m_dec(id);
    }

    fn pick_kind(&mut self) -> Kind {
        match self.src.below(10) {
            0..=3 => Kind::Small,
            4 => Kind::Medium,
            5 => Kind::Large,
            6..=8 => Kind::Fin,
            _ => Kind::FinLarge,
        }
    }

    fn create(&mut self, kind: Kind) {
        let id = self.m.len() as u32;
        let resurrect = kind.has_finalizer() && self.src.below(3) == 0;
        SHARED.with(|s| s.borrow_mut().dead.push(false));
        let core = Core {
            id,
            edges: RefCell::new(Vec::new()),
            _detector: Detector(id),
        };
        let g: Gc<dyn GNode> = match kind {
            Kind::Small => coerce_gc!(Gc::new(Small { core }) => dyn GNode),
            Kind::Medium => coerce_gc!(Gc::new(Medium { core, _pad: [0; 40] }) => dyn GNode),
            Kind::Large => coerce_gc!(Gc::new(Large { core, _pad: [0; 600] }) => dyn GNode),
            Kind::Fin => coerce_gc!(Gc::new(Fin { core, resurrect }) => dyn GNode),
            Kind::FinLarge => {
                coerce_gc!(Gc::new(FinLarge { core, resurrect, _pad: [0; 700] }) => dyn GNode)
            }
        };
        // Automatic collections run before the new block is taken.
        self.replay_auto_collections();
        self.m.push(MNode {
            kind,
            alive: true,
            edges: Vec::new(),
            strong: 1,
            weak: 0,
            gen: UNTRACKED,
            finalized: false,
            condemned: false,
            resurrect,
            lent: false,
            ptr: Gc::as_ptr(&g),
            live_pos: self.live.len(),
            in_set: false,
            internal: 0,
            mark: false,
        });
        self.live.push(id);
        self.set_gen(id, 0);
        self.roots.push(g);
        self.roots_m.push(id);
        self.stats.created += 1;
    }

    fn drop_root(&mut self, i: usize) {
        let g = self.roots.swap_remove(i);
        let id = self.roots_m.swap_remove(i);
        drop(g);
        self.m_dec(id);
    }

    fn release_holder(&mut self) {
        let handles = HOLDER.with(|h| std::mem::take(&mut *h.borrow_mut()));
        let ids = std::mem::take(&mut self.holder_m);
        drop(handles);
        for id in ids {
            self.m_dec(id);
        }
    }

    /// A node, reachable or not, whose `RefCell` can be borrowed across a
    /// collection of `g` without the collection freeing it.
    fn pick_borrowable(&mut self, g: usize) -> Option<u32> {
        if self.live.is_empty() {
            return None;
        }
        // Prefer nodes no root reaches (garbage not collected yet).
        let mut reached = vec![false; self.m.len()];
        let mut stack: Vec<u32> = self.roots_m.iter().chain(&self.holder_m).copied().collect();
        while let Some(x) = stack.pop() {
            if !std::mem::replace(&mut reached[x as usize], true) {
                stack.extend(&self.m[x as usize].edges);
            }
        }
        let unreached: Vec<u32> = self
            .live
            .iter()
            .copied()
            .filter(|&x| !reached[x as usize])
            .collect();
        let cand = if !unreached.is_empty() && self.src.below(4) != 0 {
            unreached[self.src.below(unreached.len() as u32) as usize]
        } else {
            self.live[self.src.below(self.live.len() as u32) as usize]
        };
        // Would the collection free it (found garbage, or dying by
        // reference counting in its teardown)? Then borrowing it across
        // the collection would be UB.
        if self.may_be_lent(cand) || !self.survives_collection(cand, g) {
            return self
                .roots_m
                .first()
                .copied()
                .filter(|&r| !self.may_be_lent(r));
        }
        if !reached[cand as usize] {
            self.stats.borrowed_garbage += 1;
        }
        Some(cand)
    }

    /// Simulates a collection of `g` with `b` borrowed on a snapshot of the
    /// model: is `b` neither found garbage (it would be finalized, or dropped
    /// while borrowed) nor freed by the teardown's reference counting?
    fn survives_collection(&mut self, b: u32, g: usize) -> bool {
        let was_condemned = self.m[b as usize].condemned;
        let snapshot = (
            self.m.clone(),
            self.live.clone(),
            self.holder_m.clone(),
            self.gen_size,
            self.exp_drops.len(),
            self.exp_fins.len(),
            self.stats,
        );
        self.borrowed = Some(b);
        self.m_collect(g);
        self.borrowed = None;
        let n = &self.m[b as usize];
        let alive = n.alive && n.condemned == was_condemned;
        let (m, live, holder, gen_size, drops, fins, stats) = snapshot;
        self.m = m;
        self.live = live;
        self.holder_m = holder;
        self.gen_size = gen_size;
        self.exp_drops.truncate(drops);
        self.exp_fins.truncate(fins);
        self.stats = stats;
        alive
    }

    fn check_events(&mut self) {
        let events = SHARED.with(|s| std::mem::take(&mut s.borrow_mut().events));
        let mut drops = Vec::new();
        let mut fins = Vec::new();
        for e in events {
            match e {
                Ev::Drop(x) => drops.push(x),
                Ev::Fin(x) => fins.push(x),
                Ev::Violation(v) => self.fail(v),
            }
        }
        drops.sort_unstable();
        fins.sort_unstable();
        let mut exp_drops = std::mem::take(&mut self.exp_drops);
        let mut exp_fins = std::mem::take(&mut self.exp_fins);
        exp_drops.sort_unstable();
        exp_fins.sort_unstable();
        self.stats.finalized += fins.len() as u64;
        self.check(drops == exp_drops, || {
            format!("dropped {drops:?}, the model expected {exp_drops:?}")
        });
        self.check(fins == exp_fins, || {
            format!("finalized {fins:?}, the model expected {exp_fins:?}")
        });
    }

    fn verify(&mut self) {
        self.check_events();
        let (a, b, c) = gc::generation_sizes();
        let want = self.gen_size;
        self.check((a, b, c) == (want[0], want[1], want[2]), || {
            format!("generation sizes {:?}, model {:?}", (a, b, c), want)
        });
        let frozen = gc::freeze_count();
        self.check(frozen == want[3], || {
            format!("freeze_count {frozen}, model {}", want[3])
        });
        let mut held: Vec<u32> = HOLDER.with(|h| h.borrow().iter().map(|g| g.core().id).collect());
        let mut want_held = self.holder_m.clone();
        held.sort_unstable();
        want_held.sort_unstable();
        self.check(held == want_held, || {
            format!("resurrection holder {held:?}, model {want_held:?}")
        });
        if !self.roots.is_empty() {
            let i = self.src.below(self.roots.len() as u32) as usize;
            let (g, id) = (&self.roots[i], self.roots_m[i]);
            let n = &self.m[id as usize];
            let edges: Vec<u32> = g
                .core()
                .edges
                .borrow()
                .iter()
                .map(|e| e.core().id)
                .collect();
            let gen = gc::generation(g).map(|x| x as u8);
            let got = (
                g.core().id,
                Gc::strong_count(g) as u32,
                Gc::weak_count(g) as u32,
                gen,
                gc::is_finalized(g),
                edges,
            );
            let want = (
                id,
                n.strong,
                n.weak,
                Some(n.gen),
                n.finalized,
                n.edges.clone(),
            );
            self.check(got == want, || {
                format!("root {i}: (id, strong, weak, generation, finalized, edges) = {got:?}, model {want:?}")
            });
        }
    }

    // ----- one operation ---------------------------------------------------

    fn pick_op(&mut self) -> Op {
        match self.src.below(100) {
            0..=15 => Op::Create(self.pick_kind()),
            16..=32 => Op::AddEdge,
            33..=40 => Op::RemoveEdge,
            41..=43 => Op::ReplaceEdge,
            44 => Op::ClearEdges,
            45..=55 => Op::DropRoot,
            56..=59 => Op::CloneRoot,
            60..=63 => Op::Downgrade,
            64..=68 => Op::Upgrade,
            69..=71 => Op::DropWeak,
            72..=74 => Op::ReleaseHolder,
            75..=76 => Op::BorrowAcrossCollect(self.src.below(3) as usize),
            77..=78 => Op::BorrowAcrossCreate,
            79..=80 => Op::Collect(0),
            81 => Op::Collect(1),
            82 => Op::Collect(2),
            83 => Op::Freeze,
            84..=85 => Op::Unfreeze,
            86 => Op::SetThreshold,
            87..=90 => Op::GetMut,
            91..=93 => Op::MoveRoot,
            94..=95 => Op::LentChain(2 + self.src.below(3) as usize),
            _ => {
                if self.roots.len() > self.max_roots / 2 {
                    Op::DropRoot
                } else {
                    Op::AddEdge
                }
            }
        }
    }

    pub fn step(&mut self) {
        let mut op = self.pick_op();
        if matches!(op, Op::Create(_) | Op::CloneRoot) && self.roots.len() >= self.max_roots {
            op = Op::DropRoot;
        }
        self.step += 1;
        self.stats.ops += 1;
        if self.history.len() == 40 {
            self.history.pop_front();
        }
        self.history.push_back((self.step, op));
        self.apply(op);
        self.verify();
        self.stats.max_live = self.stats.max_live.max(self.live.len() as u64);
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Create(kind) => self.create(kind),
            Op::AddEdge => {
                let Some((s, sg)) = self.walk() else { return };
                let Some((d, dg)) = self.walk() else {
                    return self.drop_temp(s, sg);
                };
                sg.core().edges.borrow_mut().push(dg);
                self.m[s as usize].edges.push(d);
                self.drop_temp(s, sg);
            }
            Op::RemoveEdge => {
                let Some((s, sg)) = self.walk() else { return };
                let len = self.m[s as usize].edges.len();
                if len > 0 {
                    let i = self.src.below(len as u32) as usize;
                    let swap = self.src.below(2) == 0;
                    let removed = {
                        let mut e = sg.core().edges.borrow_mut();
                        if swap {
                            e.swap_remove(i)
                        } else {
                            e.remove(i)
                        }
                    };
                    let me = &mut self.m[s as usize].edges;
                    let t = if swap {
                        me.swap_remove(i)
                    } else {
                        me.remove(i)
                    };
                    drop(removed);
                    self.m_dec(t);
                }
                self.drop_temp(s, sg);
            }
            Op::ReplaceEdge => {
                let Some((s, sg)) = self.walk() else { return };
                let Some((d, dg)) = self.walk() else {
                    return self.drop_temp(s, sg);
                };
                let len = self.m[s as usize].edges.len();
                if len == 0 {
                    self.drop_temp(d, dg);
                } else {
                    let i = self.src.below(len as u32) as usize;
                    // The old target is dropped while the RefCell is
                    // mutably borrowed.
                    sg.core().edges.borrow_mut()[i] = dg;
                    let old = std::mem::replace(&mut self.m[s as usize].edges[i], d);
                    self.m_dec(old);
                }
                self.drop_temp(s, sg);
            }
            Op::ClearEdges => {
                let Some((s, sg)) = self.walk() else { return };
                sg.core().edges.borrow_mut().clear();
                for t in std::mem::take(&mut self.m[s as usize].edges) {
                    self.m_dec(t);
                }
                self.drop_temp(s, sg);
            }
            Op::DropRoot => {
                if !self.roots.is_empty() {
                    let i = self.src.below(self.roots.len() as u32) as usize;
                    self.drop_root(i);
                }
            }
            Op::CloneRoot => {
                if !self.roots.is_empty() {
                    let i = self.src.below(self.roots.len() as u32) as usize;
                    let g = self.roots[i].clone();
                    let id = self.roots_m[i];
                    self.m_clone(id);
                    self.roots.push(g);
                    self.roots_m.push(id);
                }
            }
            Op::Downgrade => {
                if self.weaks.len() >= MAX_WEAKS {
                    let i = self.src.below(self.weaks.len() as u32) as usize;
                    self.drop_weak(i);
                }
                let Some((id, g)) = self.walk() else { return };
                let w = Gc::downgrade(&g);
                let n = &mut self.m[id as usize];
                n.weak += 1;
                n.lent = false;
                self.weaks.push((id, w));
                self.drop_temp(id, g);
            }
            Op::Upgrade => {
                if self.weaks.is_empty() {
                    return;
                }
                let i = self.src.below(self.weaks.len() as u32) as usize;
                let id = self.weaks[i].0;
                let sc = self.weaks[i].1.strong_count();
                let up = self.weaks[i].1.upgrade();
                let n = &self.m[id as usize];
                let expect = n.alive && !n.condemned;
                let want_sc = if expect { n.strong as usize } else { 0 };
                self.check(up.is_some() == expect, || {
                    format!(
                        "upgrade of a Weak to {id} gave {:?}, model: {n:?}",
                        up.is_some()
                    )
                });
                self.check(sc == want_sc, || {
                    format!("Weak::strong_count of {id} = {sc}, model {want_sc}")
                });
                if let Some(g) = up {
                    self.stats.upgrades_ok += 1;
                    self.check(g.core().id == id, || {
                        format!("a Weak to {id} upgraded to {}", g.core().id)
                    });
                    self.m_inc(id);
                    if self.src.below(2) == 0 && self.roots.len() < self.max_roots {
                        self.roots.push(g);
                        self.roots_m.push(id);
                    } else {
                        self.drop_temp(id, g);
                    }
                }
            }
            Op::DropWeak => {
                if !self.weaks.is_empty() {
                    let i = self.src.below(self.weaks.len() as u32) as usize;
                    self.drop_weak(i);
                }
            }
            Op::ReleaseHolder => self.release_holder(),
            Op::BorrowAcrossCollect(g) => {
                let Some(b) = self.pick_borrowable(g) else {
                    return;
                };
                let ptr = self.m[b as usize].ptr;
                // SAFETY: `b` is alive (model and detector agree, checked
                // after every op) and the model has just predicted that the
                // collection below does not free it; the check after the
                // collection confirms it before the guard is used again.
                let node: &dyn GNode = unsafe { &*ptr };
                let guard = node.core().edges.borrow_mut();
                self.borrowed = Some(b);
                let r = gc::collect_generation(g);
                self.replay_explicit(g, r);
                self.check_events();
                self.check_borrowed_edges(b, &guard, " after the collection");
                drop(guard);
                self.borrowed = None;
            }
            Op::BorrowAcrossCreate => {
                let Some(b) = self.pick_borrowable(0) else {
                    return;
                };
                if self.roots.len() >= self.max_roots {
                    return;
                }
                let ptr = self.m[b as usize].ptr;
                // SAFETY: as above; an automatic collection may run inside
                // `create`, collecting at most the old generation (`detect`
                // was checked for 0 only, so check every generation first).
                if !(1..=2).all(|g| self.survives_collection(b, g)) {
                    return;
                }
                let node: &dyn GNode = unsafe { &*ptr };
                let guard = node.core().edges.borrow_mut();
                self.borrowed = Some(b);
                let kind = self.pick_kind();
                self.create(kind);
                self.check_events();
                self.check_borrowed_edges(b, &guard, "");
                drop(guard);
                self.borrowed = None;
            }
            Op::Collect(g) => {
                let r = if g == 2 && self.src.below(2) == 0 {
                    gengc::collect()
                } else {
                    gc::collect_generation(g)
                };
                self.replay_explicit(g, r);
            }
            Op::Freeze => {
                gc::freeze();
                for i in 0..self.live.len() {
                    let x = self.live[i];
                    if self.m[x as usize].gen <= 2 {
                        self.set_gen(x, FROZEN);
                    }
                }
            }
            Op::Unfreeze => {
                gc::unfreeze();
                for i in 0..self.live.len() {
                    let x = self.live[i];
                    if self.m[x as usize].gen == FROZEN {
                        self.set_gen(x, 2);
                    }
                }
            }
            Op::SetThreshold => {
                if self.src.below(6) == 0 {
                    gc::disable();
                } else {
                    gc::enable();
                    let t0 = random_threshold(&mut self.src);
                    let t1 = self.src.below(11) as usize;
                    let t2 = self.src.below(11) as usize;
                    gc::set_threshold(t0, t1, t2);
                }
            }
            Op::GetMut => self.get_mut_op(),
            Op::MoveRoot => self.move_root(),
            Op::LentChain(k) => self.lent_chain(k),
        }
    }

    fn drop_weak(&mut self, i: usize) {
        let (id, w) = self.weaks.swap_remove(i);
        drop(w);
        let n = &mut self.m[id as usize];
        n.weak -= 1;
    }

    /// `Gc::get_mut` on a root: it must succeed exactly when the model says
    /// the handle is unique; then edit through the `&mut` and maybe collect
    /// while it is live.
    fn get_mut_op(&mut self) {
        if self.roots.is_empty() {
            return;
        }
        let i = self.src.below(self.roots.len() as u32) as usize;
        let mut h = self.roots.swap_remove(i);
        let id = self.roots_m.swap_remove(i);
        let expect = {
            let n = &self.m[id as usize];
            n.strong == 1 && n.weak == 0
        };
        match Gc::get_mut(&mut h) {
            None => self.check(!expect, || {
                format!("get_mut on {id} failed, model: {:?}", self.m[id as usize])
            }),
            Some(m) => {
                self.check(expect, || {
                    format!(
                        "get_mut on {id} succeeded, model: {:?}",
                        self.m[id as usize]
                    )
                });
                self.m[id as usize].lent = true;
                match self.src.below(3) {
                    0 => {
                        if let Some((t, tg)) = self.walk() {
                            m.core_mut().edges.get_mut().push(tg);
                            self.m[id as usize].edges.push(t);
                        }
                    }
                    1 => {
                        // Move a root handle in: no clone, so no end of a lend.
                        if !self.roots.is_empty() {
                            let j = self.src.below(self.roots.len() as u32) as usize;
                            let r = self.roots.swap_remove(j);
                            let rid = self.roots_m.swap_remove(j);
                            m.core_mut().edges.get_mut().push(r);
                            self.m[id as usize].edges.push(rid);
                        }
                    }
                    _ => {
                        if let Some(x) = m.core_mut().edges.get_mut().pop() {
                            let t = self.m[id as usize].edges.pop().expect("model edge");
                            drop(x);
                            self.m_dec(t);
                        }
                    }
                }
                if self.src.below(2) == 0 {
                    let g = self.src.below(3) as usize;
                    let r = gc::collect_generation(g);
                    self.replay_explicit(g, r);
                    self.stats.get_mut_collects += 1;
                }
                let got: Vec<u32> = m
                    .core_mut()
                    .edges
                    .get_mut()
                    .iter()
                    .map(|e| e.core().id)
                    .collect();
                self.check(got == self.m[id as usize].edges, || {
                    format!(
                        "lent node {id}: edges {got:?}, model {:?}",
                        self.m[id as usize].edges
                    )
                });
            }
        }
        // `get_mut` retagged the value (Stacked Borrows): refresh the raw
        // pointer kept for `BorrowAcross*`.
        self.m[id as usize].ptr = Gc::as_ptr(&h);
        self.roots.push(h);
        self.roots_m.push(id);
    }

    /// Builds a chain of objects each lent by `Gc::get_mut` and holding the
    /// previous one's only handle (moved in through the `&mut`), then moves
    /// the last handle into another root's `RefCell` (or keeps it rooted).
    /// The lend flags stay set (no handle is cloned), so the collector must
    /// prove, link by link, that no `&mut` is live (detect.rs fixpoint).
    fn lent_chain(&mut self, k: usize) {
        if self.roots.len() + k > self.max_roots {
            return;
        }
        for _ in 0..k {
            let kind = self.pick_kind();
            self.create(kind);
        }
        let mut prev: Option<(u32, Gc<dyn GNode>)> = None;
        for _ in 0..k {
            let mut h = self.roots.pop().expect("created");
            let id = self.roots_m.pop().expect("created");
            match Gc::get_mut(&mut h) {
                Some(m) => {
                    self.m[id as usize].lent = true;
                    if let Some((p, pg)) = prev.take() {
                        m.core_mut().edges.get_mut().push(pg);
                        self.m[id as usize].edges.push(p);
                    }
                }
                None => {
                    let n = &self.m[id as usize];
                    self.check(n.strong != 1 || n.weak != 0, || {
                        format!("get_mut on fresh node {id} failed: {n:?}")
                    });
                }
            }
            if let Some((p, pg)) = prev.take() {
                self.roots.push(pg);
                self.roots_m.push(p);
            }
            self.m[id as usize].ptr = Gc::as_ptr(&h);
            prev = Some((id, h));
        }
        let (last, lg) = prev.expect("k >= 2");
        if !self.roots.is_empty() && self.src.below(4) != 0 {
            let j = self.src.below(self.roots.len() as u32) as usize;
            let s = self.roots_m[j];
            self.roots[j].core().edges.borrow_mut().push(lg);
            self.m[s as usize].edges.push(last);
        } else {
            self.roots.push(lg);
            self.roots_m.push(last);
        }
    }

    /// Moves a root handle (no clone: a `get_mut` lend flag on its object
    /// survives) into the edges of another root, reached by reference (no
    /// clone either), or of a walked node.
    fn move_root(&mut self) {
        if self.roots.len() < 2 {
            return;
        }
        let i = self.src.below(self.roots.len() as u32) as usize;
        let r = self.roots.swap_remove(i);
        let rid = self.roots_m.swap_remove(i);
        if self.src.below(2) == 0 {
            let j = self.src.below(self.roots.len() as u32) as usize;
            let s = self.roots_m[j];
            self.roots[j].core().edges.borrow_mut().push(r);
            self.m[s as usize].edges.push(rid);
        } else if let Some((s, sg)) = self.walk() {
            sg.core().edges.borrow_mut().push(r);
            self.m[s as usize].edges.push(rid);
            self.drop_temp(s, sg);
        } else {
            self.roots.push(r);
            self.roots_m.push(rid);
        }
    }

    /// Releases everything, collects, and checks the heap is empty.
    pub fn finish(&mut self) {
        self.step += 1;
        while !self.roots.is_empty() {
            let i = self.roots.len() - 1;
            self.drop_root(i);
        }
        gc::unfreeze();
        for i in 0..self.live.len() {
            let x = self.live[i];
            if self.m[x as usize].gen == FROZEN {
                self.set_gen(x, 2);
            }
        }
        for _ in 0..100 {
            self.release_holder();
            let r = gengc::collect();
            self.replay_explicit(2, r);
            self.check_events();
            if self.live.is_empty() && self.holder_m.is_empty() {
                break;
            }
        }
        self.verify();
        self.check(self.live.is_empty(), || {
            let left: Vec<String> = self
                .live
                .iter()
                .map(|&x| format!("{x}: {:?}", self.m[x as usize]))
                .collect();
            format!("nodes left alive after the final collection: {left:?}")
        });
        for (id, w) in std::mem::take(&mut self.weaks) {
            self.check(w.upgrade().is_none(), || {
                format!("a Weak to {id} upgrades after the end")
            });
        }
        SHARED.with(|s| {
            let s = s.borrow();
            self.check(s.dead.iter().all(|&d| d), || {
                "a node was never dropped".into()
            });
        });
        let report = gengc::memory_report();
        self.check(
            report.used_blocks() == 0 && report.large_objects == 0,
            || format!("heap not empty at the end:\n{report}"),
        );
        self.check(
            gc::generation_sizes() == (0, 0, 0) && gc::freeze_count() == 0,
            || "objects still tracked at the end".into(),
        );
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// A young threshold: mostly tiny (automatic collections every few
/// allocations), sometimes larger.
fn random_threshold<C: Choices>(src: &mut C) -> usize {
    match src.below(4) {
        0..=2 => 1 + src.below(8) as usize,
        _ => 1 + src.below(200) as usize,
    }
}

/// One episode on the current thread (which must be fresh: its own heap).
pub fn run_episode<C: Choices>(src: C, seed: u64, max_ops: u64) -> Stats {
    let id = gc::add_callback(|phase, info| {
        COLLECTIONS.with(|c| {
            let mut c = c.borrow_mut();
            match phase {
                CallbackPhase::Start => c.push((info.generation, None)),
                CallbackPhase::Stop => {
                    if let Some(last) = c.last_mut() {
                        last.1 = Some(info.collected);
                    }
                }
            }
        })
    });
    let mut e = Engine::new(src, seed);
    // Start from a random configuration.
    e.max_roots = [8, 48, 48, 256][e.src.below(4) as usize];
    let t0 = random_threshold(&mut e.src);
    gc::set_threshold(t0, e.src.below(11) as usize, e.src.below(11) as usize);
    while e.stats.ops < max_ops && !e.src.exhausted() {
        e.step();
    }
    e.finish();
    gc::remove_callback(id);
    e.stats()
}

/// Runs `f` on a fresh thread (fresh heap) and propagates its panic.
pub fn on_fresh_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match std::thread::spawn(f).join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The fuzz target's entry: the bytes choose every operation.
pub fn run_bytes(data: &[u8]) {
    let data = data.to_vec();
    on_fresh_thread(move || {
        run_episode(ByteChoices::new(data), 0, 100_000);
    });
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else {
        v.parse().ok()
    }
}

/// `episodes` episodes of `ops` operations, seeds `base..base + episodes`.
pub fn run_seeds(base: u64, episodes: u64, ops: u64) -> Stats {
    let mut total = Stats::default();
    for seed in base..base + episodes {
        let s = on_fresh_thread(move || run_episode(SplitMix64(seed), seed, ops));
        total.add(&s);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn report(name: &str, s: &Stats, t: std::time::Duration) {
        eprintln!(
            "{name}: {} ops in {:.2?} ({:.0} ops/s); {} nodes created, {} collections ({} automatic) freeing {}, {} finalized, {} resurrections, {} borrows of garbage across a collection, {} collections during get_mut, {} upgrades, at most {} nodes alive, {} lent chains",
            s.ops,
            t,
            s.ops as f64 / t.as_secs_f64(),
            s.created,
            s.collections,
            s.auto_collections,
            s.collected,
            s.finalized,
            s.resurrected,
            s.borrowed_garbage,
            s.get_mut_collects,
            s.upgrades_ok,
            s.max_live,
            s.lent_chains
        );
    }

    /// Many short episodes (debug: 100k operations; release: 500k).
    #[test]
    fn fuzz_short_episodes() {
        let (episodes, ops) = if cfg!(debug_assertions) {
            (200, 500)
        } else {
            (1_000, 500)
        };
        let t = Instant::now();
        let s = run_seeds(1_000, episodes, ops);
        report("fuzz_short_episodes", &s, t.elapsed());
        assert!(s.collected > 0 && s.resurrected > 0 && s.finalized > 0);
    }

    /// Seeds that once failed, replayed whole in every run (seed 1000, the
    /// first of `fuzz_short_episodes`, is one too).
    #[test]
    fn fuzz_regression_seeds() {
        // A full collection's set reached a frozen object in a pool whose
        // other objects were old and no suspects; counting it took its
        // edges for internal ones and freed a cycle it still referenced
        // (op 10256).
        let t = Instant::now();
        let mut s = run_seeds(300_442, 1, 10_300);
        // The oracle, not the collector: a frozen object held only by
        // garbage died in a full collection's teardown, and the cycle only
        // it held was expected gone in the same collection (op 2573).
        s.add(&run_seeds(740_420, 1, 2_600));
        // An object left lent in a full collection started from the
        // suspects, in a cycle through an old object only it led to: that
        // object was never discovered, so its reference to the lent one
        // was never counted, and the cycle survived (op 602).
        s.add(&run_seeds(740_672, 1, 700));
        report("fuzz_regression_seeds", &s, t.elapsed());
        assert!(s.collected > 0);
    }

    /// Fewer, longer episodes: bigger heaps, older generations.
    #[test]
    fn fuzz_long_episodes() {
        let (episodes, ops) = if cfg!(debug_assertions) {
            (4, 10_000)
        } else {
            (20, 25_000)
        };
        let t = Instant::now();
        let s = run_seeds(2_000_000, episodes, ops);
        report("fuzz_long_episodes", &s, t.elapsed());
        assert!(s.borrowed_garbage > 0 && s.get_mut_collects > 0);
    }

    /// The full million operations (release only).
    #[test]
    #[cfg_attr(debug_assertions, ignore = "1M operations: run with --release")]
    fn fuzz_one_million_ops() {
        let t = Instant::now();
        let s = run_seeds(0x5eed_0000, 50, 20_000);
        report("fuzz_one_million_ops", &s, t.elapsed());
        assert!(s.ops >= 1_000_000);
    }

    /// Replays one seed: `GENGC_FUZZ_SEED=<n> [GENGC_FUZZ_OPS=<n>]`; with
    /// `GENGC_FUZZ_EPISODES=<k>`, seeds `n..n + k` (a soak run).
    #[test]
    fn fuzz_seed_from_env() {
        let Some(seed) = env_u64("GENGC_FUZZ_SEED") else {
            return;
        };
        let ops = env_u64("GENGC_FUZZ_OPS").unwrap_or(20_000);
        let episodes = env_u64("GENGC_FUZZ_EPISODES").unwrap_or(1);
        let t = Instant::now();
        let s = run_seeds(seed, episodes, ops);
        report("fuzz_seed_from_env", &s, t.elapsed());
    }

    /// Small enough for Miri (strict provenance, Stacked Borrows):
    /// `MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test --test
    /// fuzz_graph fuzz_miri_sized`.
    #[test]
    fn fuzz_miri_sized() {
        let s = run_seeds(77, 4, 150);
        assert_eq!(s.ops, 600);
    }

    /// The byte-driven source (what the cargo-fuzz target uses) on a few
    /// fixed inputs, so it is compiled and exercised by `cargo test`.
    #[test]
    fn fuzz_bytes_source() {
        let mut rng = SplitMix64(7);
        for len in [0usize, 1, 17, 500, 4000] {
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            run_bytes(&data);
        }
    }
}
