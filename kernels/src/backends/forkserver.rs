//! `--start forkserver`: Python's design. A server process, itself a fresh
//! run of the program (so it has one thread and a clean memory, whatever
//! the parent was doing), is started when the backend first needs workers;
//! it forks every worker on request. Parent and server talk over a Unix
//! `SOCK_SEQPACKET` socket pair; a request's descriptors (the worker's pipe
//! to the parent, the shared memfd, a task or queue pipe) cross with
//! `SCM_RIGHTS`.
//!
//! The workers are the server's children, not the parent's: the parent asks
//! the server to reap one (`W`) and whether one is stopped (`T`), and kills
//! one by pid itself — safe, because the server reaps a worker only when
//! asked, so its pid cannot be reused before. A worker dies with the server
//! and the server with the parent (`PR_SET_PDEATHSIG` at both steps); when
//! the parent closes the socket, the server kills and reaps what is left
//! and exits.
//!
//! Requests, one datagram each, answered by one reply of 5 bytes (a tag and
//! a little-endian `i32`):
//! - `F`, a presence byte (bit 0: shared memory, bit 1: extra pipe), then
//!   the assignment's arguments separated by NUL; descriptors: the pipe,
//!   then those present → `P` + the worker's pid, or `E` + errno;
//! - `W` + pid → `S` + the raw `waitpid` status;
//! - `T` + pid → `T` + the signal that stopped it, or 0.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, ForkResult, Pid};

use super::process::{spawn_exec, ChildProc};
use super::shared_mem::SharedMem;
use super::worker::{dispatch, Assignment, WorkerIo};
use crate::clock::{mono_ns, secs_between};
use crate::error::{Error, OsContext, Result};
use crate::pin::CpuList;
use crate::start::{worker_program, SERVER_ARG};

/// The largest request: a dozen short arguments.
const MAX_REQUEST: usize = 1024;

/// How long the parent waits for a reply. Every request is answered at
/// once (a fork, or reaping a worker that has exited or was killed): a
/// server silent this long is stopped or stuck, and the run fails naming
/// it rather than hanging.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a server may take to exit once its socket is shut down.
const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The parent's end of the conversation with a fork server.
#[derive(Debug)]
pub(crate) struct ServerConn {
    /// The socket; the lock keeps one request and its reply together.
    sock: Mutex<OwnedFd>,
    /// The server's pid, for messages.
    pid: Pid,
}

impl ServerConn {
    /// Sends `request` with `fds` and returns the reply's tag and value.
    fn ask(&self, request: &[u8], fds: &[RawFd]) -> Result<(u8, i32)> {
        let sock = self.sock.lock().unwrap_or_else(|p| p.into_inner());
        let raw = sock.as_raw_fd();
        let cmsgs: Vec<ControlMessage> = if fds.is_empty() {
            Vec::new()
        } else {
            vec![ControlMessage::ScmRights(fds)]
        };
        loop {
            match sendmsg::<()>(
                raw,
                &[IoSlice::new(request)],
                &cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(self.gone(e)),
                Ok(_) => break,
            }
        }
        let mut reply = [0u8; 5];
        loop {
            let got = recvmsg::<()>(
                raw,
                &mut [IoSliceMut::new(&mut reply)],
                None,
                MsgFlags::empty(),
            )
            .map(|m| m.bytes);
            match got {
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => {
                    return Err(Error::ForkServer {
                        pid: self.pid.as_raw(),
                        how: format!("did not answer within {REPLY_TIMEOUT:?}"),
                    })
                }
                Err(e) => return Err(self.gone(e)),
                Ok(5) => break,
                Ok(_) => return Err(self.gone(Errno::EPIPE)),
            }
        }
        let value = i32::from_le_bytes([reply[1], reply[2], reply[3], reply[4]]);
        Ok((reply[0], value))
    }

    fn gone(&self, e: Errno) -> Error {
        Error::ForkServer {
            pid: self.pid.as_raw(),
            how: format!("stopped answering ({e}); its workers died with it"),
        }
    }

    /// Reaps worker `pid` (which must have exited, or been killed).
    pub(crate) fn wait(&self, pid: Pid) -> Result<WaitStatus> {
        match self.ask(&request(b'W', pid), &[])? {
            (b'S', status) => WaitStatus::from_raw(pid, status).os("waitpid"),
            (_, errno) => Err(Error::Os {
                context: "waitpid (fork server)",
                errno: Errno::from_raw(errno),
            }),
        }
    }

    /// The signal that stopped worker `pid`, if it is stopped.
    pub(crate) fn stopped(&self, pid: Pid) -> Option<Signal> {
        match self.ask(&request(b'T', pid), &[]) {
            Ok((b'T', sig)) if sig > 0 => Signal::try_from(sig).ok(),
            _ => None,
        }
    }
}

fn request(tag: u8, pid: Pid) -> [u8; 5] {
    let p = pid.as_raw().to_le_bytes();
    [tag, p[0], p[1], p[2], p[3]]
}

/// A running fork server, stopped (and reaped) on drop.
#[derive(Debug)]
pub(crate) struct ForkServer {
    conn: Arc<ServerConn>,
    /// The server process (its pipe reaches end-of-file when it exits).
    process: ChildProc,
    /// How long it took to start and answer.
    setup_s: f64,
}

impl ForkServer {
    /// Starts a server: the program run again with [`SERVER_ARG`], its
    /// socket at descriptor 4. Returns once it has answered a first request.
    pub(crate) fn start() -> Result<ForkServer> {
        let t0 = mono_ns();
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .os("socketpair")?;
        let program =
            std::ffi::CString::new(worker_program().into_os_string().into_encoded_bytes())
                .map_err(|_| Error::Invalid("the worker program's path holds a NUL byte".into()))?;
        let server_arg = std::ffi::CString::new(SERVER_ARG)
            .map_err(|_| Error::Invalid("SERVER_ARG holds a NUL byte".into()))?;
        let argv = [program.clone(), server_arg];
        let process = spawn_exec(0, &program, &argv, [Some(theirs.as_fd()), None])?;
        drop(theirs);
        let timeout = nix::sys::time::TimeVal::new(REPLY_TIMEOUT.as_secs() as _, 0);
        nix::sys::socket::setsockopt(&ours, nix::sys::socket::sockopt::ReceiveTimeout, &timeout)
            .os("setsockopt")?;
        let conn = Arc::new(ServerConn {
            sock: Mutex::new(ours),
            pid: process.pid,
        });
        let mut server = ForkServer {
            conn,
            process,
            setup_s: 0.0,
        };
        // A first round trip: the server is up and serving (asking about
        // pid 0 is answered "not stopped", harmlessly).
        server.conn.ask(&request(b'T', Pid::from_raw(0)), &[])?;
        server.setup_s = secs_between(t0, mono_ns());
        Ok(server)
    }

    /// Seconds from asking for the server until it answered.
    pub(crate) fn setup_s(&self) -> f64 {
        self.setup_s
    }

    /// Has the server fork worker `a.worker`, which runs [`dispatch`] with
    /// these descriptors (its pipe to the parent is made here).
    pub(crate) fn launch(
        &self,
        a: &Assignment,
        cpu: Option<usize>,
        shared: Option<&SharedMem>,
        extra: Option<BorrowedFd<'_>>,
    ) -> Result<ChildProc> {
        let (from_child, to_parent) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).os("pipe2")?;
        let mut msg = vec![
            b'F',
            u8::from(shared.is_some()) | u8::from(extra.is_some()) << 1,
        ];
        for arg in a.to_args(cpu) {
            msg.extend_from_slice(arg.as_bytes());
            msg.push(0);
        }
        let mut fds = vec![to_parent.as_raw_fd()];
        fds.extend(shared.map(|m| m.fd().as_raw_fd()));
        fds.extend(extra.map(|e| e.as_raw_fd()));
        let (tag, value) = self.conn.ask(&msg, &fds)?;
        drop(to_parent);
        match tag {
            b'P' => Ok(ChildProc::served(
                a.worker,
                Pid::from_raw(value),
                from_child,
                self.conn.clone(),
            )),
            _ => Err(Error::Os {
                context: "fork (fork server)",
                errno: Errno::from_raw(value),
            }),
        }
    }
}

impl Drop for ForkServer {
    fn drop(&mut self) {
        // End-of-file on its socket: it kills and reaps its workers and
        // exits. Shut down rather than close — a worker handle may still
        // hold the connection.
        if let Ok(sock) = self.conn.sock.lock() {
            // SAFETY: `shutdown` on a socket we own; no memory is involved.
            unsafe { libc::shutdown(sock.as_raw_fd(), libc::SHUT_RDWR) };
        }
        // It exits at once; a stopped or stuck one is killed (its workers
        // die with it).
        let end = std::time::Instant::now() + STOP_TIMEOUT;
        let mut killed = false;
        loop {
            match waitpid(self.process.pid, Some(WaitPidFlag::WNOHANG)) {
                Err(Errno::EINTR) => continue,
                Ok(WaitStatus::StillAlive | WaitStatus::Stopped(..) | WaitStatus::Continued(_)) => {
                    if !killed && std::time::Instant::now() >= end {
                        let _ = kill(self.process.pid, Signal::SIGKILL);
                        killed = true;
                    }
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                _ => break,
            }
        }
    }
}

/// The server's side: serves requests on the socket at descriptor 4 until
/// the parent closes it, then kills and reaps its workers. Its exit status.
pub(crate) fn serve() -> std::result::Result<i32, String> {
    // SAFETY: `fcntl(F_GETFD)` only asks whether descriptor 4 is open.
    if unsafe { libc::fcntl(4, libc::F_GETFD) } < 0 {
        return Err("no socket at descriptor 4".into());
    }
    // SAFETY: the parent put the socket there for this process alone.
    let sock = unsafe { OwnedFd::from_raw_fd(4) };
    let me = getpid();
    let mut workers: Vec<Pid> = Vec::new();
    let mut buf = [0u8; MAX_REQUEST];
    loop {
        let mut space = nix::cmsg_space!([RawFd; 3]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let received = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        );
        let (n, fds) = match received {
            Err(Errno::EINTR) => continue,
            Err(_) => break,
            Ok(msg) => {
                let mut fds: Vec<OwnedFd> = Vec::new();
                for c in msg.cmsgs().into_iter().flatten() {
                    if let ControlMessageOwned::ScmRights(raw) = c {
                        // SAFETY: descriptors just received are ours alone.
                        fds.extend(
                            raw.into_iter()
                                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                        );
                    }
                }
                (msg.bytes, fds)
            }
        };
        if n == 0 {
            break; // the parent is done
        }
        let reply = match buf[0] {
            b'F' => fork_worker(&buf[1..n], fds, me, sock.as_fd()).map_or_else(
                |e| (b'E', e as i32),
                |pid| {
                    workers.push(pid);
                    (b'P', pid.as_raw())
                },
            ),
            b'W' if n == 5 => {
                let pid = Pid::from_raw(i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]));
                let mut status = 0;
                let rc = loop {
                    // SAFETY: `waitpid` writes the status into a local.
                    let rc = unsafe { libc::waitpid(pid.as_raw(), &mut status, 0) };
                    if rc >= 0 || Errno::last() != Errno::EINTR {
                        break rc;
                    }
                };
                workers.retain(|&w| w != pid);
                if rc < 0 {
                    (b'E', Errno::last() as i32)
                } else {
                    (b'S', status)
                }
            }
            b'T' if n == 5 => {
                let pid = Pid::from_raw(i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]));
                let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
                let sig = match waitid(Id::Pid(pid), flags) {
                    Ok(WaitStatus::Stopped(_, sig)) if workers.contains(&pid) => sig as i32,
                    _ => 0,
                };
                (b'T', sig)
            }
            _ => (b'E', Errno::EINVAL as i32),
        };
        let v = reply.1.to_le_bytes();
        let bytes = [reply.0, v[0], v[1], v[2], v[3]];
        if sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&bytes)],
            &[],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .is_err()
        {
            break;
        }
    }
    for &w in &workers {
        let _ = kill(w, Signal::SIGKILL);
    }
    for &w in &workers {
        let _ = waitpid(w, None);
    }
    Ok(0)
}

/// Forks one worker for an `F` request: `body` is the presence byte and
/// the arguments, `fds` the pipe and the descriptors present.
fn fork_worker(
    body: &[u8],
    fds: Vec<OwnedFd>,
    server: Pid,
    sock: BorrowedFd<'_>,
) -> std::result::Result<Pid, Errno> {
    let (&present, args) = body.split_first().ok_or(Errno::EINVAL)?;
    let args: Vec<std::ffi::OsString> = args
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| std::ffi::OsString::from(String::from_utf8_lossy(a).into_owned()))
        .collect();
    let (a, cpu) = Assignment::from_args(&args).map_err(|_| Errno::EINVAL)?;
    let mut fds = fds.into_iter();
    let out = fds.next().ok_or(Errno::EINVAL)?;
    let shared = match present & 1 {
        0 => None,
        _ => Some(SharedMem::from_fd(fds.next().ok_or(Errno::EINVAL)?).map_err(|_| Errno::EINVAL)?),
    };
    let extra = match present & 2 {
        0 => None,
        _ => Some(fds.next().ok_or(Errno::EINVAL)?),
    };
    let cpus = cpu.map(|c| CpuList(vec![c]));
    // SAFETY: the server has one thread (it is a fresh program that starts
    // none), so the child may do anything a program may; it leaves with
    // `_exit` and never returns into the server's loop.
    match unsafe { fork() }? {
        ForkResult::Child => {
            // SAFETY: `close` of the server's socket copy, which this worker
            // must not hold (the parent's end-of-file depends on it).
            unsafe { libc::close(sock.as_raw_fd()) };
            crate::child::prologue(server);
            let io = WorkerIo {
                out: out.as_fd(),
                shared: shared.as_ref(),
                extra: extra.as_ref().map(AsFd::as_fd),
            };
            let code = dispatch(&a, cpus.as_ref(), &io);
            // SAFETY: `_exit` ends this worker without running the server's
            // exit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(child),
    }
}
