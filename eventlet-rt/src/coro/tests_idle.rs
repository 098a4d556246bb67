//! What a parked coroutine's stack holds once its pages are given back or
//! it is stowed, read with `mincore(2)`; and that it comes back whole.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;

const STACK: usize = 128 * 1024;

/// Touches `levels` pages of stack below the caller, one frame each.
#[inline(never)]
fn touch_deep(levels: u32) -> u32 {
    let mut page = [0u8; 4096];
    page[0] = 1;
    page[4095] = 1;
    std::hint::black_box(&mut page);
    if levels == 0 {
        return 0;
    }
    touch_deep(levels - 1) + u32::from(page[0] & page[4095])
}

fn resident(coroutine: &Coroutine) -> usize {
    resident_pages(coroutine.bottom, stack_top(coroutine.control_block))
}

#[test]
fn the_saved_stack_pointer_lies_just_below_where_the_body_suspended() {
    let position = Rc::new(Cell::new(0));
    let at = position.clone();
    let mut coroutine = Coroutine::new(STACK, move || {
        at.set(stack_position());
        suspend();
    });
    coroutine.resume();
    let saved = coroutine
        .suspended_stack_pointer()
        .expect("a saved stack pointer");
    let position = position.get();
    assert!(
        saved < position && position - saved < 1024,
        "saved {saved:#x}, suspended at {position:#x}"
    );
}

#[test]
fn a_parked_body_keeps_only_the_pages_of_its_frames() {
    let deep = Rc::new(Cell::new(0));
    let seen = deep.clone();
    let mut coroutine = Coroutine::new(STACK, move || {
        seen.set(touch_deep(16));
        suspend();
        // Deep again after the pages went: they come back as zeros.
        seen.set(touch_deep(16));
    });
    coroutine.resume();
    assert_eq!(deep.get(), 16);
    let before = resident(&coroutine);
    assert!(
        before >= 17,
        "{before} pages resident after a 64 KiB descent"
    );
    assert!(coroutine.release_unused_pages());
    let after = resident(&coroutine);
    assert!(after <= 2, "{after} pages resident (from {before})");
    deep.set(0);
    coroutine.resume();
    assert!(coroutine.is_done());
    assert_eq!(deep.get(), 16);
    drop(coroutine); // the generator's bottom-sentinel check passes
}

#[test]
fn a_stowed_stack_comes_back_with_its_frames_and_pointers_into_them() {
    let checked = Rc::new(Cell::new(None));
    let report = checked.clone();
    let mut coroutine = Coroutine::new(STACK, move || {
        let mut values = [0u64; 600];
        for (i, value) in values.iter_mut().enumerate() {
            *value = i as u64 * 0x9E37_79B9 + 1;
        }
        let zeros = [0u8; 4096];
        std::hint::black_box(&zeros);
        // Pointers into this frame, kept on the heap and on the stack.
        let on_heap: Vec<&u64> = values.iter().step_by(7).collect();
        let last = &values[599];
        std::hint::black_box(&values);
        suspend();
        let intact = values
            .iter()
            .enumerate()
            .all(|(i, &value)| value == i as u64 * 0x9E37_79B9 + 1)
            && on_heap
                .iter()
                .enumerate()
                .all(|(k, &&value)| value == (7 * k) as u64 * 0x9E37_79B9 + 1)
            && *last == 599 * 0x9E37_79B9 + 1
            && zeros.iter().all(|&b| b == 0);
        report.set(Some(intact));
    });
    coroutine.resume();
    assert!(resident(&coroutine) >= 2);
    let used = stack_top(coroutine.control_block) - coroutine.suspended_stack_pointer().unwrap();
    assert!(coroutine.stow(&Stower::new()));
    assert!(coroutine.is_stowed());
    assert_eq!(resident(&coroutine), 0, "a stowed stack keeps no page");
    let kept = coroutine.stowed_bytes();
    assert!(
        kept + 3500 < used,
        "{kept} bytes kept for {used} bytes of stack holding 4 KiB of zeros"
    );
    assert!(!coroutine.stow(&Stower::new()), "stowed twice");
    coroutine.resume();
    assert!(!coroutine.is_stowed());
    assert_eq!(checked.get(), Some(true), "the frames came back changed");
    assert!(coroutine.is_done());
}

#[test]
fn touching_a_stowed_stack_from_its_own_thread_puts_it_back() {
    let address = Rc::new(Cell::new(0usize));
    let seen = Rc::new(Cell::new(0u64));
    let (at, report) = (address.clone(), seen.clone());
    let mut coroutine = Coroutine::new(STACK, move || {
        let mut local = 7u64;
        at.set(&raw mut local as usize);
        suspend();
        // SAFETY: the test wrote the value through the pointer; read it back
        // as the optimizer cannot see that write.
        report.set(unsafe { (&raw const local).read_volatile() });
    });
    coroutine.resume();
    assert!(coroutine.stow(&Stower::new()));
    let local = address.get() as *mut u64;
    // SAFETY: `local` points into the suspended body's frame, alive until it
    // resumes; the stack is sealed, so this access faults and puts it back.
    unsafe {
        assert_eq!(local.read_volatile(), 7);
        local.write_volatile(42);
    }
    assert!(!coroutine.is_stowed(), "the access put the stack back");
    coroutine.resume();
    assert_eq!(seen.get(), 42);
}

#[test]
fn writes_from_another_thread_to_a_stack_being_stowed_are_never_lost() {
    let shared = Rc::new(Cell::new(0usize));
    let rounds = Rc::new(Cell::new(true));
    let (at, going) = (shared.clone(), rounds.clone());
    let total = Rc::new(Cell::new(0u64));
    let report = total.clone();
    let mut coroutine = Coroutine::new(STACK, move || {
        let counter = AtomicU64::new(0);
        at.set(&raw const counter as usize);
        while going.get() {
            suspend();
        }
        report.set(counter.load(Ordering::SeqCst));
    });
    coroutine.resume();
    let counter = shared.get();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut added = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: the counter lives in the body's frame until the
                // body ends, which happens after this thread is joined.
                unsafe { (*(counter as *const AtomicU64)).fetch_add(1, Ordering::SeqCst) };
                added += 1;
            }
            added
        })
    };
    let mut stowed = 0;
    for _ in 0..200 {
        stowed += usize::from(coroutine.stow(&Stower::new()));
        std::thread::yield_now();
        coroutine.resume();
    }
    stop.store(true, Ordering::Relaxed);
    let added = writer.join().unwrap();
    rounds.set(false);
    coroutine.resume();
    assert!(coroutine.is_done());
    assert!(stowed > 0);
    assert_eq!(total.get(), added, "increments were lost");
}

#[test]
fn a_stowed_coroutine_that_is_dropped_unwinds_and_drops_cleanly() {
    struct SetOnDrop(Rc<Cell<bool>>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let flag = SetOnDrop(dropped.clone());
    let mut coroutine = Coroutine::new(STACK, move || {
        let _flag = flag;
        touch_deep(8);
        suspend();
    });
    coroutine.resume();
    assert!(coroutine.stow(&Stower::new()));
    drop(coroutine);
    assert!(dropped.get(), "the body's destructors did not run");
}

#[test]
fn stacks_parked_at_the_same_place_are_kept_as_their_differences() {
    fn parked(seed: u64, report: &Rc<Cell<bool>>) -> Coroutine {
        let report = report.clone();
        let mut coroutine = Coroutine::new(STACK, move || {
            // 4 KiB that no compressor shrinks, alike in every green thread
            // but for their first words.
            let mut words = [0u64; 512];
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            for word in words.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *word = x;
            }
            words[0] = seed;
            std::hint::black_box(&mut words);
            suspend();
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            let same = words.iter().enumerate().all(|(i, &word)| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                word == if i == 0 { seed } else { x }
            });
            report.set(same);
        });
        coroutine.resume();
        coroutine
    }
    let stower = Stower::new();
    let reports: Vec<_> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
    let mut coroutines: Vec<_> = (0..4).map(|n| parked(n as u64, &reports[n])).collect();
    for coroutine in &mut coroutines {
        assert!(coroutine.stow(&stower));
    }
    for coroutine in &coroutines[1..] {
        let kept = coroutine.stowed_bytes();
        assert!(
            kept < 1024,
            "{kept} bytes kept of a stack like the first one"
        );
    }
    for (coroutine, report) in coroutines.iter_mut().zip(&reports) {
        coroutine.resume();
        assert!(coroutine.is_done());
        assert!(report.get(), "a stack came back changed");
    }
}
