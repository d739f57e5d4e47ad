//! The component's global allocator: a bump arena for the many small, short-lived
//! allocations of one call, over the system allocator (wasi-libc's dlmalloc) for the
//! rest.
//!
//! A webhook's parse builds a tree of small vectors and strings and drops all of it when
//! the call returns; natively, malloc and free were about a quarter of the parse's
//! instructions (callgrind). Here an
//! allocation takes the next bytes of a fixed arena, and when the last live one is freed
//! (at the end of each call, after the canonical ABI's post-return) the arena starts over.
//! What does not fit (large bodies, or everything once the arena is full) goes to the
//! system allocator, so nothing is refused that was not refused before. Something that
//! lives across calls pins the arena until it is freed; the arena then fills and the
//! system allocator takes over, as it did before this existed. What is meant to live
//! across calls is therefore made inside [`lasting`]: its allocations come from the
//! arena's far end, downwards, and are never reused (a few kilobytes once per instance:
//! the tenant's settings). The system allocator would do as well, but its first use
//! costs an instance two more resident pages.
//!
//! A component instance has one thread, so the arena's counters need no locking.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};

/// Bytes in the arena: several times what a large webhook's parse needs. The arena is
/// zero-initialized static memory, so it adds nothing to the component's size, and only
/// the pages a call touches become resident.
const SIZE: usize = 256 * 1024;

#[repr(C, align(16))]
struct Bytes(UnsafeCell<[u8; SIZE]>);

struct Arena {
    bytes: Bytes,
    /// Offset of the first free byte.
    top: Cell<usize>,
    /// Allocations in the arena not yet freed (lasting ones not counted).
    live: Cell<usize>,
    /// Bytes of lasting allocations: they fill the arena from its end down, and per-call
    /// ones may not reach past them. (Zero at start, as every field: the arena is then
    /// zero-initialized memory and takes no room in the component.)
    kept: Cell<usize>,
    /// Inside [`lasting`].
    lasting: Cell<bool>,
}

// SAFETY: a wasm32 component instance runs one thread; nothing here is shared across threads.
unsafe impl Sync for Arena {}

// The component's allocator; natively (the unit tests below) the arena is only a value.
#[cfg_attr(target_arch = "wasm32", global_allocator)]
static ARENA: Arena = Arena::new();

/// Run `f` with every allocation it makes set aside for the instance's life, so that
/// what it returns can be kept across calls without pinning the arena.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn lasting<R>(f: impl FnOnce() -> R) -> R {
    ARENA.lasting(f)
}

impl Arena {
    const fn new() -> Self {
        Arena {
            bytes: Bytes(UnsafeCell::new([0; SIZE])),
            top: Cell::new(0),
            live: Cell::new(0),
            kept: Cell::new(0),
            lasting: Cell::new(false),
        }
    }

    fn lasting<R>(&self, f: impl FnOnce() -> R) -> R {
        let before = self.lasting.replace(true);
        let r = f();
        self.lasting.set(before);
        r
    }

    fn base(&self) -> usize {
        self.bytes.0.get() as usize
    }

    /// Offset of the lowest lasting allocation.
    fn floor(&self) -> usize {
        SIZE - self.kept.get()
    }

    /// Whether `ptr` is a per-call allocation of the arena (not a lasting one).
    fn holds(&self, ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= self.base() && p < self.base() + self.floor()
    }

    /// Whether `ptr` is a lasting allocation of the arena.
    fn keeps(&self, ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= self.base() + self.floor() && p < self.base() + SIZE
    }

    /// The next `size` bytes at `align`, or null when they do not fit.
    fn bump(&self, size: usize, align: usize) -> *mut u8 {
        let base = self.base();
        if self.lasting.get() {
            // Downwards from the floor, above what the current call holds.
            let start = (base + self.floor())
                .checked_sub(size)
                .map(|s| s & !(align - 1));
            return match start {
                Some(s) if s >= base + self.top.get() => {
                    self.kept.set(SIZE - (s - base));
                    s as *mut u8
                }
                _ => std::ptr::null_mut(),
            };
        }
        let start = (base + self.top.get()).next_multiple_of(align);
        match start.checked_add(size) {
            Some(end) if end <= base + self.floor() => {
                self.top.set(end - base);
                self.live.set(self.live.get() + 1);
                start as *mut u8
            }
            _ => std::ptr::null_mut(),
        }
    }

    fn release(&self) {
        let live = self.live.get() - 1;
        self.live.set(live);
        if live == 0 {
            self.top.set(0);
        }
    }
}

// The entry points below are inlined into each allocation site, and pass on what a call
// to wasi-libc's malloc/free passed: the size, or the pointer. (Called with the whole
// layout, and `&self`, every site grew by a few bytes: 100 KB over the component.) The
// work is in the functions they call, which are not inlined: under LTO every site would
// get its own copy.

/// Alignment the common entry points serve: Rust's small types need no more.
const ALIGN: usize = 8;

impl Arena {
    /// `size` bytes at `align`: from the arena, else from the system allocator.
    #[inline(always)]
    fn allocate(&self, size: usize, align: usize) -> *mut u8 {
        let p = self.bump(size, align);
        if p.is_null() {
            // SAFETY: `align` is a power of two and `size` rounded up to it does not
            // overflow (the caller's contract for `alloc`).
            unsafe { System.alloc(Layout::from_size_align_unchecked(size, align)) }
        } else {
            p
        }
    }

    #[inline(always)]
    fn free(&self, ptr: *mut u8) {
        if self.holds(ptr) {
            self.release();
        } else if self.keeps(ptr) {
            // Lasting: its bytes are not reused.
        } else {
            // SAFETY: not the arena's, so the system allocator's; wasi-libc's free reads
            // no layout, so any layout serves.
            unsafe { System.dealloc(ptr, Layout::new::<u8>()) }
        }
    }

    #[inline(always)]
    fn grow(&self, ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
        // SAFETY (all below): the caller's contract for `realloc`: `ptr` was allocated
        // here with `size` and `align`, and `new_size` rounded up to `align` does not
        // overflow.
        let layout = unsafe { Layout::from_size_align_unchecked(size, align) };
        let lasting = self.keeps(ptr);
        if !lasting && !self.holds(ptr) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let base = self.base();
        let at = ptr as usize;
        if !lasting && at + size == base + self.top.get() && at + new_size <= base + self.floor() {
            // The latest allocation grows or shrinks in place.
            self.top.set(at + new_size - base);
            return ptr;
        }
        if new_size <= size {
            return ptr;
        }
        let new = self.allocate(new_size, align.max(ALIGN));
        if !new.is_null() {
            // Both blocks are valid for `size` bytes and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, size) };
            if !lasting {
                self.release();
            }
        }
        new
    }
}

#[inline(never)]
fn alloc_small(size: usize) -> *mut u8 {
    ARENA.allocate(size, ALIGN)
}

#[inline(never)]
fn alloc_aligned(size: usize, align: usize) -> *mut u8 {
    ARENA.allocate(size, align)
}

#[inline(never)]
fn free(ptr: *mut u8) {
    ARENA.free(ptr)
}

#[inline(never)]
fn grow(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
    ARENA.grow(ptr, size, align, new_size)
}

unsafe impl GlobalAlloc for Arena {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGN {
            alloc_small(layout.size())
        } else {
            alloc_aligned(layout.size(), layout.align())
        }
    }

    #[inline(always)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { self.alloc(layout) };
        if !p.is_null() {
            // Arena bytes may hold what an earlier call left.
            // SAFETY: `p` starts `layout.size()` writable bytes just handed out.
            unsafe { p.write_bytes(0, layout.size()) };
        }
        p
    }

    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        free(ptr)
    }

    #[inline(always)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(ptr, layout.size(), layout.align(), new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(a: &Arena, p: *mut u8) -> usize {
        p as usize - a.base()
    }

    #[test]
    fn a_calls_allocations_are_reused_once_all_are_freed() {
        static A: Arena = Arena::new();
        let x = A.allocate(100, 8);
        let y = A.allocate(10, 8);
        assert_eq!(offset(&A, x), 0);
        assert_eq!(offset(&A, y), 104);
        A.free(x);
        let z = A.allocate(8, 8);
        assert_eq!(offset(&A, z), 120, "not reused while one is live");
        A.free(y);
        A.free(z);
        assert_eq!(A.live.get(), 0);
        assert_eq!(offset(&A, A.allocate(8, 8)), 0, "reused once none is live");
    }

    #[test]
    fn lasting_allocations_come_from_the_far_end_and_never_pin_the_arena() {
        static A: Arena = Arena::new();
        let call = A.allocate(64, 8);
        let kept = A.lasting(|| A.allocate(40, 8));
        assert_eq!(offset(&A, kept), SIZE - 40);
        assert!(A.keeps(kept) && !A.holds(kept));
        // SAFETY: 40 bytes of the arena handed out above.
        unsafe { kept.write_bytes(0xAB, 40) };
        // The call ends: its allocation freed, the arena starts over around the kept one.
        A.free(call);
        assert_eq!(A.live.get(), 0);
        assert_eq!(offset(&A, A.allocate(16, 8)), 0);
        // Freeing a lasting allocation gives nothing back: it stays where it is.
        A.free(kept);
        assert_eq!(A.floor(), SIZE - 40);
        // Per-call allocations stop below it: what does not fit there comes from the
        // system allocator, and the kept bytes are untouched.
        let big = A.allocate(SIZE - 50, 8);
        assert!(
            !A.holds(big) && !A.keeps(big),
            "past the floor: the system's"
        );
        A.free(big);
        // SAFETY: still the 40 bytes handed out above.
        let bytes = unsafe { std::slice::from_raw_parts(kept, 40) };
        assert!(bytes.iter().all(|b| *b == 0xAB));
    }

    #[test]
    fn a_lasting_allocation_never_reaches_into_the_current_call() {
        static A: Arena = Arena::new();
        let call = A.allocate(SIZE - 32, 8);
        let kept = A.lasting(|| A.allocate(64, 8));
        assert!(!A.holds(kept) && !A.keeps(kept), "no room: the system's");
        assert_eq!(A.floor(), SIZE);
        A.free(kept);
        A.free(call);
        assert_eq!(offset(&A, A.allocate(8, 8)), 0);
    }

    #[test]
    fn growing_moves_or_extends_in_place_as_it_should() {
        static A: Arena = Arena::new();
        let x = A.allocate(16, 8);
        // SAFETY: 16 bytes handed out above.
        unsafe { x.write_bytes(7, 16) };
        // The latest allocation grows in place.
        assert_eq!(A.grow(x, 16, 8, 64), x);
        let y = A.allocate(8, 8);
        // Not the latest any more: it moves, with its bytes.
        let moved = A.grow(x, 64, 8, 128);
        assert_ne!(moved, x);
        // SAFETY: the first 16 bytes were copied from `x`.
        assert!(
            unsafe { std::slice::from_raw_parts(moved, 16) }
                .iter()
                .all(|b| *b == 7)
        );
        // A lasting allocation that grows stays lasting and keeps its bytes.
        let kept = A.lasting(|| {
            let k = A.allocate(8, 8);
            // SAFETY: 8 bytes handed out just above.
            unsafe { k.write_bytes(9, 8) };
            A.grow(k, 8, 8, 32)
        });
        assert!(A.keeps(kept));
        // SAFETY: the first 8 bytes were copied.
        assert!(
            unsafe { std::slice::from_raw_parts(kept, 8) }
                .iter()
                .all(|b| *b == 9)
        );
        for p in [moved, y] {
            A.free(p);
        }
        assert_eq!(A.live.get(), 0);
    }
}
