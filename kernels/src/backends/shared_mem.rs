//! Memory the parent and its worker processes share: a `MAP_SHARED` mapping
//! of a `memfd`, so that a worker can reach it whichever way it started — it
//! inherits the mapping when forked, and maps the descriptor it was handed
//! when it is a fresh program (`--start spawn`), the way Python's spawn must
//! pass a `SharedMemory` by name.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
use nix::sys::stat::fstat;
use nix::unistd::ftruncate;

use crate::error::{OsContext, Result};
use crate::report::OUTCOME_BYTES;

/// A zero-filled shared mapping of a memfd.
#[derive(Debug)]
pub(crate) struct SharedMem {
    base: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the mapping belongs to this value alone (no other handle to it
// exists in this process), so moving it to another thread is sound.
unsafe impl Send for SharedMem {}

impl SharedMem {
    /// A fresh mapping of at least `len` bytes (a page at least).
    pub(crate) fn new(len: usize) -> Result<SharedMem> {
        // O_CLOEXEC: a program another thread spawns must not inherit it; a
        // spawned worker gets it by `dup2`, which clears the flag on the copy.
        let fd = memfd_create(c"piscale-shared", MFdFlags::MFD_CLOEXEC).os("memfd_create")?;
        let len = len.max(1);
        ftruncate(&fd, len as libc::off_t).os("ftruncate")?;
        SharedMem::map(fd, len)
    }

    /// Maps the whole of `fd`, a memfd made by [`new`](Self::new) in the
    /// parent (a spawned worker's side).
    pub(crate) fn from_fd(fd: OwnedFd) -> Result<SharedMem> {
        let len = fstat(fd.as_fd()).os("fstat")?.st_size;
        SharedMem::map(fd, usize::try_from(len).unwrap_or(0))
    }

    fn map(fd: OwnedFd, len: usize) -> Result<SharedMem> {
        let size = NonZeroUsize::new(len).unwrap_or(NonZeroUsize::MIN);
        // SAFETY: a fresh shared mapping of our own memfd aliases no Rust
        // object; it stays mapped until `drop` and is only accessed through
        // this type's users, which keep within `len`.
        let base = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd.as_fd(),
                0,
            )
        }
        .os("mmap")?;
        Ok(SharedMem {
            base: base.cast(),
            len: size.get(),
            fd,
        })
    }

    /// The first byte.
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The memfd, to hand to a spawned worker.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Zeroes bytes `from..` of the mapping. Only while no worker is alive.
    pub(crate) fn clear_from(&mut self, from: usize) {
        if from < self.len {
            // SAFETY: the range lies inside the mapping; `&mut self` and the
            // absence of live workers mean nothing else touches it meanwhile.
            unsafe { std::ptr::write_bytes(self.base.as_ptr().add(from), 0, self.len - from) }
        }
    }
}

impl SharedMem {
    /// Copies `bytes` to offset `at`. Async-signal-safe: a memory copy. The
    /// caller's layout gives each writer its own bytes (a worker's slot).
    pub(crate) fn store(&self, at: usize, bytes: &[u8; OUTCOME_BYTES]) {
        assert!(at + OUTCOME_BYTES <= self.len, "a slot past the mapping");
        // SAFETY: the range lies inside the mapping (checked above); only
        // one process writes it, and no one reads it until that process has
        // been reaped.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.as_ptr().add(at), OUTCOME_BYTES)
        }
    }

    /// The [`OUTCOME_BYTES`] at offset `at`, once their writer was reaped.
    pub(crate) fn load(&self, at: usize) -> [u8; OUTCOME_BYTES] {
        assert!(at + OUTCOME_BYTES <= self.len, "a slot past the mapping");
        let mut out = [0u8; OUTCOME_BYTES];
        // SAFETY: the range lies inside the mapping; its writer has exited
        // and been reaped (`waitpid` orders its stores before this read).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.as_ptr().add(at),
                out.as_mut_ptr(),
                OUTCOME_BYTES,
            )
        }
        out
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe the mapping made in `map`, and no
        // reference into it outlives `self`.
        let _ = unsafe { munmap(self.base.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_mapping_of_the_fd_sees_the_same_bytes() {
        let mut a = SharedMem::new(100).unwrap();
        let b = SharedMem::from_fd(a.fd().try_clone_to_owned().unwrap()).unwrap();
        assert_eq!(b.len(), a.len());
        // SAFETY: both mappings are at least 100 bytes long.
        unsafe {
            *a.base().as_ptr().add(7) = 42;
            assert_eq!(*b.base().as_ptr().add(7), 42);
        }
        a.clear_from(0);
        // SAFETY: as above.
        assert_eq!(unsafe { *b.base().as_ptr().add(7) }, 0);
    }
}
