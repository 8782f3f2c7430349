//! A process-shared, **robust** pthread mutex placed in shared memory: any
//! process that maps it may take it, and when its owner dies holding it the
//! next `lock` gets `EOWNERDEAD`, makes it consistent and goes on instead
//! of waiting forever (the kernel keeps each thread's robust list). Used by
//! the `shm-lock` backend and `piscale lesson race`; the functions take the
//! mutex by pointer because it lives in a mapping, not in a Rust value.

use std::mem::MaybeUninit;

use nix::errno::Errno;

/// How a process got the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    /// From a process that had released it.
    Clean,
    /// From a process that died holding it (`EOWNERDEAD`), made consistent.
    Recovered,
}

/// Initialises `mutex` as process-shared and robust. An error names the
/// call that failed.
///
/// # Safety
/// `mutex` points to writable, suitably aligned memory (a shared mapping)
/// that is not an initialised mutex and that no process uses until this
/// returns.
pub unsafe fn init(mutex: *mut libc::pthread_mutex_t) -> Result<(), (&'static str, Errno)> {
    let check = |call: &'static str, rc: libc::c_int| match rc {
        0 => Ok(()),
        e => Err((call, Errno::from_raw(e))),
    };
    let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // SAFETY: `attr` is room for the attribute object `init` writes.
    check("pthread_mutexattr_init", unsafe {
        libc::pthread_mutexattr_init(attr.as_mut_ptr())
    })?;
    let attr = attr.as_mut_ptr();
    let made = (|| {
        // SAFETY: `attr` was initialised above and not yet destroyed.
        check("pthread_mutexattr_setpshared", unsafe {
            libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED)
        })?;
        // SAFETY: as above.
        check("pthread_mutexattr_setrobust", unsafe {
            libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST)
        })?;
        // SAFETY: the caller guarantees `mutex` is free, writable memory.
        check("pthread_mutex_init", unsafe {
            libc::pthread_mutex_init(mutex, attr)
        })
    })();
    // SAFETY: `attr` is initialised; a mutex made from it does not need it.
    unsafe { libc::pthread_mutexattr_destroy(attr) };
    made
}

/// Takes the mutex; on `EOWNERDEAD` makes it consistent again.
/// Async-signal-safe enough for a forked child: the mutex was made before
/// the fork and lives in memory the processes share.
///
/// # Safety
/// `mutex` was initialised by [`init`] and is not destroyed meanwhile.
pub unsafe fn lock(mutex: *mut libc::pthread_mutex_t) -> Result<Locked, Errno> {
    // SAFETY: an initialised mutex, by the caller's guarantee.
    match unsafe { libc::pthread_mutex_lock(mutex) } {
        0 => Ok(Locked::Clean),
        libc::EOWNERDEAD => {
            // SAFETY: EOWNERDEAD returns the mutex held by this thread, as
            // `pthread_mutex_consistent` requires.
            match unsafe { libc::pthread_mutex_consistent(mutex) } {
                0 => Ok(Locked::Recovered),
                e => Err(Errno::from_raw(e)),
            }
        }
        e => Err(Errno::from_raw(e)),
    }
}

/// Releases the mutex.
///
/// # Safety
/// `mutex` was initialised by [`init`] and is held by the calling thread.
pub unsafe fn unlock(mutex: *mut libc::pthread_mutex_t) -> Result<(), Errno> {
    // SAFETY: an initialised mutex this thread holds, by the caller's guarantee.
    match unsafe { libc::pthread_mutex_unlock(mutex) } {
        0 => Ok(()),
        e => Err(Errno::from_raw(e)),
    }
}

/// Destroys the mutex.
///
/// # Safety
/// `mutex` was initialised by [`init`], and no process uses it any more.
pub unsafe fn destroy(mutex: *mut libc::pthread_mutex_t) {
    // SAFETY: by the caller's guarantee.
    unsafe { libc::pthread_mutex_destroy(mutex) };
}
