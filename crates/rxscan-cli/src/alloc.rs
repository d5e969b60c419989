//! Allocator tuning for the loader's pattern (the binary's choice, not the library's): a few
//! hundred MiB to a few GiB allocated and freed in per-task blocks of a megabyte or two.

// glibc's allocator hands such blocks back to the kernel each time (a page fault per 4 KiB on
// reuse); mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (the `mi_option_e` enum), which the
/// Rust bindings do not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The purge delay can be overridden with mimalloc's own `MIMALLOC_PURGE_DELAY`; huge pages
/// stay on with `RXSCAN_THP=1`.
pub fn tune_allocator() {
    // mimalloc returns freed memory to the kernel after 10 ms by default, so each batch would
    // fault its pages in again (the kernel zeroes every one); keeping them for a second lets
    // the next batch reuse them (one pair of runs on the 1M-patient extract: 4.45 s -> 3.66 s).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is allowed at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    }
    // Transparent huge pages: mimalloc asks for them, and a first touch of a 2 MiB page costs
    // a synchronous zeroing, and compaction when free memory is fragmented (here, by a page
    // cache holding the extract). Without them the 1M-patient Parquet scan ran in 2.09-2.14 s
    // against 2.38-2.50 s, and at 60 index dates in 3.7 s against 4.9-5.0 s (three runs each;
    // system time 0.7-0.8 s against 2.5-2.9 s). mimalloc's own switch is read only at start-up,
    // before `main`, so this turns them off for the process instead.
    #[cfg(target_os = "linux")]
    if std::env::var_os("RXSCAN_THP").is_none_or(|v| v != "1") {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and changes only this
        // process's huge-page policy; a failure (an old kernel) leaves it as it was.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}
