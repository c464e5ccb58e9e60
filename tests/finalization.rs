//! The PEP 442 matrix of CPython's `Lib/test/test_finalization.py`, ported
//! to gengc with exact expectations, plus two properties of finalizers:
//! they see their neighbours intact, and `Weak::upgrade` to garbage fails
//! inside them.
//!
//! Every test body runs on a fresh thread (fresh heap, fresh thread-local
//! logs). Automatic collection is off, as in CPython's `SimpleBase.test()`.
//!
//! Adaptations:
//! - `id(obj)` becomes a small integer `id` field.
//! - `finalize` gets `&self`, not a `Gc`, so an object can only resurrect
//!   itself through a strong handle it can reach: a resurrector holds one to
//!   itself in `me`. An object dying by reference counting (no handle left
//!   anywhere, and its `Weak`s no longer upgrade) cannot resurrect itself,
//!   so `test_simple_resurrect` and `test_non_gc_resurrect` check that.
//! - Legacy (`tp_del`) finalizers do not exist in gengc.

use gengc::{gc, Finalize, Gc, Trace, Weak};
use std::cell::{Cell, RefCell};

mod common;
use common::run;

thread_local! {
    /// Ids whose finalizer ran (CPython's `del_calls`).
    static DEL_CALLS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Ids whose value was dropped.
    static DROPPED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Finalize and drop events in order.
    static EVENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Objects resurrected by their finalizer.
    static SURVIVORS: RefCell<Vec<Gc<Obj>>> = const { RefCell::new(Vec::new()) };
    /// Sanity-check failures seen inside finalizers.
    static ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log<T>(key: &'static std::thread::LocalKey<RefCell<Vec<T>>>, value: T) {
    // `try_with`: the heap's thread-exit collection may run after the logs
    // are gone.
    let _ = key.try_with(|v| v.borrow_mut().push(value));
}

fn sorted(key: &'static std::thread::LocalKey<RefCell<Vec<usize>>>) -> Vec<usize> {
    let mut v = key.with(|v| v.borrow().clone());
    v.sort_unstable();
    v
}

fn del_calls() -> Vec<usize> {
    sorted(&DEL_CALLS)
}

fn dropped() -> Vec<usize> {
    sorted(&DROPPED)
}

fn survivors() -> Vec<usize> {
    let mut v: Vec<usize> = SURVIVORS.with(|s| s.borrow().iter().map(|o| o.id).collect());
    v.sort_unstable();
    v
}

fn clear_survivors() {
    let s = SURVIVORS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    drop(s);
}

fn errors() -> Vec<String> {
    ERRORS.with(|e| e.borrow().clone())
}

fn events() -> Vec<String> {
    EVENTS.with(|e| e.borrow().clone())
}

/// Logs the drop of the value holding it.
struct DropLog(usize);

impl Drop for DropLog {
    fn drop(&mut self) {
        log(&DROPPED, self.0);
        log(&EVENTS, format!("drop {}", self.0));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `Simple`: records the call, no side effect.
    Simple,
    /// `SimpleResurrector`: stores itself in `SURVIVORS`.
    Resurrector,
    /// `Suicidal*`: breaks its own links.
    Suicidal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Alone,
    SelfCycle,
    Chained,
}

/// Every object under test (CPython's `SimpleBase` and its subclasses).
#[derive(Trace)]
#[gc(finalize)]
struct Obj {
    id: usize,
    #[gc(skip)]
    kind: Kind,
    #[gc(skip)]
    shape: Shape,
    suicided: Cell<bool>,
    weak_self: Weak<Obj>,
    /// `self.ref` of `SelfCycleBase`; a chained resurrector's handle to itself.
    me: RefCell<Option<Gc<Obj>>>,
    left: RefCell<Option<Gc<Obj>>>,
    right: RefCell<Option<Gc<Obj>>>,
    #[gc(skip)]
    _log: DropLog,
}

impl Obj {
    fn new(id: usize, kind: Kind, shape: Shape) -> Gc<Obj> {
        let obj = Gc::new_cyclic(|w| Obj {
            id,
            kind,
            shape,
            suicided: Cell::new(false),
            weak_self: w.clone(),
            me: RefCell::new(None),
            left: RefCell::new(None),
            right: RefCell::new(None),
            _log: DropLog(id),
        });
        let holds_itself = match shape {
            Shape::SelfCycle => true,
            Shape::Chained => kind == Kind::Resurrector,
            Shape::Alone => false,
        };
        if holds_itself {
            *obj.me.borrow_mut() = Some(obj.clone());
        }
        obj
    }

    fn is(&self, other: &Gc<Obj>) -> bool {
        std::ptr::eq(self, Gc::as_ptr(other))
    }

    /// `check_sanity` of `SelfCycleBase` and `ChainedBase`.
    fn check_sanity(&self) -> Result<(), String> {
        let id = self.id;
        match self.shape {
            Shape::Alone => Ok(()),
            Shape::SelfCycle => match self.me.borrow().as_ref() {
                Some(me) if self.is(me) => Ok(()),
                _ => Err(format!("{id}: self.ref is not self")),
            },
            Shape::Chained => {
                if self.suicided.get() {
                    if self.left.borrow().is_some() || self.right.borrow().is_some() {
                        return Err(format!("{id}: suicided but still linked"));
                    }
                    return Ok(());
                }
                let left = self.left.borrow();
                let left = left.as_ref().ok_or(format!("{id}: left missing"))?;
                if left.suicided.get() {
                    if left.right.borrow().is_some() {
                        return Err(format!("{id}: suicided left neighbour still linked"));
                    }
                } else if !left.right.borrow().as_ref().is_some_and(|r| self.is(r)) {
                    return Err(format!("{id}: left.right is not self"));
                }
                let right = self.right.borrow();
                let right = right.as_ref().ok_or(format!("{id}: right missing"))?;
                if right.suicided.get() {
                    if right.left.borrow().is_some() {
                        return Err(format!("{id}: suicided right neighbour still linked"));
                    }
                } else if !right.left.borrow().as_ref().is_some_and(|l| self.is(l)) {
                    return Err(format!("{id}: right.left is not self"));
                }
                Ok(())
            }
        }
    }

    fn side_effect(&self) {
        match self.kind {
            Kind::Simple => {}
            Kind::Resurrector => {
                let me = self
                    .me
                    .borrow()
                    .clone()
                    .or_else(|| self.weak_self.upgrade());
                if let Some(me) = me {
                    log(&SURVIVORS, me);
                }
            }
            Kind::Suicidal => {
                self.suicided.set(true);
                let links = (self.left.take(), self.right.take(), self.me.take());
                drop(links);
            }
        }
    }
}

impl Finalize for Obj {
    fn finalize(&self) {
        log(&DEL_CALLS, self.id);
        log(&EVENTS, format!("finalize {}", self.id));
        if self.weak_self.upgrade().is_some() {
            log(
                &ERRORS,
                format!("{}: a Weak to self upgraded in finalize", self.id),
            );
        }
        if let Err(e) = self.check_sanity() {
            log(&ERRORS, e);
        }
        self.side_effect();
    }
}

/// CPython's `TestBase.tearDown`: no errors, nothing in `garbage`, no
/// survivors left behind.
fn teardown() {
    assert_eq!(errors(), Vec::<String>::new());
    assert!(gc::garbage().is_empty());
    clear_survivors();
    gc::collect();
}

// ---------------------------------------------------------------------------
// SimpleFinalizationTest: no cycles
// ---------------------------------------------------------------------------

#[test]
fn test_simple() {
    run(|| {
        gc::disable();
        let s = Obj::new(1, Kind::Simple, Shape::Alone);
        let wr = Gc::downgrade(&s);
        drop(s);
        // Reference counting finalizes at once, before the value is dropped.
        assert_eq!(events(), vec!["finalize 1", "drop 1"]);
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert!(wr.upgrade().is_none());
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(dropped(), vec![1]);
        teardown();
    });
}

/// Adapted: an object dying by reference counting has no handle left and
/// its `Weak`s no longer upgrade, so its finalizer cannot resurrect it.
#[test]
fn test_simple_resurrect() {
    run(|| {
        gc::disable();
        let s = Obj::new(1, Kind::Resurrector, Shape::Alone);
        let wr = Gc::downgrade(&s);
        drop(s);
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert_eq!(events(), vec!["finalize 1", "drop 1"]);
        assert!(wr.upgrade().is_none());
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        teardown();
    });
}

thread_local! {
    static NON_GC_CALLS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A finalizable type that owns no `Gc`: never tracked.
#[derive(Trace)]
#[gc(finalize)]
struct NonGc {
    id: usize,
    weak_self: Weak<NonGc>,
    #[gc(skip)]
    _log: DropLog,
}

impl Finalize for NonGc {
    fn finalize(&self) {
        log(&NON_GC_CALLS, self.id);
        log(&EVENTS, format!("finalize {}", self.id));
        if self.weak_self.upgrade().is_some() {
            log(
                &ERRORS,
                format!("{}: a Weak to self upgraded in finalize", self.id),
            );
        }
    }
}

#[test]
fn test_non_gc() {
    run(|| {
        gc::disable();
        let s = Gc::new_cyclic(|w| NonGc {
            id: 1,
            weak_self: w.clone(),
            _log: DropLog(1),
        });
        assert!(!gc::is_tracked(&s));
        drop(s);
        assert_eq!(gc::collect(), 0);
        assert_eq!(sorted(&NON_GC_CALLS), vec![1]);
        assert_eq!(events(), vec!["finalize 1", "drop 1"]);
        assert_eq!(gc::collect(), 0);
        assert_eq!(sorted(&NON_GC_CALLS), vec![1]);
        teardown();
    });
}

// ---------------------------------------------------------------------------
// SelfCycleFinalizationTest
// ---------------------------------------------------------------------------

#[test]
fn test_self_cycle_simple() {
    run(|| {
        gc::disable();
        let s = Obj::new(1, Kind::Simple, Shape::SelfCycle);
        let wr = Gc::downgrade(&s);
        drop(s);
        assert!(del_calls().is_empty());
        assert_eq!(gc::collect(), 1);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert!(wr.upgrade().is_none());
        assert_eq!(events(), vec!["finalize 1", "drop 1"]);
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        teardown();
    });
}

/// `__del__` can resurrect the object being finalized; its weak reference
/// is cleared all the same, and it is not finalized a second time.
#[test]
fn test_self_cycle_simple_resurrect() {
    run(|| {
        gc::disable();
        let s = Obj::new(1, Kind::Resurrector, Shape::SelfCycle);
        let wr = Gc::downgrade(&s);
        drop(s);
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(survivors(), vec![1]);
        assert!(wr.upgrade().is_none());
        assert!(dropped().is_empty());
        SURVIVORS.with(|s| assert!(gc::is_finalized(&s.borrow()[0])));
        // Destroying it a second time: no second finalizer call, no second
        // resurrection.
        clear_survivors();
        assert_eq!(gc::collect(), 1);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert!(wr.upgrade().is_none());
        assert_eq!(dropped(), vec![1]);
        teardown();
    });
}

/// The finalizer breaks its own cycle; the collector still frees it.
#[test]
fn test_self_cycle_simple_suicide() {
    run(|| {
        gc::disable();
        let s = Obj::new(1, Kind::Suicidal, Shape::SelfCycle);
        let wr = Gc::downgrade(&s);
        drop(s);
        assert_eq!(gc::collect(), 1);
        assert_eq!(del_calls(), vec![1]);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert!(wr.upgrade().is_none());
        assert_eq!(events(), vec!["finalize 1", "drop 1"]);
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), vec![1]);
        assert!(wr.upgrade().is_none());
        teardown();
    });
}

// ---------------------------------------------------------------------------
// CycleChainFinalizationTest
// ---------------------------------------------------------------------------

use Kind::{Resurrector as R, Simple as P, Suicidal as S};

/// `nodes[i].chain(nodes[i - 1])` for every i: a ring linked both ways.
fn build_chain(kinds: &[Kind]) -> Vec<Gc<Obj>> {
    let nodes: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(i, &k)| Obj::new(i, k, Shape::Chained))
        .collect();
    let n = nodes.len();
    for i in 0..n {
        let left = &nodes[(i + n - 1) % n];
        *nodes[i].left.borrow_mut() = Some(left.clone());
        *left.right.borrow_mut() = Some(nodes[i].clone());
    }
    nodes
}

fn check_non_resurrecting_chain(kinds: &'static [Kind]) {
    run(move || {
        gc::disable();
        let n = kinds.len();
        let nodes = build_chain(kinds);
        let ids: Vec<usize> = (0..n).collect();
        let wrs: Vec<Weak<Obj>> = nodes.iter().map(Gc::downgrade).collect();
        drop(nodes);
        assert_eq!(gc::collect(), n);
        assert_eq!(del_calls(), ids);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert!(wrs.iter().all(|w| w.upgrade().is_none()));
        assert_eq!(dropped(), ids);
        // Every finalizer ran before the first value was dropped.
        let ev = events();
        assert!(ev[..n].iter().all(|e| e.starts_with("finalize")), "{ev:?}");
        assert_eq!(gc::collect(), 0);
        assert_eq!(del_calls(), ids);
        assert_eq!(dropped(), ids);
        teardown();
    });
}

/// `freed_first`: the ids the first collection frees (what the resurrectors
/// cannot reach once every finalizer has run); everything else survives it.
fn check_resurrecting_chain(kinds: &'static [Kind], freed_first: &'static [usize]) {
    run(move || {
        gc::disable();
        let n = kinds.len();
        let nodes = build_chain(kinds);
        let ids: Vec<usize> = (0..n).collect();
        let survivor_ids: Vec<usize> = (0..n).filter(|&i| kinds[i] == R).collect();
        let wrs: Vec<Weak<Obj>> = nodes.iter().map(Gc::downgrade).collect();
        drop(nodes);
        assert_eq!(gc::collect(), freed_first.len());
        assert_eq!(del_calls(), ids);
        assert_eq!(survivors(), survivor_ids);
        // Weak references to garbage are cleared, resurrected or not.
        assert!(wrs.iter().all(|w| w.upgrade().is_none()));
        assert_eq!(dropped(), freed_first);
        for (i, w) in wrs.iter().enumerate() {
            let freed = freed_first.contains(&i);
            // A freed object's block is kept by the Weak only: no strong count.
            assert_eq!(w.strong_count(), 0, "node {i} (freed: {freed})");
        }
        clear_survivors();
        assert_eq!(gc::collect(), n - freed_first.len());
        assert_eq!(del_calls(), ids);
        assert_eq!(survivors(), Vec::<usize>::new());
        assert_eq!(dropped(), ids);
        teardown();
    });
}

#[test]
fn test_chain_homogenous() {
    check_non_resurrecting_chain(&[P, P, P]);
}

#[test]
fn test_chain_homogenous_resurrect() {
    check_resurrecting_chain(&[R, R, R], &[]);
}

#[test]
fn test_chain_homogenous_suicidal() {
    check_non_resurrecting_chain(&[S, S, S]);
}

#[test]
fn test_chain_heterogenous_suicidal_one() {
    check_non_resurrecting_chain(&[S, P, S, P]);
}

#[test]
fn test_chain_heterogenous_suicidal_two() {
    check_non_resurrecting_chain(&[S, S, P, P]);
}

#[test]
fn test_chain_heterogenous_resurrect_one() {
    // Each resurrector keeps both neighbours: all 4 survive.
    check_resurrecting_chain(&[R, P, R, P], &[]);
}

#[test]
fn test_chain_heterogenous_resurrect_two() {
    // 0 -> 5, 1; 1 -> 0, 2; 3 -> 2, 4; 4 -> 3, 5; the suicidal 2 and 5 keep
    // no links but are reached: all 6 survive.
    check_resurrecting_chain(&[R, P, S, R, P, S], &[]);
}

#[test]
fn test_chain_heterogenous_resurrect_three() {
    // 0 -> 5, 1; 1 -> 0, 2; 2 -> 1, 3; 3 -> 2, 4: all 6 survive.
    check_resurrecting_chain(&[R, R, P, P, S, S], &[]);
}

#[test]
fn test_chain_partial_resurrection() {
    // After finalization: 0 -> 3, 1 (and itself); 1, 3 suicided; 2 -> 1, 3.
    // Nothing reaches 2 any more: it alone is freed by the first collection.
    check_resurrecting_chain(&[R, S, P, S], &[2]);
}

#[test]
fn test_chain_partial_resurrection_leaves_a_cycle() {
    // After finalization: 0 -> 4, 1; 1, 4 suicided; 2 <-> 3 still a cycle
    // (2 -> 1, 3; 3 -> 2, 4) that no survivor reaches: both freed at once.
    check_resurrecting_chain(&[R, S, P, P, S], &[2, 3]);
}

#[test]
fn test_chain_long_mixed() {
    check_non_resurrecting_chain(&[P, S, P, P, S, P]);
}

// ---------------------------------------------------------------------------
// Finalizers see their neighbours intact; Weak::upgrade to garbage fails
// ---------------------------------------------------------------------------

thread_local! {
    static SEEN: RefCell<Vec<(String, String, usize, usize)>> = const { RefCell::new(Vec::new()) };
    static NAMED_DROPS: Cell<usize> = const { Cell::new(0) };
}

struct CountDrop;

impl Drop for CountDrop {
    fn drop(&mut self) {
        let _ = NAMED_DROPS.try_with(|n| n.set(n.get() + 1));
    }
}

#[derive(Trace)]
#[gc(finalize)]
struct Named {
    name: String,
    numbers: Vec<u64>,
    next: RefCell<Option<Gc<Named>>>,
    #[gc(skip)]
    _drop: CountDrop,
}

impl Finalize for Named {
    fn finalize(&self) {
        // Read the neighbour's fields, and its neighbour's, in a cycle that
        // is being torn down.
        let next = self.next.borrow();
        let next = next.as_ref().expect("next intact");
        let next_next = next.next.borrow();
        let next_next = next_next.as_ref().expect("next.next intact");
        let sum: u64 = next.numbers.iter().sum();
        let drops_so_far = NAMED_DROPS.with(Cell::get);
        log(
            &SEEN,
            (
                self.name.clone(),
                format!("{}/{}", next.name, next_next.name),
                sum as usize,
                drops_so_far,
            ),
        );
    }
}

#[test]
fn test_finalizers_see_neighbours_intact() {
    run(|| {
        gc::disable();
        let nodes: Vec<_> = (0..5u64)
            .map(|i| {
                Gc::new(Named {
                    name: format!("n{i}"),
                    numbers: vec![i; 10],
                    next: RefCell::new(None),
                    _drop: CountDrop,
                })
            })
            .collect();
        for i in 0..5 {
            *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % 5].clone());
        }
        drop(nodes);
        assert_eq!(gc::collect(), 5);
        let mut seen = SEEN.with(|s| s.borrow().clone());
        seen.sort();
        let expected: Vec<_> = (0..5)
            .map(|i| {
                (
                    format!("n{i}"),
                    format!("n{}/n{}", (i + 1) % 5, (i + 2) % 5),
                    10 * ((i + 1) % 5),
                    0,
                )
            })
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(NAMED_DROPS.with(Cell::get), 5);
    });
}

thread_local! {
    static UPGRADES: RefCell<Vec<(usize, bool, bool, bool)>> = const { RefCell::new(Vec::new()) };
    static OUTSIDE: RefCell<Vec<Weak<Watcher>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Watcher {
    id: usize,
    weak_self: Weak<Watcher>,
    weak_next: RefCell<Weak<Watcher>>,
    next: RefCell<Option<Gc<Watcher>>>,
}

impl Finalize for Watcher {
    fn finalize(&self) {
        let own = self.weak_self.upgrade().is_some();
        let next = self.weak_next.borrow().upgrade().is_some();
        // A Weak held outside the garbage, and a fresh one made here.
        let outside = OUTSIDE.with(|o| o.borrow().iter().any(|w| w.upgrade().is_some()));
        let fresh = self
            .next
            .borrow()
            .as_ref()
            .is_some_and(|n| Gc::downgrade(n).upgrade().is_some());
        log(&UPGRADES, (self.id, own, next, outside || fresh));
    }
}

#[test]
fn test_weak_upgrade_inside_finalize_of_garbage_returns_none() {
    run(|| {
        gc::disable();
        let nodes: Vec<_> = (0..3)
            .map(|id| {
                Gc::new_cyclic(|w| Watcher {
                    id,
                    weak_self: w.clone(),
                    weak_next: RefCell::new(Weak::new()),
                    next: RefCell::new(None),
                })
            })
            .collect();
        for i in 0..3 {
            let next = &nodes[(i + 1) % 3];
            *nodes[i].weak_next.borrow_mut() = Gc::downgrade(next);
            *nodes[i].next.borrow_mut() = Some(next.clone());
        }
        OUTSIDE.with(|o| o.borrow_mut().extend(nodes.iter().map(Gc::downgrade)));
        // Before: everything upgrades.
        assert!(nodes.iter().all(|n| n.weak_self.upgrade().is_some()));
        drop(nodes);
        assert_eq!(gc::collect(), 3);
        let mut seen = UPGRADES.with(|u| u.borrow().clone());
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (0, false, false, false),
                (1, false, false, false),
                (2, false, false, false)
            ]
        );
        OUTSIDE.with(|o| {
            assert!(o.borrow().iter().all(|w| w.upgrade().is_none()));
            o.borrow_mut().clear();
        });
    });
}
