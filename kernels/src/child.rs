//! What every child piscale forks does first, and how it can never return
//! into the parent's code: shared by the process backends, the fork server
//! and `piscale lesson race`. Everything here is async-signal-safe.

use std::sync::OnceLock;

use nix::errno::Errno;
use nix::unistd::{getppid, ForkResult, Pid};

/// glibc's `_Fork` (2.34 and later): `fork` without the `pthread_atfork`
/// handlers. Those take and release the allocator's and stdio's locks and
/// reset glibc's malloc, name-service, timer and message-queue state in the
/// child — about a dozen writes to pages the parent and child then copy,
/// which a worker that never allocates and never touches stdio does not
/// need. `None` where the C library has no `_Fork` (then plain `fork`).
type BareFork = unsafe extern "C" fn() -> libc::pid_t;

fn bare_fork_fn() -> Option<BareFork> {
    static FOUND: OnceLock<Option<BareFork>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: `dlsym` with RTLD_DEFAULT and a NUL-terminated name only
        // looks the symbol up; it runs here in the parent, never in a child.
        let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_Fork".as_ptr()) };
        // SAFETY: a non-null `_Fork` from the C library has this signature
        // (`pid_t _Fork(void)`, as `fork`).
        (!sym.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, BareFork>(sym) })
    })
}

/// Forks a child that will only make async-signal-safe calls and end with
/// `_exit`: by `_Fork` where the C library has it (see [`BareFork`]), else
/// by `fork`.
///
/// # Safety
/// As `fork`: in the child, only async-signal-safe code may run until it
/// exits or `exec`s — no allocation, no locks, no stdio.
pub unsafe fn fork_bare() -> nix::Result<ForkResult> {
    let f = bare_fork_fn();
    // SAFETY: `_Fork` and `fork` take no arguments; the caller keeps the
    // child to async-signal-safe code.
    let pid = unsafe {
        match f {
            Some(f) => f(),
            None => libc::fork(),
        }
    };
    match pid {
        -1 => Err(Errno::last()),
        0 => Ok(ForkResult::Child),
        child => Ok(ForkResult::Parent {
            child: Pid::from_raw(child),
        }),
    }
}

/// Exits the child process if it ever unwinds (a bug): never return into
/// the parent's code on the child's side of a `fork`. Hold one for the
/// child's whole life; its exit status is 101, as a Rust panic's.
#[derive(Debug)]
pub struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: `_exit` is async-signal-safe and never returns; it is only
        // reached while unwinding in a forked child.
        unsafe { libc::_exit(101) }
    }
}

/// What a child does first after `fork`: die with the thread that forked
/// it (`PR_SET_PDEATHSIG`), and die of SIGINT and SIGTERM — the parent may catch
/// them to stop gracefully; a child should just die (Ctrl-C reaches the
/// whole group). `parent` is the parent's pid, read before the fork.
pub fn prologue(parent: Pid) {
    die_with(parent);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `signal` with SIG_DFL is async-signal-safe and touches no
        // Rust state.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Makes this forked child die (SIGKILL) when the thread that forked it
/// dies, so that a killed parent leaves no child computing for minutes;
/// exits at once if `parent` already died before the request took hold.
/// Two raw system calls.
fn die_with(parent: Pid) {
    // The kernel reads the signal as an `unsigned long`: pass one, not an
    // `int` whose upper half a variadic call leaves undefined.
    let signal = libc::SIGKILL as libc::c_ulong;
    // SAFETY: `prctl(PR_SET_PDEATHSIG)` only sets an attribute of this
    // process in the kernel; it touches no memory of ours and is a raw,
    // async-signal-safe system call.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal) };
    // A parent that died between `fork` and `prctl` sent no signal: this
    // child was reparented already, which `getppid` tells.
    if getppid() != parent {
        // SAFETY: `_exit` is async-signal-safe and never returns; this child
        // has no result to deliver to anyone.
        unsafe { libc::_exit(1) }
    }
}
