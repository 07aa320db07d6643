//! WASI preview 1, enough for command modules (the sightglass benchmarks):
//! args, environ, clocks, random, stdio and files under preopened
//! directories, proc_exit; plus the `bench.start`/`bench.end` markers.
//!
//! Host functions reach the guest's memory through the instance's exported
//! memory, attached after instantiation (`Wasi::attach`). Every guest range
//! is bounds-checked against the memory's current size; paths are resolved
//! by the kernel beneath the preopened directory's descriptor, so neither
//! `..`, an absolute path nor a symbolic link (dangling or not) leaves it.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pcc::{TrapCode, ValType, WasmFuncType};

use crate::memory::Memory;
use crate::{Instance, Linker, Val};

const SUCCESS: i32 = 0;
const EACCES: i32 = 2;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const EIO: i32 = 29;
const ENOENT: i32 = 44;
const ENOSYS: i32 = 52;
const ENOTDIR: i32 = 54;
const EEXIST: i32 = 20;
const EISDIR: i32 = 31;
const ELOOP: i32 = 32;
const ENAMETOOLONG: i32 = 37;

/// WASI lookupflags: follow a symbolic link in the last component.
const SYMLINK_FOLLOW: u64 = 1;

enum Fd {
    Stdin,
    Stdout,
    Stderr,
    /// A directory: its guest name, and its descriptor every path under it
    /// is resolved from (`None`: the host directory could not be opened).
    Dir(String, Option<OwnedFd>),
    File(File),
}

struct State {
    memory: Option<Arc<Memory>>,
    fds: HashMap<u32, Fd>,
    next_fd: u32,
}

impl State {
    /// `path` opened with open(2) `flags` beneath the directory `fd`: EBADF
    /// if `fd` is not a directory, EACCES if the path would leave it, or
    /// the error of the open as a WASI errno.
    fn open(&self, fd: u64, path: &str, flags: i32) -> Result<OwnedFd, i32> {
        match self.fds.get(&(fd as u32)) {
            Some(Fd::Dir(_, Some(dir))) => open_beneath(dir, path, flags).map_err(wasi_errno),
            Some(Fd::Dir(_, None)) => Err(ENOENT),
            _ => Err(EBADF),
        }
    }
}

/// One WASI program's context.
pub struct Wasi {
    args: Vec<String>,
    env: Vec<String>,
    state: Mutex<State>,
}

thread_local! {
    /// Set by proc_exit; the runtime turns the unwinding host trap into
    /// [`crate::RunError::Exit`].
    pub(crate) static EXIT: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
}

/// A guest error number, or a trap (proc_exit, or no memory to work on).
type Ret = Result<i32, TrapCode>;

impl Wasi {
    /// `args[0]` is the program name; `dirs` are (guest name, host path).
    pub fn new(
        args: Vec<String>,
        env: Vec<(String, String)>,
        dirs: Vec<(String, PathBuf)>,
    ) -> Arc<Wasi> {
        let mut fds = HashMap::from([(0, Fd::Stdin), (1, Fd::Stdout), (2, Fd::Stderr)]);
        let mut next_fd = 3;
        for (guest, host) in dirs {
            let dir = File::open(&host).ok().map(OwnedFd::from);
            fds.insert(next_fd, Fd::Dir(guest, dir));
            next_fd += 1;
        }
        Arc::new(Wasi {
            args,
            env: env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            state: Mutex::new(State {
                memory: None,
                fds,
                next_fd,
            }),
        })
    }

    /// Give the host functions the instance's exported memory.
    pub fn attach(&self, instance: &Instance) {
        self.state.lock().expect("wasi state").memory = instance.memory();
    }

    /// Define `wasi_snapshot_preview1.*` and `bench.start`/`bench.end`.
    pub fn add_to(self: &Arc<Self>, linker: &mut Linker) {
        use ValType::{I32, I64};
        let ty = |params: &[ValType], results: &[ValType]| WasmFuncType {
            params: params.to_vec(),
            results: results.to_vec(),
        };
        for name in ["start", "end"] {
            linker.func("bench", name, ty(&[], &[]), |_| Ok(vec![]));
        }
        type Imp = fn(&Wasi, &[Val]) -> Ret;
        let table: &[(&str, &[ValType], Imp)] = &[
            ("args_sizes_get", &[I32, I32], |w, a| w.sizes(&w.args, a)),
            ("args_get", &[I32, I32], |w, a| w.strings(&w.args, a)),
            ("environ_sizes_get", &[I32, I32], |w, a| w.sizes(&w.env, a)),
            ("environ_get", &[I32, I32], |w, a| w.strings(&w.env, a)),
            ("clock_time_get", &[I32, I64, I32], Wasi::clock_time_get),
            ("random_get", &[I32, I32], Wasi::random_get),
            ("fd_write", &[I32, I32, I32, I32], Wasi::fd_write),
            ("fd_read", &[I32, I32, I32, I32], Wasi::fd_read),
            ("fd_close", &[I32], Wasi::fd_close),
            ("fd_seek", &[I32, I64, I32, I32], Wasi::fd_seek),
            ("fd_fdstat_get", &[I32, I32], Wasi::fd_fdstat_get),
            ("fd_filestat_get", &[I32, I32], Wasi::fd_filestat_get),
            ("fd_prestat_get", &[I32, I32], Wasi::fd_prestat_get),
            (
                "fd_prestat_dir_name",
                &[I32, I32, I32],
                Wasi::fd_prestat_dir_name,
            ),
            ("fd_sync", &[I32], |_, _| Ok(SUCCESS)),
            (
                "path_open",
                &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
                Wasi::path_open,
            ),
            (
                "path_filestat_get",
                &[I32, I32, I32, I32, I32],
                Wasi::path_filestat_get,
            ),
            ("poll_oneoff", &[I32, I32, I32, I32], |_, _| Ok(ENOSYS)),
        ];
        for &(name, params, imp) in table {
            let w = Arc::clone(self);
            linker.func(
                "wasi_snapshot_preview1",
                name,
                ty(params, &[I32]),
                move |a| {
                    let r = imp(&w, a);
                    if std::env::var_os("PCCC_TRACE_WASI").is_some() {
                        eprintln!("wasi {name}{a:?} -> {r:?}");
                    }
                    r.map(|e| vec![Val::I32(e)])
                },
            );
        }
        linker.func(
            "wasi_snapshot_preview1",
            "proc_exit",
            ty(&[I32], &[]),
            |a| {
                EXIT.with(|e| e.set(Some(arg(a, 0) as i32)));
                Err(TrapCode::HostTrap)
            },
        );
    }

    fn memory(&self) -> Result<Arc<Memory>, TrapCode> {
        self.state
            .lock()
            .expect("wasi state")
            .memory
            .clone()
            .ok_or(TrapCode::HostTrap)
    }

    fn sizes(&self, list: &[String], a: &[Val]) -> Ret {
        let m = self.memory()?;
        let bytes: usize = list.iter().map(|s| s.len() + 1).sum();
        Ok(stored(
            put_u32(&m, arg(a, 0), list.len() as u32) && put_u32(&m, arg(a, 1), bytes as u32),
        ))
    }

    fn strings(&self, list: &[String], a: &[Val]) -> Ret {
        let m = self.memory()?;
        let (mut ptrs, mut buf) = (arg(a, 0), arg(a, 1));
        for s in list {
            let mut z = s.as_bytes().to_vec();
            z.push(0);
            if !put_u32(&m, ptrs, buf as u32) || !m.write(buf, &z) {
                return Ok(EFAULT);
            }
            ptrs += 4;
            buf += z.len() as u64;
        }
        Ok(SUCCESS)
    }

    fn clock_time_get(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let now = match arg(a, 0) {
            // Realtime: since the epoch; the others: monotonic enough.
            0 => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
            _ => MONOTONIC_START.with(|s| s.elapsed()),
        };
        Ok(stored(
            m.write(arg(a, 2), &(now.as_nanos() as u64).to_le_bytes()),
        ))
    }

    fn random_get(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let mut buf = vec![0u8; arg(a, 1) as usize];
        let mut filled = 0;
        while filled < buf.len() {
            let r = unsafe {
                libc::getrandom(
                    buf[filled..].as_mut_ptr() as *mut libc::c_void,
                    buf.len() - filled,
                    0,
                )
            };
            if r <= 0 {
                return Ok(EIO);
            }
            filled += r as usize;
        }
        Ok(stored(m.write(arg(a, 0), &buf)))
    }

    /// The (buf, len) pairs of an iovec array.
    fn iovecs(m: &Memory, at: u64, n: u64) -> Option<Vec<(u64, u64)>> {
        let raw = m.read(at, n.checked_mul(8)?)?;
        Some(
            raw.chunks(8)
                .map(|c| {
                    let w = |k: usize| u32::from_le_bytes(c[k..k + 4].try_into().unwrap()) as u64;
                    (w(0), w(4))
                })
                .collect(),
        )
    }

    fn fd_write(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let Some(iovs) = Self::iovecs(&m, arg(a, 1), arg(a, 2)) else {
            return Ok(EFAULT);
        };
        let mut data = vec![];
        for (buf, len) in iovs {
            match m.read(buf, len) {
                Some(b) => data.extend(b),
                None => return Ok(EFAULT),
            }
        }
        let mut st = self.state.lock().expect("wasi state");
        let written = match st.fds.get_mut(&(arg(a, 0) as u32)) {
            Some(Fd::Stdout) => std::io::stdout().write_all(&data).map(|_| data.len()),
            Some(Fd::Stderr) => std::io::stderr().write_all(&data).map(|_| data.len()),
            Some(Fd::File(f)) => f.write_all(&data).map(|_| data.len()),
            _ => return Ok(EBADF),
        };
        Ok(match written {
            Ok(n) if put_u32(&m, arg(a, 3), n as u32) => SUCCESS,
            Ok(_) => EFAULT,
            Err(_) => EIO,
        })
    }

    fn fd_read(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let Some(iovs) = Self::iovecs(&m, arg(a, 1), arg(a, 2)) else {
            return Ok(EFAULT);
        };
        let mut st = self.state.lock().expect("wasi state");
        let mut total = 0u64;
        for (buf, len) in iovs {
            let mut chunk = vec![0u8; len as usize];
            let n = match st.fds.get_mut(&(arg(a, 0) as u32)) {
                Some(Fd::Stdin) => std::io::stdin().read(&mut chunk),
                Some(Fd::File(f)) => f.read(&mut chunk),
                _ => return Ok(EBADF),
            };
            let Ok(n) = n else { return Ok(EIO) };
            if !m.write(buf, &chunk[..n]) {
                return Ok(EFAULT);
            }
            total += n as u64;
            if n < len as usize {
                break;
            }
        }
        Ok(stored(put_u32(&m, arg(a, 3), total as u32)))
    }

    fn fd_close(&self, a: &[Val]) -> Ret {
        let mut st = self.state.lock().expect("wasi state");
        Ok(match st.fds.remove(&(arg(a, 0) as u32)) {
            Some(_) => SUCCESS,
            None => EBADF,
        })
    }

    fn fd_seek(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let off = match a.get(1) {
            Some(Val::I64(v)) => *v,
            _ => return Ok(EINVAL),
        };
        let pos = match arg(a, 2) {
            0 if off >= 0 => SeekFrom::Start(off as u64),
            1 => SeekFrom::Current(off),
            2 => SeekFrom::End(off),
            _ => return Ok(EINVAL),
        };
        let mut st = self.state.lock().expect("wasi state");
        let Some(Fd::File(f)) = st.fds.get_mut(&(arg(a, 0) as u32)) else {
            return Ok(EBADF);
        };
        Ok(match f.seek(pos) {
            Ok(n) if m.write(arg(a, 3), &n.to_le_bytes()) => SUCCESS,
            Ok(_) => EFAULT,
            Err(_) => EINVAL,
        })
    }

    fn fd_fdstat_get(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let st = self.state.lock().expect("wasi state");
        let filetype: u8 = match st.fds.get(&(arg(a, 0) as u32)) {
            Some(Fd::Stdin | Fd::Stdout | Fd::Stderr) => 2, // character device
            Some(Fd::Dir(..)) => 3,
            Some(Fd::File(_)) => 4,
            None => return Ok(EBADF),
        };
        let mut stat = [0u8; 24];
        stat[0] = filetype;
        stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes()); // rights: all
        stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        Ok(stored(m.write(arg(a, 1), &stat)))
    }

    fn fd_filestat_get(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let st = self.state.lock().expect("wasi state");
        let (filetype, size) = match st.fds.get(&(arg(a, 0) as u32)) {
            Some(Fd::Stdin | Fd::Stdout | Fd::Stderr) => (2u8, 0),
            Some(Fd::Dir(..)) => (3, 0),
            Some(Fd::File(f)) => (4, f.metadata().map(|md| md.len()).unwrap_or(0)),
            None => return Ok(EBADF),
        };
        Ok(write_filestat(&m, arg(a, 1), filetype, size))
    }

    fn path_filestat_get(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let Some(path) = m
            .read(arg(a, 2), arg(a, 3))
            .and_then(|p| String::from_utf8(p).ok())
        else {
            return Ok(EFAULT);
        };
        let st = self.state.lock().expect("wasi state");
        let flags = libc::O_PATH | nofollow(arg(a, 1));
        let file = match st.open(arg(a, 0), &path, flags) {
            Ok(fd) => File::from(fd),
            Err(errno) => return Ok(errno),
        };
        Ok(match file.metadata() {
            Ok(md) => {
                let filetype = if md.is_dir() {
                    3
                } else if md.is_symlink() {
                    7
                } else {
                    4
                };
                write_filestat(&m, arg(a, 4), filetype, md.len())
            }
            Err(_) => EIO,
        })
    }

    fn fd_prestat_get(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let st = self.state.lock().expect("wasi state");
        let Some(Fd::Dir(name, _)) = st.fds.get(&(arg(a, 0) as u32)) else {
            return Ok(EBADF);
        };
        let mut pre = [0u8; 8];
        pre[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        Ok(stored(m.write(arg(a, 1), &pre)))
    }

    fn fd_prestat_dir_name(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let st = self.state.lock().expect("wasi state");
        let Some(Fd::Dir(name, _)) = st.fds.get(&(arg(a, 0) as u32)) else {
            return Ok(EBADF);
        };
        let n = name.len().min(arg(a, 2) as usize);
        Ok(stored(m.write(arg(a, 1), &name.as_bytes()[..n])))
    }

    fn path_open(&self, a: &[Val]) -> Ret {
        let m = self.memory()?;
        let Some(path) = m.read(arg(a, 2), arg(a, 3)) else {
            return Ok(EFAULT);
        };
        let Ok(path) = String::from_utf8(path) else {
            return Ok(EINVAL);
        };
        let (oflags, fdflags) = (arg(a, 4), arg(a, 7));
        let mut st = self.state.lock().expect("wasi state");
        let nofollow = nofollow(arg(a, 1));
        let entry = if oflags & 2 != 0 {
            // O_DIRECTORY: a directory that paths resolve beneath in turn.
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | nofollow;
            st.open(arg(a, 0), &path, flags)
                .map(|dir| Fd::Dir(path, Some(dir)))
        } else {
            let write = oflags & (1 | 8) != 0 || fdflags & 1 != 0;
            let mut flags = if write { libc::O_RDWR } else { libc::O_RDONLY } | nofollow;
            for (bit, flag) in [
                (1, libc::O_CREAT),
                (4, libc::O_CREAT | libc::O_EXCL),
                (8, libc::O_TRUNC),
            ] {
                if oflags & bit != 0 {
                    flags |= flag;
                }
            }
            if fdflags & 1 != 0 {
                flags |= libc::O_APPEND;
            }
            st.open(arg(a, 0), &path, flags)
                .map(|f| Fd::File(File::from(f)))
        };
        let entry = match entry {
            Ok(e) => e,
            Err(errno) => return Ok(errno),
        };
        let fd = st.next_fd;
        st.fds.insert(fd, entry);
        st.next_fd += 1;
        Ok(stored(put_u32(&m, arg(a, 8), fd)))
    }
}

thread_local! {
    static MONOTONIC_START: std::time::Instant = std::time::Instant::now();
}

/// Argument `k` as an unsigned 32-bit guest value (pointers, lengths, fds).
fn arg(a: &[Val], k: usize) -> u64 {
    match a.get(k) {
        Some(Val::I32(v)) => *v as u32 as u64,
        Some(Val::I64(v)) => *v as u64,
        _ => 0,
    }
}

/// A WASI `filestat` (64 bytes): filetype at 16, nlink at 24, size at 32.
fn write_filestat(m: &Memory, at: u64, filetype: u8, size: u64) -> i32 {
    let mut stat = [0u8; 64];
    stat[16] = filetype;
    stat[24..32].copy_from_slice(&1u64.to_le_bytes());
    stat[32..40].copy_from_slice(&size.to_le_bytes());
    stored(m.write(at, &stat))
}

/// The errno of a write to guest memory: it fits, or the pointer is bad.
fn stored(ok: bool) -> i32 {
    if ok {
        SUCCESS
    } else {
        EFAULT
    }
}

fn put_u32(m: &Memory, at: u64, v: u32) -> bool {
    m.write(at, &v.to_le_bytes())
}

/// O_NOFOLLOW unless the WASI lookup flags ask to follow a last-component
/// symbolic link.
fn nofollow(lookupflags: u64) -> i32 {
    if lookupflags & SYMLINK_FOLLOW != 0 {
        0
    } else {
        libc::O_NOFOLLOW
    }
}

/// A host errno as a WASI errno.
fn wasi_errno(e: i32) -> i32 {
    match e {
        libc::ENOENT => ENOENT,
        libc::ENOTDIR => ENOTDIR,
        libc::EISDIR => EISDIR,
        libc::EEXIST => EEXIST,
        libc::ELOOP => ELOOP,
        libc::ENAMETOOLONG => ENAMETOOLONG,
        libc::EINVAL => EINVAL,
        // EXDEV: the path would leave the directory.
        _ => EACCES,
    }
}

/// Open `path` with open(2) `flags` beneath the directory `dir`, never
/// resolving anything outside it: not by `..`, an absolute path or a
/// symbolic link, whether it exists or dangles (the kernel resolves and
/// creates in one step, so nothing can change in between). A host errno.
fn open_beneath(dir: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd, i32> {
    match openat2_beneath(dir, path, flags) {
        Err(libc::ENOSYS) => walk_beneath(dir, path, flags),
        r => r,
    }
}

/// The kernel's `struct open_how` (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2 with RESOLVE_BENEATH (Linux 5.6): symbolic links are followed
/// only while they stay beneath `dir`; absolute ones and `..` above it fail
/// with EXDEV.
fn openat2_beneath(dir: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd, i32> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: if flags & libc::O_CREAT != 0 { 0o666 } else { 0 },
        resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
    };
    // EAGAIN: a concurrent rename made the kernel unsure; try again.
    for _ in 0..16 {
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN | libc::EINTR) => continue,
            e => return Err(e.unwrap_or(libc::EIO)),
        }
    }
    Err(libc::EAGAIN)
}

/// Without openat2: one component at a time from `dir`, each directory
/// opened with O_NOFOLLOW (so a symbolic link anywhere is refused, even
/// one that would stay inside), `..` going back to the directory it came
/// from and failing at `dir` itself.
fn walk_beneath(dir: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd, i32> {
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    if path.starts_with('/') {
        return Err(libc::EXDEV);
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let (last, dirs) = match parts.split_last() {
        Some((last, dirs)) => (*last, dirs),
        None => (".", &[][..]),
    };
    // The directories walked into, below `dir`.
    let mut walked: Vec<OwnedFd> = vec![];
    for p in dirs.iter().copied().chain((last == "..").then_some("..")) {
        if p == ".." {
            walked.pop().ok_or(libc::EXDEV)?;
        } else {
            let at = walked.last().unwrap_or(dir);
            let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            walked.push(openat(at, p, flags)?);
        }
    }
    let last = if last == ".." { "." } else { last };
    openat(walked.last().unwrap_or(dir), last, flags | libc::O_NOFOLLOW)
}

fn openat(dir: &OwnedFd, name: &str, flags: i32) -> Result<OwnedFd, i32> {
    let c = CString::new(name).map_err(|_| libc::EINVAL)?;
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC, 0o666) };
    if fd >= 0 {
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    } else {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// `data/` (with `f`, `sub/g`, links in and out) next to `secret`.
    fn tree(name: &str) -> (PathBuf, OwnedFd) {
        let root = std::env::temp_dir().join(format!("pccc-walk-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&root).ok();
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/f"), "f").unwrap();
        std::fs::write(root.join("data/sub/g"), "g").unwrap();
        std::fs::write(root.join("secret"), "s").unwrap();
        symlink(root.join("new-outside"), root.join("data/dangling")).unwrap();
        symlink("../secret", root.join("data/out")).unwrap();
        symlink("loop", root.join("data/loop")).unwrap();
        symlink("sub/g", root.join("data/in")).unwrap();
        let dir = OwnedFd::from(File::open(root.join("data")).unwrap());
        (root, dir)
    }

    type Open = fn(&OwnedFd, &str, i32) -> Result<OwnedFd, i32>;

    /// What both resolvers must refuse, and what they must allow.
    fn stays_beneath(name: &str, open: Open) {
        let (root, dir) = tree(name);
        let creat = libc::O_RDWR | libc::O_CREAT;
        assert!(open(&dir, "dangling", creat).is_err());
        assert!(!root.join("new-outside").exists(), "created outside");
        for p in [
            "out",
            "../secret",
            "sub/../../secret",
            "..",
            "/etc/passwd",
            "",
        ] {
            assert!(open(&dir, p, libc::O_RDONLY).is_err(), "{p:?} opened");
        }
        assert_eq!(open(&dir, "loop", libc::O_RDONLY).err(), Some(libc::ELOOP));
        for p in ["f", "sub/g", "sub/../f", "./sub/./g", "sub/..", "."] {
            assert!(open(&dir, p, libc::O_RDONLY).is_ok(), "{p:?} refused");
        }
        assert!(open(&dir, "sub/new", creat).is_ok());
        assert!(root.join("data/sub/new").exists());
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn openat2_stays_beneath_and_follows_links_inside() {
        stays_beneath("openat2", openat2_beneath);
        let (root, dir) = tree("openat2-in");
        assert!(openat2_beneath(&dir, "in", libc::O_RDONLY).is_ok());
        std::fs::remove_dir_all(&root).ok();
    }

    /// The fallback for kernels without openat2 refuses every link.
    #[test]
    fn the_component_walk_stays_beneath() {
        stays_beneath("walk", walk_beneath);
        let (root, dir) = tree("walk-in");
        assert!(walk_beneath(&dir, "in", libc::O_RDONLY).is_err());
        std::fs::remove_dir_all(&root).ok();
    }
}
