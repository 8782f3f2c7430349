//! What every child piscale forks does first, and how it can never return
//! into the parent's code: shared by the process backends, the fork server
//! and `piscale lesson race`. Everything here is async-signal-safe.

use nix::unistd::{getppid, Pid};

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
