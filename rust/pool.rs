// SPDX-License-Identifier: GPL-2.0

//! Per-open-file state: the file's own VMA and its binder-style page pool.
//!
//! Each page of the file's mapping has a slot in one of four states:
//!
//!  * `Empty`: no page; touching the address raises SIGBUS.
//!  * `InUse`: a page inserted by ALLOC (or taken back from the LRU); never freed.
//!  * `Lru`: a page given back by RELEASE, still mapped, queued on the file's LRU; the shrinker
//!    may zap and free it at any time.
//!  * `Zc`: a page mapped by ZC_MAP; freed when the file is released.
//!
//! The LRU is a doubly linked list of slot indices inside the slot array, so queueing and
//! unqueueing never allocate (the shrinker must not allocate). The shrinker walks the open files
//! round-robin (the global [`FILES`] list) and takes pages from the head of each file's LRU.
//!
//! Who changes which state, and under which lock:
//!
//!  * `Empty -> InUse/Zc` (insert), `Lru -> InUse` (ALLOC takes a page back) and
//!    `Lru -> Empty` (reclaim) happen with `mm_lock` held, so a page is never inserted at an
//!    address before the reclaim of the previous page at that address has zapped it.
//!  * `InUse -> Lru` (RELEASE) only needs the `inner` spinlock.
//!
//! See the lock order at the top of `vmalock.rs`.

use core::{
    ffi::c_int,
    ptr,
    sync::atomic::{
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    bindings,
    list::{
        List,
        ListLinks, //
    },
    mm::{
        virt::{
            flags,
            VmOps,
            VmaMixedMap,
            VmaNew,
            VmaRef, //
        },
        Mm,
        MmWithUser, //
    },
    new_mutex, new_spinlock,
    page::{
        Page,
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
    shrinker,
    sync::{
        aref::ARef,
        Arc,
        Mutex,
        SpinLock, //
    },
};

use crate::abi::{
    self,
    PageRange,
    ReclaimMode, //
};

/// Module-wide counters (`struct vmalock_stats`).
pub(crate) struct Counters {
    pub(crate) inserted: AtomicU64,
    pub(crate) released: AtomicU64,
    pub(crate) reclaimed: AtomicU64,
    pub(crate) skipped_contended: AtomicU64,
    pub(crate) in_use: AtomicU64,
    pub(crate) lru: AtomicU64,
    pub(crate) zc_mapped: AtomicU64,
}

pub(crate) static STATS: Counters = Counters {
    inserted: AtomicU64::new(0),
    released: AtomicU64::new(0),
    reclaimed: AtomicU64::new(0),
    skipped_contended: AtomicU64::new(0),
    in_use: AtomicU64::new(0),
    lru: AtomicU64::new(0),
    zc_mapped: AtomicU64::new(0),
};

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

fn sub(counter: &AtomicU64, n: usize) {
    counter.fetch_sub(n as u64, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> abi::Stats {
        abi::Stats {
            inserted: self.inserted.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            skipped_contended: self.skipped_contended.load(Ordering::Relaxed),
            in_use: self.in_use.load(Ordering::Relaxed),
            lru: self.lru.load(Ordering::Relaxed),
            zc_mapped: self.zc_mapped.load(Ordering::Relaxed),
        }
    }
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in the module initializer before first use.
    pub(crate) unsafe(uninit) static FILES: SpinLock<List<FileState>> = List::new();
}

/// The `vm_operations_struct` of the file's VMAs. Like Rust Binder's, it recognises our own
/// VMAs ([`FileState::check_vma`], with `VmaRef::owner()`); with no `fault` callback, a fault on a page that is not
/// inserted raises SIGBUS. `open` and `close` count the file's VMAs (a split adds one, each
/// `munmap()`, exit or exec of a part removes one), so the file knows when its whole mapping is
/// gone and may be mapped again; `mremap` refuses to move the mapping, whose recorded start the
/// shrinker uses.
static VMALOCK_VM_OPS: VmOps<FileState> = VmOps::new(bindings::vm_operations_struct {
    open: Some(vma_open),
    close: Some(vma_close),
    mremap: Some(vma_mremap),
    ..pin_init::zeroed()
});

/// The [`FileState`] of one of our VMAs.
///
/// # Safety
///
/// `vma` is a valid VMA whose `vm_ops` is [`VMALOCK_VM_OPS`] (its `vm_private_data` is then the
/// `FileState` of its file, set by [`FileState::mmap`] and copied to every part or copy), and
/// the returned reference is not used after the VMA's file reference is dropped.
unsafe fn vma_file_state<'a>(vma: *mut bindings::vm_area_struct) -> &'a FileState {
    // SAFETY: `vma` is valid (function safety requirement).
    let private = unsafe { (*vma).vm_private_data };
    // SAFETY: `private` points to the `FileState` of the VMA's file, which lives as long as the
    // file, and the VMA holds a reference to the file until after `close`.
    unsafe { &*private.cast::<FileState>() }
}

/// `vm_ops->open`: a new VMA of the mapping (a split, or `mremap()`'s copy before it is refused).
///
/// # Safety
///
/// Called by the mm with a valid VMA whose `vm_ops` is [`VMALOCK_VM_OPS`].
unsafe extern "C" fn vma_open(vma: *mut bindings::vm_area_struct) {
    // SAFETY: `vma` is one of our VMAs, valid for the duration of this callback.
    let state = unsafe { vma_file_state(vma) };
    state.inner.lock().vmas += 1;
}

/// `vm_ops->close`: a VMA of the mapping goes away (its pages are already unmapped).
///
/// # Safety
///
/// Called by the mm with a valid VMA whose `vm_ops` is [`VMALOCK_VM_OPS`].
unsafe extern "C" fn vma_close(vma: *mut bindings::vm_area_struct) {
    // SAFETY: `vma` is one of our VMAs, valid for the duration of this callback; its file is
    // put only after `close` returns.
    let state = unsafe { vma_file_state(vma) };
    state.vma_closed();
}

/// `vm_ops->mremap`: moving the mapping is refused (`EINVAL`); the mm moves it back.
///
/// # Safety
///
/// Called by the mm with a valid VMA whose `vm_ops` is [`VMALOCK_VM_OPS`].
unsafe extern "C" fn vma_mremap(_vma: *mut bindings::vm_area_struct) -> c_int {
    EINVAL.to_errno()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Empty,
    InUse,
    Lru,
    Zc,
}

const NIL: usize = usize::MAX;

struct Slot {
    state: State,
    page: Option<Page>,
    prev: usize,
    next: usize,
}

/// The file's mapping, recorded by `mmap()`.
struct Mapping {
    /// The mm of the VMA (an `mmgrab` reference).
    mm: ARef<Mm>,
    /// `vm_start` at mmap time: where the shrinker looks for the pages.
    start: usize,
}

struct Inner {
    mapping: Option<Mapping>,
    /// The VMAs of the mapping now (`open` adds, `close` removes); 0 when there is none.
    vmas: usize,
    /// Counts the mappings made: a reclaim pass that started on an earlier mapping changes
    /// nothing in a later one.
    gen: u64,
    slots: KVVec<Slot>,
    lru_head: usize,
    lru_tail: usize,
    lru_len: usize,
    in_use: usize,
}

impl Inner {
    fn lru_push_tail(&mut self, i: usize) {
        let tail = self.lru_tail;
        self.slots[i].prev = tail;
        self.slots[i].next = NIL;
        if tail == NIL {
            self.lru_head = i;
        } else {
            self.slots[tail].next = i;
        }
        self.lru_tail = i;
        self.lru_len += 1;
    }

    fn lru_remove(&mut self, i: usize) {
        let (prev, next) = (self.slots[i].prev, self.slots[i].next);
        if prev == NIL {
            self.lru_head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.lru_tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        self.slots[i].prev = NIL;
        self.slots[i].next = NIL;
        self.lru_len -= 1;
    }

    /// Checks that `n` slots from `first` exist.
    fn check_slots(&self, first: usize, n: usize) -> Result {
        match first.checked_add(n) {
            Some(end) if end <= self.slots.len() => Ok(()),
            _ => Err(EINVAL),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The pages themselves are freed with the slots.
        sub(&STATS.in_use, self.in_use);
        sub(&STATS.lru, self.lru_len);
    }
}

/// Result of a reclaim pass.
#[derive(Default)]
pub(crate) struct ReclaimResult {
    pub(crate) freed: usize,
    pub(crate) skipped: usize,
}

/// Per-open-file state.
#[pin_data]
pub(crate) struct FileState {
    #[pin]
    links: ListLinks<0>,
    /// Serializes changes of the page tables of this file's VMA: insertion (ALLOC, ZC_MAP) and
    /// reclaim (zap). Taken with `try_lock()` by the shrinker.
    #[pin]
    mm_lock: Mutex<()>,
    /// Slot states and the LRU. Innermost lock but for `FILES`; never held while sleeping.
    #[pin]
    inner: SpinLock<Inner>,
}

kernel::list::impl_list_arc_safe! {
    impl ListArcSafe<0> for FileState { untracked; }
}
kernel::list::impl_list_item! {
    impl ListItem<0> for FileState { using ListLinks { self.links }; }
}

impl FileState {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            links <- ListLinks::new(),
            mm_lock <- new_mutex!(()),
            inner <- new_spinlock!(Inner {
                mapping: None,
                vmas: 0,
                gen: 0,
                slots: KVVec::new(),
                lru_head: NIL,
                lru_tail: NIL,
                lru_len: 0,
                in_use: 0,
            }),
        })
    }

    /// `mmap()`: make `vma` this file's VM_MIXEDMAP mapping. One at a time per open file: a
    /// new one once every VMA of the previous one is gone.
    pub(crate) fn mmap(&self, vma: &VmaNew) -> Result {
        let len = vma.end() - vma.start();
        if len > abi::MAP_MAX_BYTES || vma.flags() & flags::SHARED == 0 || vma.pgoff() != 0 {
            return Err(EINVAL);
        }
        let npages = len >> PAGE_SHIFT;
        let mut slots = KVVec::with_capacity(npages, GFP_KERNEL)?;
        for _ in 0..npages {
            slots.push(
                Slot {
                    state: State::Empty,
                    page: None,
                    prev: NIL,
                    next: NIL,
                },
                GFP_KERNEL,
            )?;
        }
        let mm = ARef::from(&**vma.mm());
        {
            let mut inner = self.inner.lock();
            if inner.mapping.is_some() {
                return Err(EBUSY);
            }
            core::mem::swap(&mut inner.slots, &mut slots);
            inner.mapping = Some(Mapping {
                mm,
                start: vma.start(),
            });
            inner.vmas = 1;
            inner.gen += 1;
        }

        // SAFETY: The private data is this `FileState`, which outlives every part of the VMA
        // (each holds a reference to the file, whose release drops the `FileState`).
        unsafe { vma.set_vm_ops(&VMALOCK_VM_OPS, self) };
        vma.set_mixedmap();
        // VM_IO makes VM_DONTCOPY permanent (madvise(MADV_DOFORK) cannot clear it): a child
        // never inherits the mapping. VM_DONTEXPAND: mremap() cannot grow it.
        vma.set_io();
        vma.set_dontcopy();
        vma.set_dontexpand();
        Ok(())
    }

    /// A VMA of the mapping is gone. After the last one, the mapping is forgotten and its pages
    /// (unmapped by the mm already) freed, so the file can be mapped again.
    ///
    /// Called with the mmap_lock held for writing (or at exit): takes only `inner`.
    fn vma_closed(&self) {
        let (slots, mapping) = {
            let mut inner = self.inner.lock();
            inner.vmas -= 1;
            if inner.vmas > 0 {
                return;
            }
            sub(&STATS.in_use, inner.in_use);
            sub(&STATS.lru, inner.lru_len);
            inner.in_use = 0;
            inner.lru_len = 0;
            inner.lru_head = NIL;
            inner.lru_tail = NIL;
            (core::mem::take(&mut inner.slots), inner.mapping.take())
        };
        // The pages and the mm reference are dropped outside the spinlock.
        drop(slots);
        drop(mapping);
    }

    /// Binder's `check_vma()`: is `vma` this file's VMA (our `vm_ops` and private data, in the
    /// mm that mapped the file)? Anything else is an impostor.
    pub(crate) fn check_vma<'a>(&self, vma: &'a VmaRef) -> Option<&'a VmaMixedMap> {
        if !ptr::eq(vma.owner(&VMALOCK_VM_OPS)?, self) {
            return None;
        }
        let same_mm = {
            let inner = self.inner.lock();
            inner
                .mapping
                .as_ref()
                .is_some_and(|m| ptr::eq(m.mm.as_raw(), vma.mm().as_raw()))
        };
        if !same_mm {
            return None;
        }
        vma.as_mixedmap_vma()
    }

    /// Checks that `range` lies in our `vma` and returns the slot index of its first page.
    fn own_range<'a>(&self, vma: &'a VmaRef, range: PageRange) -> Result<(&'a VmaMixedMap, usize)> {
        let mixed = self.check_vma(vma).ok_or(EINVAL)?;
        if range.addr < vma.start() || range.end() > vma.end() {
            return Err(EINVAL);
        }
        let first = vma.pgoff() + ((range.addr - vma.start()) >> PAGE_SHIFT);
        self.inner.lock().check_slots(first, range.npages)?;
        Ok((mixed, first))
    }

    /// Counts the `Empty` slots of `range` (`first` its first slot), or `EBUSY` if one is in
    /// use or zerocopy-mapped.
    fn count_empty(&self, first: usize, npages: usize) -> Result<usize> {
        let inner = self.inner.lock();
        inner.check_slots(first, npages)?;
        let mut empties = 0;
        for slot in &inner.slots[first..first + npages] {
            match slot.state {
                State::InUse | State::Zc => return Err(EBUSY),
                State::Empty => empties += 1,
                State::Lru => {}
            }
        }
        Ok(empties)
    }

    /// The slot of `range.addr`, from the mapping recorded at mmap time (no VMA lock: only a
    /// guess to size the allocation; [`Self::own_range`] checks it under the VMA lock).
    fn guess_first(&self, range: PageRange) -> Result<usize> {
        let inner = self.inner.lock();
        let start = inner.mapping.as_ref().ok_or(EINVAL)?.start;
        range
            .addr
            .checked_sub(start)
            .map(|off| off >> PAGE_SHIFT)
            .ok_or(EINVAL)
    }

    /// ALLOC: make the pages of `range` usable.
    ///
    /// The pages are allocated before `mm_lock` and the VMA read lock are taken (as Rust
    /// Binder does), so a `munmap()` or `mprotect()` of the mapping never waits for direct
    /// reclaim. If reclaim emptied more slots meanwhile, the locks are dropped and the missing
    /// pages allocated, a bounded number of times.
    pub(crate) fn alloc(&self, mm: &MmWithUser, range: PageRange) -> Result {
        const TRIES: usize = 4;
        let mut pages = KVVec::new();
        let mut want = self
            .count_empty(self.guess_first(range)?, range.npages)
            .unwrap_or(0);
        for _ in 0..TRIES {
            while pages.len() < want {
                pages.push(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?, GFP_KERNEL)?;
            }
            let mm_guard = self.mm_lock.lock();
            // The wait helper: no mmap_lock fallback held while inserting (Rust Binder still
            // uses `mmap_read_lock()` + `vma_lookup()` here).
            let vma = mm.vma_start_read_unlocked(range.addr)?.ok_or(EINVAL)?;
            let (mixed, first) = self.own_range(&vma, range)?;
            // With `mm_lock` held, only RELEASE (`InUse -> Lru`) may change a slot
            // concurrently, and none of these slots is `InUse`.
            let empties = self.count_empty(first, range.npages)?;
            if empties > pages.len() {
                want = empties;
                drop(vma);
                drop(mm_guard);
                continue;
            }
            pages.truncate(empties);
            return self.insert_allocated(&vma, mixed, first, range, pages);
        }
        Err(EAGAIN)
    }

    /// The locked part of ALLOC: insert `pages` (one per `Empty` slot of `range`) and take the
    /// `Lru` slots back. Needs `mm_lock` and the read lock of `vma`.
    fn insert_allocated(
        &self,
        vma: &VmaRef,
        mixed: &VmaMixedMap,
        first: usize,
        range: PageRange,
        mut pages: KVVec<Page>,
    ) -> Result {
        let empties = pages.len();
        let mut k = 0;
        for i in 0..range.npages {
            if self.inner.lock().slots[first + i].state != State::Empty {
                continue;
            }
            let addr = range.addr + i * PAGE_SIZE;
            if let Err(e) = mixed.vm_insert_page(addr, &pages[k]) {
                // Unmap what this call inserted: nothing stays mapped on failure.
                for j in 0..i {
                    if self.inner.lock().slots[first + j].state == State::Empty {
                        vma.zap_vma_range(range.addr + j * PAGE_SIZE, PAGE_SIZE);
                    }
                }
                return Err(e);
            }
            k += 1;
        }

        let mut inner = self.inner.lock();
        let mut taken_back = 0;
        for i in (first..first + range.npages).rev() {
            match inner.slots[i].state {
                State::Empty => {
                    inner.slots[i].page = pages.pop();
                }
                State::Lru => {
                    inner.lru_remove(i);
                    taken_back += 1;
                }
                // Cannot happen: checked above under `mm_lock`.
                State::InUse | State::Zc => continue,
            }
            inner.slots[i].state = State::InUse;
            inner.in_use += 1;
        }
        add(&STATS.inserted, empties);
        add(&STATS.in_use, empties + taken_back);
        sub(&STATS.lru, taken_back);
        drop(inner);
        Ok(())
    }

    /// RELEASE: put the in-use pages of `range` on the LRU, still mapped.
    pub(crate) fn release(&self, mm: &MmWithUser, range: PageRange) -> Result {
        let vma = mm.vma_start_read_unlocked(range.addr)?.ok_or(EINVAL)?;
        let (_, first) = self.own_range(&vma, range)?;
        let mut inner = self.inner.lock();
        let slots = first..first + range.npages;
        if inner.slots[slots.clone()]
            .iter()
            .any(|s| s.state != State::InUse)
        {
            return Err(EINVAL);
        }
        for i in slots {
            inner.slots[i].state = State::Lru;
            inner.lru_push_tail(i);
            inner.in_use -= 1;
        }
        // The global counters change with the file's LRU, under `inner`: reclaim subtracts
        // under it too, so `STATS.lru` never goes below zero (it would wrap, and the shrinker
        // would report ~2^64 objects).
        add(&STATS.released, range.npages);
        sub(&STATS.in_use, range.npages);
        add(&STATS.lru, range.npages);
        drop(inner);
        Ok(())
    }

    /// ZC_MAP: map fresh pages filled with the pattern of `seed` at `range`, TCP zerocopy style
    /// (one `vm_insert_pages()` call under the VMA read lock).
    pub(crate) fn zc_map(&self, mm: &MmWithUser, range: PageRange, seed: u64) -> Result {
        // Fill the pages before taking any lock.
        let mut pages = KVVec::with_capacity(range.npages, GFP_KERNEL)?;
        let mut buf = KVVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        for i in 0..range.npages {
            let page = Page::alloc_page(GFP_KERNEL)?;
            abi::fill_pattern(&mut buf, seed, (i * PAGE_SIZE / 8) as u64);
            // SAFETY: `buf` holds `PAGE_SIZE` bytes; the page is ours alone (not yet mapped).
            unsafe { page.write_raw(buf.as_ptr(), 0, PAGE_SIZE)? };
            pages.push(page, GFP_KERNEL)?;
        }

        let _mm_guard = self.mm_lock.lock();
        let vma = mm.vma_start_read_unlocked(range.addr)?.ok_or(EINVAL)?;
        let (mixed, first) = self.own_range(&vma, range)?;
        {
            let inner = self.inner.lock();
            if inner.slots[first..first + range.npages]
                .iter()
                .any(|s| s.state != State::Empty)
            {
                return Err(EBUSY);
            }
        }
        if let Err(e) = mixed.vm_insert_pages(range.addr, pages.iter()) {
            vma.zap_vma_range(range.addr, e.inserted * PAGE_SIZE);
            return Err(e.error);
        }

        let mut inner = self.inner.lock();
        for i in (first..first + range.npages).rev() {
            inner.slots[i].page = pages.pop();
            inner.slots[i].state = State::Zc;
        }
        drop(inner);
        add(&STATS.zc_mapped, range.npages);
        Ok(())
    }

    /// One reclaim pass over this file's LRU: up to `budget` pages.
    ///
    /// Never blocks: `mm_lock` is trylocked, and the VMA is locked with `lock_vma_under_rcu()`
    /// (`VmaTrylock`, the shrinker's way) or `mmap_read_trylock()` + `vma_lookup()`
    /// (`MmapTrylock`, stock Binder's old fallback). A contended lock ends the pass for this
    /// file (`skipped`).
    pub(crate) fn reclaim(&self, mode: ReclaimMode, budget: usize, res: &mut ReclaimResult) {
        let (mm, start, gen) = {
            let inner = self.inner.lock();
            match &inner.mapping {
                Some(m) if inner.lru_len > 0 => (m.mm.clone(), m.start, inner.gen),
                _ => return,
            }
        };
        // The process is exiting: its pages go away when the file is released.
        let Some(mm) = mm.mmget_not_zero() else {
            return;
        };
        // Never the last `mmput()` in reclaim: it would tear down the whole address space.
        let mm = MmWithUser::into_mmput_async(mm);
        let Some(_mm_guard) = self.mm_lock.try_lock() else {
            res.skipped += 1;
            return;
        };

        for _ in 0..budget {
            // The mapping this pass started on may be gone (and another made) meanwhile.
            let Some(idx) = ({
                let inner = self.inner.lock();
                (inner.gen == gen && inner.lru_head != NIL).then_some(inner.lru_head)
            }) else {
                break;
            };
            let addr = start + idx * PAGE_SIZE;
            let freed = match mode {
                ReclaimMode::VmaTrylock => match mm.lock_vma_under_rcu(addr) {
                    Some(vma) => self.reclaim_one(&vma, idx, addr, gen),
                    // No VMA, or one being written. Which: ask without blocking.
                    None => match mm.mmap_read_trylock() {
                        // Contended: leave this file for the next pass.
                        None => {
                            res.skipped += 1;
                            break;
                        }
                        Some(mmap) => match mmap.vma_lookup(addr) {
                            // Write-locked a moment ago; try again in the next pass.
                            Some(_) => {
                                res.skipped += 1;
                                break;
                            }
                            // Gone: munmap() of (a part of) our mapping already zapped the
                            // page, so it is mapped nowhere and can be freed without a VMA
                            // (binder_alloc_free_page() does the same).
                            None => self.free_unmapped(idx, gen),
                        },
                    },
                },
                ReclaimMode::MmapTrylock => {
                    let Some(mmap) = mm.mmap_read_trylock() else {
                        res.skipped += 1;
                        break;
                    };
                    match mmap.vma_lookup(addr) {
                        Some(vma) => self.reclaim_one(vma, idx, addr, gen),
                        None => self.free_unmapped(idx, gen),
                    }
                }
            };
            if freed {
                res.freed += 1;
            }
        }
    }

    /// Frees LRU page `idx`, whose address has no VMA any more: `munmap()` zapped it. Needs
    /// `mm_lock` (no insert at that address meanwhile) and a check, under the mmap or VMA lock
    /// of the file's mm, that no VMA covers the address.
    fn free_unmapped(&self, idx: usize, gen: u64) -> bool {
        let Some(page) = self.take_lru_page(idx, gen) else {
            return false;
        };
        drop(page);
        add(&STATS.reclaimed, 1);
        true
    }

    /// Takes LRU page `idx` of mapping `gen` off the LRU (its slot becomes `Empty`) for
    /// reclaim; `None` if the slot is not on the LRU any more or the mapping is another one.
    /// The caller zaps and frees it. Needs `mm_lock`.
    fn take_lru_page(&self, idx: usize, gen: u64) -> Option<Page> {
        let mut inner = self.inner.lock();
        if inner.gen != gen || inner.slots.get(idx).map(|s| s.state) != Some(State::Lru) {
            return None;
        }
        inner.lru_remove(idx);
        inner.slots[idx].state = State::Empty;
        sub(&STATS.lru, 1);
        inner.slots[idx].page.take()
    }

    /// Moves LRU page `idx`, which cannot be reclaimed now, to the LRU's tail.
    fn rotate(&self, idx: usize, gen: u64) {
        let mut inner = self.inner.lock();
        if inner.gen == gen && inner.slots.get(idx).map(|s| s.state) == Some(State::Lru) {
            inner.lru_remove(idx);
            inner.lru_push_tail(idx);
        }
    }

    /// Zaps and frees LRU page `idx` mapped at `addr` in `vma`. Needs `mm_lock`.
    fn reclaim_one(&self, vma: &VmaRef, idx: usize, addr: usize, gen: u64) -> bool {
        // Impostor: another VMA covers the address now (ours was unmapped and the address
        // reused). The page cannot be zapped through it; it goes to the LRU's tail.
        let ours = self.check_vma(vma).is_some()
            && vma.pgoff() + ((addr - vma.start()) >> PAGE_SHIFT) == idx;
        if !ours {
            self.rotate(idx, gen);
            return false;
        }
        let Some(page) = self.take_lru_page(idx, gen) else {
            return false;
        };
        // Still holding `mm_lock`: nobody can insert a new page here before the zap.
        vma.zap_vma_range(addr, PAGE_SIZE);
        drop(page);
        add(&STATS.reclaimed, 1);
        true
    }
}

/// Registers a new open file; returns the file's reference.
pub(crate) fn register_file() -> Result<Arc<FileState>> {
    let list_arc = kernel::list::ListArc::pin_init(FileState::new(), GFP_KERNEL)?;
    let arc = list_arc.clone_arc();
    FILES.lock().push_back(list_arc);
    Ok(arc)
}

/// Removes a released file from [`FILES`].
pub(crate) fn unregister_file(file: &FileState) {
    let removed = {
        let mut files = FILES.lock();
        let mut cursor = files.cursor_front();
        let mut removed = None;
        while let Some(next) = cursor.peek_next() {
            if ptr::eq(&*next.arc(), file) {
                removed = Some(next.remove());
                break;
            }
            cursor.move_next();
        }
        removed
    };
    // Drop the list's reference outside the spinlock.
    drop(removed);
}

/// One reclaim pass over all open files, round-robin, up to `nr_to_scan` pages.
pub(crate) fn reclaim_all(mode: ReclaimMode, nr_to_scan: usize) -> ReclaimResult {
    let mut res = ReclaimResult::default();
    let nfiles = match FILES.try_lock() {
        Some(files) => files.iter().count(),
        None => return res,
    };
    for _ in 0..nfiles {
        let file = {
            let Some(mut files) = FILES.try_lock() else {
                break;
            };
            let Some(first) = files.pop_front() else {
                break;
            };
            let file = first.clone_arc();
            files.push_back(first);
            file
        };
        file.reclaim(mode, nr_to_scan - res.freed, &mut res);
        if res.freed >= nr_to_scan {
            break;
        }
    }
    add(&STATS.skipped_contended, res.skipped);
    res
}

/// The shrinker: reclaims released pages with `lock_vma_under_rcu()` only.
pub(crate) struct Reclaimer;

impl shrinker::Shrinker for Reclaimer {
    fn count_objects(&self, _sc: &shrinker::ShrinkControl) -> shrinker::CountObjects {
        match STATS.lru.load(Ordering::Relaxed) {
            0 => shrinker::CountObjects::Empty,
            n => shrinker::CountObjects::Count(n as usize),
        }
    }

    fn scan_objects(&self, sc: &shrinker::ShrinkControl) -> shrinker::ScanObjects {
        let res = reclaim_all(ReclaimMode::VmaTrylock, sc.nr_to_scan());
        if res.freed == 0 && res.skipped > 0 {
            shrinker::ScanObjects::Stop
        } else {
            shrinker::ScanObjects::Freed(res.freed)
        }
    }
}
