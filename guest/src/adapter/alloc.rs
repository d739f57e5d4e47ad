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

#[global_allocator]
static ARENA: Arena = Arena {
    bytes: Bytes(UnsafeCell::new([0; SIZE])),
    top: Cell::new(0),
    live: Cell::new(0),
    kept: Cell::new(0),
    lasting: Cell::new(false),
};

/// Run `f` with every allocation it makes set aside for the instance's life, so that
/// what it returns can be kept across calls without pinning the arena.
pub fn lasting<R>(f: impl FnOnce() -> R) -> R {
    let before = ARENA.lasting.replace(true);
    let r = f();
    ARENA.lasting.set(before);
    r
}

impl Arena {
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

#[inline(never)]
fn alloc_small(size: usize) -> *mut u8 {
    let p = ARENA.bump(size, ALIGN);
    if p.is_null() {
        // SAFETY: `size` is non-zero (the caller's contract for `alloc`) and a multiple
        // of nothing in particular: any size is valid at alignment 8.
        unsafe { System.alloc(Layout::from_size_align_unchecked(size, ALIGN)) }
    } else {
        p
    }
}

#[inline(never)]
fn alloc_aligned(size: usize, align: usize) -> *mut u8 {
    let p = ARENA.bump(size, align);
    if p.is_null() {
        // SAFETY: `align` is a power of two and `size` rounded up to it does not overflow
        // (the caller's contract for `alloc`).
        unsafe { System.alloc(Layout::from_size_align_unchecked(size, align)) }
    } else {
        p
    }
}

#[inline(never)]
fn free(ptr: *mut u8) {
    if ARENA.holds(ptr) {
        ARENA.release();
    } else if ARENA.keeps(ptr) {
        // Lasting: its bytes are not reused.
    } else {
        // SAFETY: not the arena's, so the system allocator's; wasi-libc's free reads no
        // layout, so any layout serves.
        unsafe { System.dealloc(ptr, Layout::new::<u8>()) }
    }
}

#[inline(never)]
fn grow(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
    // SAFETY (all below): the caller's contract for `realloc`: `ptr` was allocated here
    // with `size` and `align`, and `new_size` rounded up to `align` does not overflow.
    let layout = unsafe { Layout::from_size_align_unchecked(size, align) };
    let lasting = ARENA.keeps(ptr);
    if !lasting && !ARENA.holds(ptr) {
        return unsafe { System.realloc(ptr, layout, new_size) };
    }
    let base = ARENA.base();
    let at = ptr as usize;
    if !lasting && at + size == base + ARENA.top.get() && at + new_size <= base + ARENA.floor() {
        // The latest allocation grows or shrinks in place.
        ARENA.top.set(at + new_size - base);
        return ptr;
    }
    if new_size <= size {
        return ptr;
    }
    let new = if align <= ALIGN {
        alloc_small(new_size)
    } else {
        alloc_aligned(new_size, align)
    };
    if !new.is_null() {
        // Both blocks are valid for `size` bytes and do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(ptr, new, size) };
        if !lasting {
            ARENA.release();
        }
    }
    new
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
