//! Full collections start from the suspects (src/collector/suspects.rs):
//! they read the young and middle objects, the old objects whose count
//! dropped since the last full collection, and what those lead to — never
//! the rest of the old generation — and still find every unreachable
//! object, as a full collection over everything would.

mod common;

use common::run;
use gengc::{gc, Gc, Trace, Tracer};
use std::cell::{Cell, RefCell};

thread_local! {
    static VISITS: Cell<usize> = const { Cell::new(0) };
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

fn visits() -> usize {
    VISITS.with(|v| v.replace(0))
}

fn drops() -> usize {
    DROPS.with(Cell::get)
}

/// A tracked object that counts its traces and drops; `P` bytes of payload
/// (above 512, it is a large object).
struct Obj<const P: usize> {
    links: RefCell<Vec<Gc<Obj<P>>>>,
    _payload: [u8; P],
}

impl<const P: usize> Drop for Obj<P> {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

// SAFETY: visits each owned `Gc` (in `links`) exactly once; the counter is
// a thread-local integer no `Gc` depends on.
unsafe impl<const P: usize> Trace for Obj<P> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        VISITS.with(|v| v.set(v.get() + 1));
        self.links.trace(tracer);
    }
}

type Small = Obj<8>;
type Large = Obj<600>;

/// A big heap's size; small under Miri (which also lowers the collector's
/// thresholds for discovering objects one by one and for mapping pools).
const BIG: usize = if cfg!(miri) { 400 } else { 10_000 };

fn obj<const P: usize>() -> Gc<Obj<P>> {
    Gc::new(Obj {
        links: RefCell::new(Vec::new()),
        _payload: [0; P],
    })
}

fn link<const P: usize, const Q: usize>(from: &Gc<Obj<P>>, to: Gc<Obj<Q>>)
where
    Obj<P>: HasLinks<Q>,
{
    from.links_to().borrow_mut().push(to);
}

/// Lets a small object link to a small one and a large one to a large one
/// (one `Vec` type per object type).
trait HasLinks<const Q: usize> {
    fn links_to(&self) -> &RefCell<Vec<Gc<Obj<Q>>>>;
}

impl<const P: usize> HasLinks<P> for Obj<P> {
    fn links_to(&self) -> &RefCell<Vec<Gc<Obj<P>>>> {
        &self.links
    }
}

/// `n` rings of `len` objects; returns a handle to the first object of each.
fn rings(n: usize, len: usize) -> Vec<Gc<Small>> {
    (0..n)
        .map(|_| {
            let first = obj::<8>();
            let mut last = first.clone();
            for _ in 1..len {
                let next = obj::<8>();
                link(&last, next.clone());
                last = next;
            }
            link(&last, first.clone());
            first
        })
        .collect()
}

#[test]
fn a_full_collection_reads_only_what_the_suspects_lead_to() {
    run(|| {
        gc::disable();
        let mut heads = rings(10, 10);
        let plain: Vec<_> = (0..BIG).map(|_| obj::<8>()).collect();
        // The first full collection reads everything: it is all young.
        // Counted: all; marked: the rings, from their heads (the first
        // roots in address order), then the walk stops.
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), BIG + 100 + 100);
        assert_eq!(gc::generation_sizes(), (0, 0, BIG + 100));
        // Nothing is young and no count dropped: nothing to read.
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 0);
        // One ring loses its handle: its first object is the one suspect,
        // and leads to its nine others. Only they are read (no root among
        // them, so the mark step traces nothing).
        drop(heads.remove(3));
        assert_eq!(gc::collect(), 10);
        assert_eq!(visits(), 10);
        assert_eq!(drops(), 10);
        // A clone of an old handle makes a suspect too (its drop would).
        let extra = heads[0].clone();
        assert_eq!(gc::collect(), 0);
        // Counted: the ring, 10; marked: from its head, all 10.
        assert_eq!(visits(), 10 + 10);
        // That collection proved the ring reachable, and watches it again:
        // the clone's drop makes its head a suspect once more.
        drop(extra);
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 10 + 10);
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 0);
        drop((plain, heads));
        assert_eq!(gc::collect(), 90);
        assert_eq!(drops(), BIG + 100);
    });
}

/// The only count that drops may be a young object's: the cycle through
/// an old object that no count of which dropped is found all the same,
/// since counting the young object discovers it.
#[test]
fn a_cycle_through_an_untouched_old_object_is_found_from_its_young_part() {
    run(|| {
        gc::disable();
        let old = obj::<8>();
        let _bystanders: Vec<_> = (0..BIG).map(|_| obj::<8>()).collect();
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::collect(), 0);
        visits();
        let young = obj::<8>();
        link(&old, young.clone());
        // The old handle is moved, not cloned and dropped: the old object's
        // count never drops.
        link(&young, old);
        drop(young);
        assert_eq!(gc::collect(), 2);
        assert_eq!(visits(), 2);
        assert_eq!(drops(), 2);
    });
}

/// A large object is a suspect and is discovered like a pooled one.
#[test]
fn large_objects_are_suspects_and_are_discovered() {
    run(|| {
        gc::disable();
        let a: Gc<Large> = obj();
        let b: Gc<Large> = obj();
        link(&a, b.clone());
        link(&b, a.clone());
        let keep: Gc<Large> = obj();
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 3);
        // `b`'s count drops: it is the suspect, `a` is discovered through
        // it. Counted: both; marked: from `a`, still held, both.
        drop(b);
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 4);
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 0);
        // Now `a` is the suspect, and `b` is discovered through it.
        drop(a);
        assert_eq!(gc::collect(), 2);
        assert_eq!(visits(), 2);
        assert_eq!(drops(), 2);
        drop(keep);
        assert_eq!(drops(), 3);
    });
}

/// A `RefCell` borrowed mutably across a full collection hides edges: what
/// survives it is not proved reachable, stays a suspect, and is found once
/// the borrow is over.
#[test]
fn survivors_of_a_collection_that_skipped_a_borrowed_cell_stay_suspects() {
    run(|| {
        gc::disable();
        let r = rings(1, 2).pop().expect("one ring");
        assert_eq!(gc::collect(), 0);
        let first: *const Small = &*r;
        drop(r);
        // SAFETY: the ring is garbage, but nothing frees it while its
        // first object's cell is borrowed: the collection below skips that
        // cell, so the second object looks referenced from outside.
        let guard = unsafe { (*first).links.borrow_mut() };
        assert_eq!(gc::collect(), 0);
        drop(guard);
        // No count dropped since: the ring is found because it is still
        // suspect.
        assert_eq!(gc::collect(), 2);
        assert_eq!(drops(), 2);
    });
}

/// Once the suspects have led to one in sixteen of the old objects (and at
/// least 8,192 in release builds, 16 in debug ones: here, fewer than the
/// ring's 10,000), the rest are counted in one sweep: each object is still
/// counted exactly once.
#[test]
fn a_suspect_leading_to_most_of_the_old_generation_is_counted_once_per_object() {
    run(|| {
        gc::disable();
        let head = obj::<8>();
        let mut tail = head.clone();
        for _ in 1..BIG {
            let next = obj::<8>();
            link(&tail, next.clone());
            tail = next;
        }
        link(&tail, head.clone());
        drop(tail);
        let live: Vec<_> = (0..BIG).map(|_| obj::<8>()).collect();
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::collect(), 0);
        visits();
        drop(head);
        assert_eq!(gc::collect(), BIG);
        // Counted once each (the first part of the ring one by one, then
        // the rest in one sweep, which also counts the live ones).
        // Marked: every root, since none reaches the garbage.
        assert_eq!(visits(), 3 * BIG);
        // The sweep made the next full collection read everything again.
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), BIG);
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 0);
        drop(live);
        assert_eq!(drops(), 2 * BIG);
    });
}

/// Unfreezing puts every frozen object back as a suspect: garbage that
/// was frozen, and what only it reached, is found.
#[test]
fn unfrozen_objects_are_suspects() {
    run(|| {
        gc::disable();
        let r = rings(1, 5).pop().expect("one ring");
        assert_eq!(gc::collect(), 0);
        gc::freeze();
        drop(r);
        assert_eq!(gc::collect(), 0);
        gc::unfreeze();
        assert_eq!(gc::collect(), 5);
        assert_eq!(drops(), 5);
    });
}

/// In a big heap, most pools hold only old objects that are no suspects:
/// they get no scratch array unless counting discovers one of their
/// objects (here, the members of a ring spread over pools of bystanders).
#[test]
fn objects_in_pools_without_suspects_are_discovered() {
    run(|| {
        gc::disable();
        let mut bystanders = Vec::new();
        let mut ring: Vec<Gc<Small>> = Vec::new();
        for i in 0..10 * BIG {
            bystanders.push(obj::<8>());
            if i % (2 * BIG) == 0 {
                ring.push(obj());
            }
        }
        for (i, o) in ring.iter().enumerate() {
            link(o, ring[(i + 1) % ring.len()].clone());
        }
        // Only the first member keeps a handle from outside (the others'
        // drops come while they are young, unwatched).
        let head = ring[0].clone();
        drop(ring);
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::collect(), 0);
        visits();
        // One suspect; the four others are discovered in pools that had no
        // scratch array.
        drop(head);
        assert_eq!(gc::collect(), 5);
        assert_eq!(visits(), 5);
        assert_eq!(drops(), 5);
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 0);
        drop(bystanders);
        assert_eq!(drops(), 10 * BIG + 5);
    });
}

/// A node of a ring that also holds an untracked leaf and a frozen object.
#[derive(Trace)]
struct Mixed {
    leaf: Gc<u64>,
    frozen: Gc<Small>,
    next: RefCell<Option<Gc<Mixed>>>,
}

/// Edges from a full collection's set into pools it never gathered: pools
/// of an untracked type and pools of frozen objects. Both stay outside the
/// set (a frozen object is referenced from outside, as in CPython), with
/// old pools of bystanders (`old`) mapping the set or not.
fn edges_into_pools_outside_the_generations(old: usize) {
    run(move || {
        gc::disable();
        let frozen: Vec<Gc<Small>> = (0..2 * BIG).map(|_| obj::<8>()).collect();
        assert_eq!(gc::collect(), 0);
        gc::freeze();
        let bystanders: Vec<Gc<Small>> = (0..old).map(|_| obj::<8>()).collect();
        assert_eq!(gc::collect(), 0);
        let len = 50;
        let nodes: Vec<Gc<Mixed>> = (0..len)
            .map(|i| {
                Gc::new(Mixed {
                    leaf: Gc::new(i as u64),
                    frozen: frozen[i * frozen.len() / len].clone(),
                    next: RefCell::new(None),
                })
            })
            .collect();
        for (i, n) in nodes.iter().enumerate() {
            *n.next.borrow_mut() = Some(nodes[(i + 1) % len].clone());
        }
        let head = nodes[0].clone();
        drop(nodes);
        // Young: counted, its edges reach frozen and untracked pools.
        assert_eq!(gc::collect(), 0);
        // Old, no suspect: nothing read.
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, old + len));
        // The head is the one suspect; the ring is discovered from it.
        drop(head);
        assert_eq!(gc::collect(), len);
        assert_eq!(drops(), 0, "no frozen object or bystander dropped");
        assert_eq!(gc::freeze_count(), 2 * BIG);
        assert_eq!(gc::generation_sizes(), (0, 0, old));
        gc::unfreeze();
        drop((frozen, bystanders));
        assert_eq!(gc::collect(), 0);
        assert_eq!(drops(), 2 * BIG + old);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
    });
}

#[test]
fn edges_into_untracked_and_frozen_pools_leave_them_outside_the_set() {
    edges_into_pools_outside_the_generations(0);
}

#[test]
fn edges_into_untracked_and_frozen_pools_of_a_mapped_set() {
    edges_into_pools_outside_the_generations(3 * BIG);
}

/// The old generation's size, kept as objects come and go, is what a full
/// collection leaves behind (the 25 % rule reads it), though the collection
/// reads none of the pools it leaves alone.
#[test]
fn the_old_generation_size_survives_full_collections_that_read_little() {
    run(|| {
        gc::disable();
        let mut keep: Vec<Gc<Small>> = (0..3 * BIG).map(|_| obj::<8>()).collect();
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 3 * BIG));
        // Deaths by count in pools no collection reads again.
        keep.truncate(BIG);
        let ring = rings(1, 7);
        assert_eq!(gc::collect_generation(1), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, BIG + 7));
        drop(ring);
        assert_eq!(gc::collect(), 7);
        assert_eq!(gc::generation_sizes(), (0, 0, BIG));
        visits();
        assert_eq!(gc::collect(), 0);
        assert_eq!(visits(), 0);
        drop(keep);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(drops(), 3 * BIG + 7);
    });
}

/// The 25 % rule weighs the objects promoted since the last full
/// collection against the old generation that collection left, counted
/// without reading the pools it left alone: old objects that died by count
/// since are not in it.
#[test]
fn the_25_percent_rule_counts_only_live_old_objects() {
    // (Smaller under Miri; the same schedule.)
    const S: usize = if cfg!(miri) { 10 } else { 100 };
    run(|| {
        gc::disable();
        let mut keep: Vec<Gc<Small>> = (0..40 * S).map(|_| obj::<8>()).collect();
        assert_eq!(gc::collect(), 0);
        keep.truncate(10 * S);
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 10 * S));
        // Young collections every S + 1 allocations, middle ones every
        // third trigger (3 (S + 1) objects promoted each), a full one at
        // the seventh trigger if the 6 (S + 1) promoted objects exceed a
        // quarter of the old generation (10 S; they would not exceed a
        // quarter of the 40 S objects there were). The next full one could
        // come at the thirteenth.
        gc::set_threshold(S, 1, 1);
        gc::enable();
        let fulls = gc::stats()[2].collections;
        let more: Vec<Gc<Small>> = (0..11 * S).map(|_| obj::<8>()).collect();
        assert_eq!(gc::stats()[2].collections - fulls, 1);
        drop((keep, more));
        assert_eq!(drops(), 51 * S);
    });
}

/// An object left lent (`Gc::get_mut`'s marker still set) cannot be
/// traced, so an old object only it leads to is never discovered from the
/// suspects, nor that object's reference back to it counted. A collection
/// that leaves objects lent therefore counts the whole old generation: the
/// lend is then seen to be over, and the cycle through it is found.
#[test]
fn a_cycle_through_a_lent_object_and_an_undiscovered_one_is_found() {
    run(|| {
        gc::disable();
        let old = obj::<8>();
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::collect(), 0);
        // `old` is old, watched, no suspect. `lent` is lent and young.
        let mut lent = obj::<8>();
        assert!(Gc::get_mut(&mut lent).is_some());
        let lent_ptr: *const Small = &*lent;
        // Both handles move into the cycle: no count drops, no clone.
        old.links.borrow_mut().push(lent);
        // SAFETY: the object is alive: `old`, alive, holds its only handle,
        // and the cycle made here keeps both alive.
        unsafe { (*lent_ptr).links.borrow_mut().push(old) };
        assert_eq!(gc::collect(), 2);
        assert_eq!(drops(), 2);
    });
}
