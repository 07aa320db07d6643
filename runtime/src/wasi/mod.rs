//! WASI preview 1 (`wasi_snapshot_preview1`), all 46 functions, with the
//! semantics and error numbers of Wasmtime's preview-1 implementation
//! (wasmtime-wasi 50, `p1.rs`), plus the `bench.start`/`bench.end` markers.
//!
//! Host functions reach the guest's memory through the instance's exported
//! memory, attached after instantiation (`Wasi::attach`). Every guest range
//! is bounds-checked against the memory's current size; a range outside it
//! is EFAULT (Wasmtime traps instead). Paths are resolved by the kernel
//! beneath the directory descriptor they are relative to ([`beneath`]), so
//! neither `..`, an absolute path nor a symbolic link (dangling or not)
//! leaves a preopened directory, for every `path_*` function and both ends
//! of `path_link`/`path_rename`; `path_symlink` refuses absolute targets.
//! An escape is EPERM, as Wasmtime's `escape_attempt`.
//!
//! As in Wasmtime, a file's position is kept here (reads and writes are
//! pread/pwrite at it), reads and writes use the first non-empty buffer of
//! an iovec array only, and the guest's rights are not enforced beyond
//! choosing the open mode in `path_open`.

mod beneath;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pcc::{TrapCode, ValType, WasmFuncType};

use crate::memory::Memory;
use crate::{Instance, Linker, Val};
use beneath::{cvt, open_beneath, parent_beneath};

/// WASI errno values (witx `errno`).
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const EACCES: i32 = 2;
    pub const EALREADY: i32 = 7;
    pub const EBADF: i32 = 8;
    pub const EBUSY: i32 = 10;
    pub const EEXIST: i32 = 20;
    pub const EFAULT: i32 = 21;
    pub const EFBIG: i32 = 22;
    pub const EILSEQ: i32 = 25;
    pub const EINPROGRESS: i32 = 26;
    pub const EINTR: i32 = 27;
    pub const EINVAL: i32 = 28;
    pub const EIO: i32 = 29;
    pub const EISDIR: i32 = 31;
    pub const ELOOP: i32 = 32;
    pub const EMLINK: i32 = 34;
    pub const ENAMETOOLONG: i32 = 37;
    pub const ENOENT: i32 = 44;
    pub const ENOMEM: i32 = 48;
    pub const ENOSPC: i32 = 51;
    pub const ENOTDIR: i32 = 54;
    pub const ENOTEMPTY: i32 = 55;
    pub const ENOTSOCK: i32 = 57;
    pub const ENOTSUP: i32 = 58;
    pub const EOVERFLOW: i32 = 61;
    pub const EPERM: i32 = 63;
    pub const EPIPE: i32 = 64;
    pub const ESPIPE: i32 = 70;
}
use errno::*;

/// WASI filetypes.
const UNKNOWN: u8 = 0;
const BLOCK_DEVICE: u8 = 1;
const CHARACTER_DEVICE: u8 = 2;
const DIRECTORY: u8 = 3;
const REGULAR_FILE: u8 = 4;
const SOCKET_STREAM: u8 = 6;
const SYMBOLIC_LINK: u8 = 7;

/// WASI rights bits that matter here.
const FD_READ: u64 = 1 << 1;
const FD_SEEK: u64 = 1 << 2;
const FD_WRITE: u64 = 1 << 6;
const FD_READDIR: u64 = 1 << 14;
const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
/// Every right witx defines (30 bits: fd_datasync .. sock_accept).
const ALL_RIGHTS: u64 = (1 << 30) - 1;
/// What Wasmtime reports for a preopened directory: the path rights, not
/// the fd ones (which it gives as inheriting rights).
const PREOPEN_RIGHTS: u64 = (1 << 9)
    | (1 << 10)
    | (1 << 11)
    | (1 << 12)
    | (1 << 13)
    | FD_READDIR
    | (1 << 15)
    | (1 << 16)
    | (1 << 17)
    | (1 << 24)
    | (1 << 25)
    | (1 << 26)
    | (1 << 18)
    | (1 << 20)
    | (1 << 21)
    | (1 << 23);
const PREOPEN_INHERITING: u64 = PREOPEN_RIGHTS
    | 1
    | FD_READ
    | FD_SEEK
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | FD_WRITE
    | (1 << 7)
    | (1 << 8)
    | (1 << 21)
    | FD_FILESTAT_SET_SIZE
    | (1 << 23)
    | (1 << 27);

/// fdflags.
const APPEND: u64 = 1;
const DSYNC: u64 = 2;
const NONBLOCK: u64 = 4;
const RSYNC: u64 = 8;
const SYNC: u64 = 16;
/// oflags.
const O_CREAT: u64 = 1;
const O_DIRECTORY: u64 = 2;
const O_EXCL: u64 = 4;
const O_TRUNC: u64 = 8;
/// lookupflags: follow a symbolic link in the last component.
const SYMLINK_FOLLOW: u64 = 1;

/// An open file: Wasmtime keeps the position itself and reads and writes
/// at it with pread/pwrite.
struct OpenFile {
    file: File,
    pos: u64,
    append: bool,
    nonblock: bool,
    read: bool,
    write: bool,
}

enum Fd {
    Stdin,
    Stdout,
    Stderr,
    /// A directory: its preopen name (None: opened by path_open), and the
    /// descriptor every path under it is resolved from (None: the host
    /// directory of a preopen could not be opened).
    Dir {
        preopen: Option<String>,
        fd: Option<OwnedFd>,
        read: bool,
        write: bool,
    },
    File(OpenFile),
}

struct State {
    memory: Option<Arc<Memory>>,
    fds: BTreeMap<u32, Fd>,
    /// Numbers closed, reused highest first (as Wasmtime).
    free: BTreeSet<u32>,
}

impl State {
    fn get(&self, fd: u64) -> Result<&Fd, i32> {
        self.fds.get(&(fd as u32)).ok_or(EBADF)
    }

    /// A directory to resolve paths beneath: EBADF for anything else.
    fn dir(&self, fd: u64) -> Result<&OwnedFd, i32> {
        match self.get(fd)? {
            Fd::Dir { fd: Some(d), .. } => Ok(d),
            Fd::Dir { fd: None, .. } => Err(ENOENT),
            _ => Err(EBADF),
        }
    }

    fn file(&mut self, fd: u64) -> Result<&mut OpenFile, i32> {
        match self.fds.get_mut(&(fd as u32)) {
            Some(Fd::File(f)) => Ok(f),
            _ => Err(EBADF),
        }
    }

    /// A file, for seek and tell: stdio is ESPIPE, anything else EBADF.
    fn seekable(&mut self, fd: u64) -> Result<&mut OpenFile, i32> {
        match self.fds.get_mut(&(fd as u32)) {
            Some(Fd::File(f)) => Ok(f),
            Some(Fd::Stdin | Fd::Stdout | Fd::Stderr) => Err(ESPIPE),
            _ => Err(EBADF),
        }
    }

    /// The host descriptor of a file or directory (not stdio: EBADF).
    fn host_fd(&self, fd: u64) -> Result<i32, i32> {
        match self.get(fd)? {
            Fd::File(f) => Ok(f.file.as_raw_fd()),
            Fd::Dir { fd: Some(d), .. } => Ok(d.as_raw_fd()),
            Fd::Dir { fd: None, .. } => Err(ENOENT),
            _ => Err(EBADF),
        }
    }

    fn push(&mut self, entry: Fd) -> u32 {
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => self.fds.last_key_value().map_or(0, |(k, _)| k + 1),
        };
        self.fds.insert(fd, entry);
        fd
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

/// Why a host function did not succeed: a guest error number, or a trap
/// (no memory to work on).
enum Fail {
    Errno(i32),
    Trap(TrapCode),
}

impl From<i32> for Fail {
    fn from(e: i32) -> Fail {
        Fail::Errno(e)
    }
}

type Res = Result<(), Fail>;
type Imp = fn(&Wasi, &[Val]) -> Res;

impl Wasi {
    /// `args[0]` is the program name; `dirs` are (guest name, host path).
    pub fn new(
        args: Vec<String>,
        env: Vec<(String, String)>,
        dirs: Vec<(String, PathBuf)>,
    ) -> Arc<Wasi> {
        let mut fds = BTreeMap::from([(0, Fd::Stdin), (1, Fd::Stdout), (2, Fd::Stderr)]);
        for (k, (guest, host)) in dirs.into_iter().enumerate() {
            let dir = File::open(&host).ok().map(OwnedFd::from);
            let entry = Fd::Dir {
                preopen: Some(guest),
                fd: dir,
                read: true,
                write: false,
            };
            fds.insert(3 + k as u32, entry);
        }
        Arc::new(Wasi {
            args,
            env: env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            state: Mutex::new(State {
                memory: None,
                fds,
                free: BTreeSet::new(),
            }),
        })
    }

    /// Give the host functions the instance's exported memory.
    pub fn attach(&self, instance: &Instance) {
        self.state().memory = instance.memory();
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
        #[rustfmt::skip]
        let table: &[(&str, &[ValType], Imp)] = &[
            ("args_get", &[I32, I32], |w, a| w.strings(&w.args, a)),
            ("args_sizes_get", &[I32, I32], |w, a| w.sizes(&w.args, a)),
            ("environ_get", &[I32, I32], |w, a| w.strings(&w.env, a)),
            ("environ_sizes_get", &[I32, I32], |w, a| w.sizes(&w.env, a)),
            ("clock_res_get", &[I32, I32], Wasi::clock_res_get),
            ("clock_time_get", &[I32, I64, I32], Wasi::clock_time_get),
            ("fd_advise", &[I32, I64, I64, I32], Wasi::fd_advise),
            ("fd_allocate", &[I32, I64, I64], Wasi::fd_allocate),
            ("fd_close", &[I32], Wasi::fd_close),
            ("fd_datasync", &[I32], |w, a| w.fd_sync(a, true)),
            ("fd_fdstat_get", &[I32, I32], Wasi::fd_fdstat_get),
            ("fd_fdstat_set_flags", &[I32, I32], Wasi::fd_fdstat_set_flags),
            ("fd_fdstat_set_rights", &[I32, I64, I64], Wasi::fd_fdstat_set_rights),
            ("fd_filestat_get", &[I32, I32], Wasi::fd_filestat_get),
            ("fd_filestat_set_size", &[I32, I64], Wasi::fd_filestat_set_size),
            ("fd_filestat_set_times", &[I32, I64, I64, I32], Wasi::fd_filestat_set_times),
            ("fd_pread", &[I32, I32, I32, I64, I32], |w, a| w.fd_read(a, true)),
            ("fd_prestat_get", &[I32, I32], Wasi::fd_prestat_get),
            ("fd_prestat_dir_name", &[I32, I32, I32], Wasi::fd_prestat_dir_name),
            ("fd_pwrite", &[I32, I32, I32, I64, I32], |w, a| w.fd_write(a, true)),
            ("fd_read", &[I32, I32, I32, I32], |w, a| w.fd_read(a, false)),
            ("fd_readdir", &[I32, I32, I32, I64, I32], Wasi::fd_readdir),
            ("fd_renumber", &[I32, I32], Wasi::fd_renumber),
            ("fd_seek", &[I32, I64, I32, I32], Wasi::fd_seek),
            ("fd_sync", &[I32], |w, a| w.fd_sync(a, false)),
            ("fd_tell", &[I32, I32], Wasi::fd_tell),
            ("fd_write", &[I32, I32, I32, I32], |w, a| w.fd_write(a, false)),
            ("path_create_directory", &[I32, I32, I32], Wasi::path_create_directory),
            ("path_filestat_get", &[I32, I32, I32, I32, I32], Wasi::path_filestat_get),
            ("path_filestat_set_times", &[I32, I32, I32, I32, I64, I64, I32], Wasi::path_filestat_set_times),
            ("path_link", &[I32, I32, I32, I32, I32, I32, I32], Wasi::path_link),
            ("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32], Wasi::path_open),
            ("path_readlink", &[I32, I32, I32, I32, I32, I32], Wasi::path_readlink),
            ("path_remove_directory", &[I32, I32, I32], Wasi::path_remove_directory),
            ("path_rename", &[I32, I32, I32, I32, I32, I32], Wasi::path_rename),
            ("path_symlink", &[I32, I32, I32, I32, I32], Wasi::path_symlink),
            ("path_unlink_file", &[I32, I32, I32], Wasi::path_unlink_file),
            ("poll_oneoff", &[I32, I32, I32, I32], Wasi::poll_oneoff),
            // Wasmtime: no signals in preview 1's host.
            ("proc_raise", &[I32], |_, a| match narrow(a, 0, 8)? {
                0..=30 => Err(ENOTSUP.into()),
                _ => Err(EINVAL.into()),
            }),
            ("sched_yield", &[], |_, _| Ok(())),
            ("random_get", &[I32, I32], Wasi::random_get),
            ("sock_accept", &[I32, I32, I32], |w, a| w.sock(a, flags16(a, 1, 0x1f))),
            ("sock_recv", &[I32, I32, I32, I32, I32, I32], |w, a| w.sock(a, flags16(a, 3, 3))),
            ("sock_send", &[I32, I32, I32, I32, I32], |w, a| w.sock(a, narrow(a, 3, 16))),
            ("sock_shutdown", &[I32, I32], |w, a| w.sock(a, narrow(a, 1, 8).and_then(|_| flags(a, 1, 3)))),
        ];
        for &(name, params, imp) in table {
            let w = Arc::clone(self);
            linker.func(
                "wasi_snapshot_preview1",
                name,
                ty(params, &[I32]),
                move |a| {
                    let r = match imp(&w, a) {
                        Ok(()) => Ok(SUCCESS),
                        Err(Fail::Errno(e)) => Ok(e),
                        Err(Fail::Trap(t)) => Err(t),
                    };
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

    fn memory(&self) -> Result<Arc<Memory>, Fail> {
        self.state()
            .memory
            .clone()
            .ok_or(Fail::Trap(TrapCode::HostTrap))
    }

    fn sizes(&self, list: &[String], a: &[Val]) -> Res {
        let m = self.memory()?;
        let bytes: usize = list.iter().map(|s| s.len() + 1).sum();
        put(&m, arg(a, 0), &(list.len() as u32).to_le_bytes())?;
        put(&m, arg(a, 1), &(bytes as u32).to_le_bytes())?;
        Ok(())
    }

    fn strings(&self, list: &[String], a: &[Val]) -> Res {
        let m = self.memory()?;
        let (mut ptrs, mut buf) = (arg(a, 0), arg(a, 1));
        for s in list {
            let mut z = s.as_bytes().to_vec();
            z.push(0);
            put(&m, ptrs, &(buf as u32).to_le_bytes())?;
            put(&m, buf, &z)?;
            ptrs += 4;
            buf += z.len() as u64;
        }
        Ok(())
    }

    /// Realtime and monotonic; the CPU-time clocks are EBADF in Wasmtime,
    /// an id outside the enum EINVAL.
    fn clock_res_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let id = clock(arg(a, 0))?;
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        unsafe { libc::clock_getres(id, &mut ts) };
        let ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        put(&m, arg(a, 1), &ns.to_le_bytes())
    }

    fn clock_time_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let now = now(clock(arg(a, 0))?);
        put(&m, arg(a, 2), &now.to_le_bytes())
    }

    fn random_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (at, len) = (arg(a, 0), arg(a, 1));
        if !fits(&m, at, len) {
            return Err(EFAULT.into());
        }
        let mut buf = vec![0u8; len as usize];
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
                return Err(EIO.into());
            }
            filled += r as usize;
        }
        put(&m, at, &buf)
    }

    /// fd_read and fd_pread: into the first non-empty buffer only, as
    /// Wasmtime. A file reads at its own position (or `offset`), stdin
    /// from the host's; fd_pread on stdin is ESPIPE.
    fn fd_read(&self, a: &[Val], at_offset: bool) -> Res {
        let m = self.memory()?;
        let (buf, len) = first_buffer(&m, arg(a, 1), arg(a, 2))?;
        let result = if at_offset { arg(a, 4) } else { arg(a, 3) };
        let mut st = self.state();
        let mut data = vec![0u8; len as usize];
        let n = match st.fds.get_mut(&(arg(a, 0) as u32)) {
            Some(Fd::File(f)) => {
                let pos = if at_offset { arg(a, 3) } else { f.pos };
                let n = read_at(&f.file, &mut data, pos)?;
                if !at_offset {
                    f.pos = pos.checked_add(n as u64).ok_or(EOVERFLOW)?;
                }
                n
            }
            Some(Fd::Stdin) if at_offset => return Err(ESPIPE.into()),
            Some(Fd::Stdin) => std::io::stdin().read(&mut data).map_err(io_errno)?,
            _ => return Err(EBADF.into()),
        };
        drop(st);
        put(&m, buf, &data[..n])?;
        put(&m, result, &(n as u32).to_le_bytes())
    }

    /// fd_write and fd_pwrite: the first non-empty buffer only. A file in
    /// append mode writes at its end (ignoring fd_pwrite's offset, as
    /// Linux pwrite does on O_APPEND); fd_pwrite on stdout/stderr is
    /// ESPIPE.
    fn fd_write(&self, a: &[Val], at_offset: bool) -> Res {
        let m = self.memory()?;
        let (buf, len) = first_buffer(&m, arg(a, 1), arg(a, 2))?;
        let data = get(&m, buf, len)?;
        let result = if at_offset { arg(a, 4) } else { arg(a, 3) };
        let mut st = self.state();
        let n = match st.fds.get_mut(&(arg(a, 0) as u32)) {
            Some(Fd::File(f)) => {
                if f.append {
                    let end = f.file.metadata().map_err(io_errno)?.len();
                    f.file.write_all_at(&data, end).map_err(io_errno)?;
                    if !at_offset {
                        f.pos = end + data.len() as u64;
                    }
                } else {
                    let pos = if at_offset { arg(a, 3) } else { f.pos };
                    f.file.write_all_at(&data, pos).map_err(io_errno)?;
                    if !at_offset {
                        f.pos = pos.checked_add(data.len() as u64).ok_or(EOVERFLOW)?;
                    }
                }
                data.len()
            }
            Some(Fd::Stdout | Fd::Stderr) if at_offset => return Err(ESPIPE.into()),
            Some(Fd::Stdout) => {
                std::io::stdout().write_all(&data).map_err(io_errno)?;
                data.len()
            }
            Some(Fd::Stderr) => {
                std::io::stderr().write_all(&data).map_err(io_errno)?;
                data.len()
            }
            _ => return Err(EBADF.into()),
        };
        drop(st);
        put(&m, result, &(n as u32).to_le_bytes())
    }

    fn fd_close(&self, a: &[Val]) -> Res {
        let mut st = self.state();
        let fd = arg(a, 0) as u32;
        st.fds.remove(&fd).ok_or(EBADF)?;
        st.free.insert(fd);
        Ok(())
    }

    /// Both must be open (EBADF), `to` is closed first, `from`'s number
    /// becomes free.
    fn fd_renumber(&self, a: &[Val]) -> Res {
        let (from, to) = (arg(a, 0) as u32, arg(a, 1) as u32);
        let mut st = self.state();
        if !st.fds.contains_key(&from) || !st.fds.contains_key(&to) {
            return Err(EBADF.into());
        }
        if from != to {
            let entry = st.fds.remove(&from).ok_or(EBADF)?;
            st.fds.insert(to, entry);
            st.free.insert(from);
            st.free.remove(&to);
        }
        Ok(())
    }

    /// Moves the position Wasmtime keeps: a negative result is EINVAL,
    /// stdio ESPIPE, a directory EBADF, a whence outside the enum EINVAL.
    fn fd_seek(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let off = arg(a, 1) as i64;
        let whence = narrow(a, 2, 8)?;
        if whence > 2 {
            return Err(EINVAL.into());
        }
        let mut st = self.state();
        let f = st.seekable(arg(a, 0))?;
        let pos = match whence {
            0 if off >= 0 => off as u64,
            0 => return Err(EINVAL.into()),
            1 => f.pos.checked_add_signed(off).ok_or(EINVAL)?,
            _ => {
                let size = f.file.metadata().map_err(io_errno)?.len();
                size.checked_add_signed(off).ok_or(EINVAL)?
            }
        };
        f.pos = pos;
        drop(st);
        put(&m, arg(a, 3), &pos.to_le_bytes())
    }

    fn fd_tell(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let pos = self.state().seekable(arg(a, 0))?.pos;
        put(&m, arg(a, 1), &pos.to_le_bytes())
    }

    /// fd_sync and fd_datasync: files only (a directory is EBADF).
    fn fd_sync(&self, a: &[Val], data_only: bool) -> Res {
        let mut st = self.state();
        let f = st.file(arg(a, 0))?;
        let r = if data_only {
            f.file.sync_data()
        } else {
            f.file.sync_all()
        };
        r.map_err(io_errno)?;
        Ok(())
    }

    /// posix_fadvise on a file; an advice outside the enum is EINVAL.
    fn fd_advise(&self, a: &[Val]) -> Res {
        let advice = match narrow(a, 3, 8)? {
            0 => libc::POSIX_FADV_NORMAL,
            1 => libc::POSIX_FADV_SEQUENTIAL,
            2 => libc::POSIX_FADV_RANDOM,
            3 => libc::POSIX_FADV_WILLNEED,
            4 => libc::POSIX_FADV_DONTNEED,
            5 => libc::POSIX_FADV_NOREUSE,
            _ => return Err(EINVAL.into()),
        };
        let mut st = self.state();
        let f = st.file(arg(a, 0))?;
        let (off, len) = (arg(a, 1) as i64, arg(a, 2) as i64);
        let r = unsafe { libc::posix_fadvise(f.file.as_raw_fd(), off, len, advice) };
        if r != 0 {
            return Err(host_errno(r).into());
        }
        Ok(())
    }

    /// Wasmtime: ENOTSUP on any file, EBADF on anything else.
    fn fd_allocate(&self, a: &[Val]) -> Res {
        self.state().file(arg(a, 0))?;
        Err(ENOTSUP.into())
    }

    fn fd_fdstat_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let st = self.state();
        let (filetype, flags, base, inheriting) = match st.get(arg(a, 0))? {
            Fd::Stdin => (stdio_type(0), 0, FD_READ, FD_READ),
            Fd::Stdout => (stdio_type(1), 0, FD_WRITE, FD_WRITE),
            Fd::Stderr => (stdio_type(2), 0, FD_WRITE, FD_WRITE),
            Fd::Dir {
                preopen: Some(_), ..
            } => (DIRECTORY, 0, PREOPEN_RIGHTS, PREOPEN_INHERITING),
            Fd::Dir { read, write, .. } => {
                let r = rights(true, *read, *write);
                (DIRECTORY, 0, r, r)
            }
            Fd::File(f) => {
                let md = f.file.metadata().map_err(io_errno)?;
                let ty = filetype(std::os::unix::fs::MetadataExt::mode(&md));
                let r = rights(ty == DIRECTORY, f.read, f.write);
                let flags =
                    if f.append { APPEND } else { 0 } | if f.nonblock { NONBLOCK } else { 0 };
                (ty, flags as u16, r, r)
            }
        };
        drop(st);
        let mut stat = [0u8; 24];
        stat[0] = filetype;
        stat[2..4].copy_from_slice(&flags.to_le_bytes());
        stat[8..16].copy_from_slice(&base.to_le_bytes());
        stat[16..24].copy_from_slice(&inheriting.to_le_bytes());
        put(&m, arg(a, 1), &stat)
    }

    /// Files only; APPEND and NONBLOCK may change, the sync flags are
    /// EINVAL (Wasmtime).
    fn fd_fdstat_set_flags(&self, a: &[Val]) -> Res {
        let flags = flags16(a, 1, 0x1f)?;
        let mut st = self.state();
        let f = st.file(arg(a, 0))?;
        if flags & (DSYNC | RSYNC | SYNC) != 0 {
            return Err(EINVAL.into());
        }
        f.append = flags & APPEND != 0;
        f.nonblock = flags & NONBLOCK != 0;
        Ok(())
    }

    /// Wasmtime: ENOTSUP on a file or directory, EBADF otherwise.
    fn fd_fdstat_set_rights(&self, a: &[Val]) -> Res {
        flags(a, 1, ALL_RIGHTS)?;
        flags(a, 2, ALL_RIGHTS)?;
        self.state().host_fd(arg(a, 0))?;
        Err(ENOTSUP.into())
    }

    fn fd_filestat_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let st = self.state();
        let stat = match st.get(arg(a, 0))? {
            Fd::Stdin => stdio_filestat(0),
            Fd::Stdout => stdio_filestat(1),
            Fd::Stderr => stdio_filestat(2),
            _ => filestat(st.host_fd(arg(a, 0))?)?,
        };
        drop(st);
        put(&m, arg(a, 1), &stat)
    }

    /// ftruncate on a file (EBADF otherwise; EINVAL from the kernel when
    /// not open for writing).
    fn fd_filestat_set_size(&self, a: &[Val]) -> Res {
        let mut st = self.state();
        let f = st.file(arg(a, 0))?;
        f.file.set_len(arg(a, 1)).map_err(io_errno)?;
        Ok(())
    }

    fn fd_filestat_set_times(&self, a: &[Val]) -> Res {
        let times = timespecs(a, 1, 2, 3)?;
        let fd = self.state().host_fd(arg(a, 0))?;
        cvt(unsafe { libc::futimens(fd, times.as_ptr()) } as _).map_err(host_errno)?;
        Ok(())
    }

    fn fd_prestat_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let st = self.state();
        let Fd::Dir {
            preopen: Some(name),
            ..
        } = st.get(arg(a, 0))?
        else {
            return Err(EBADF.into());
        };
        let mut pre = [0u8; 8];
        pre[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
        drop(st);
        put(&m, arg(a, 1), &pre)
    }

    /// The preopen's name; ENAMETOOLONG if it does not fit, ENOTDIR for a
    /// descriptor that is not a preopen (both as Wasmtime).
    fn fd_prestat_dir_name(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let st = self.state();
        let Fd::Dir {
            preopen: Some(name),
            ..
        } = st.get(arg(a, 0))?
        else {
            return Err(ENOTDIR.into());
        };
        if name.len() as u64 > arg(a, 2) {
            return Err(ENAMETOOLONG.into());
        }
        let name = name.clone();
        drop(st);
        put(&m, arg(a, 1), name.as_bytes())
    }

    /// Entries from `cookie` on, `.` and `..` first (cookies 1 and 2, as
    /// Wasmtime), each a 24-byte dirent and its name, the last one cut at
    /// the end of the buffer; the bytes used.
    fn fd_readdir(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (buf, buf_len, cookie) = (arg(a, 1), arg(a, 2), arg(a, 3));
        let st = self.state();
        let dir = st.dir(arg(a, 0))?;
        let entries = read_dir(dir)?;
        drop(st);
        let mut out: Vec<u8> = vec![];
        for (k, (ino, ty, name)) in entries.iter().enumerate().skip(cookie as usize) {
            let mut dirent = [0u8; 24];
            dirent[0..8].copy_from_slice(&(k as u64 + 1).to_le_bytes());
            dirent[8..16].copy_from_slice(&ino.to_le_bytes());
            dirent[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            dirent[20] = *ty;
            out.extend_from_slice(&dirent);
            out.extend_from_slice(name);
            if out.len() as u64 >= buf_len {
                break;
            }
        }
        out.truncate(buf_len as usize);
        put(&m, buf, &out)?;
        put(&m, arg(a, 4), &(out.len() as u32).to_le_bytes())
    }

    /// path_open as Wasmtime: the rights choose read and/or write (O_CREAT
    /// and O_TRUNC imply write, no write right means read), O_EXCL counts
    /// only with O_CREAT, the sync fdflags are ENOTSUP, O_DIRECTORY with
    /// O_CREAT/O_EXCL/O_TRUNC is EINVAL, a directory opened by name is a
    /// directory descriptor whatever the flags asked.
    fn path_open(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let follow = flags(a, 1, SYMLINK_FOLLOW)? != 0;
        let oflags = flags16(a, 4, 0xf)?;
        let rights = flags(a, 5, ALL_RIGHTS)?;
        flags(a, 6, ALL_RIGHTS)?;
        let fdflags = flags16(a, 7, 0x1f)?;
        let path = path(&m, arg(a, 2), arg(a, 3))?;
        let write = rights & FD_WRITE != 0 || oflags & (O_CREAT | O_TRUNC) != 0;
        let read = rights & FD_READ != 0 || !write;
        let mut st = self.state();
        let dir = match st.get(arg(a, 0))? {
            Fd::Dir { fd: Some(d), .. } => d,
            Fd::Dir { fd: None, .. } => return Err(ENOENT.into()),
            Fd::File(_) => return Err(ENOTDIR.into()),
            _ => return Err(EBADF.into()),
        };
        if fdflags & (DSYNC | RSYNC | SYNC) != 0 {
            return Err(ENOTSUP.into());
        }
        if oflags & O_DIRECTORY != 0 && oflags & (O_CREAT | O_EXCL | O_TRUNC) != 0 {
            return Err(EINVAL.into());
        }
        let mut how = match (read, write) {
            (true, true) => libc::O_RDWR,
            (false, true) => libc::O_WRONLY,
            _ => libc::O_RDONLY,
        } | libc::O_NOCTTY;
        if !follow {
            how |= libc::O_NOFOLLOW;
        }
        for (bit, flag) in [
            (O_CREAT, libc::O_CREAT),
            (O_DIRECTORY, libc::O_DIRECTORY),
            (O_TRUNC, libc::O_TRUNC),
        ] {
            if oflags & bit != 0 {
                how |= flag;
            }
        }
        if oflags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
            how |= libc::O_EXCL;
        }
        let fd = match open_beneath(dir, &path, how) {
            // O_DIRECTORY|O_NOFOLLOW on a symbolic link is ENOTDIR from
            // Linux, ELOOP from Wasmtime (as for any link not followed).
            Err(libc::ENOTDIR) if !follow && oflags & O_DIRECTORY != 0 => {
                let link = open_beneath(dir, &path, libc::O_PATH | libc::O_NOFOLLOW)
                    .ok()
                    .and_then(|l| File::from(l).metadata().ok())
                    .is_some_and(|md| md.is_symlink());
                return Err(if link { ELOOP } else { ENOTDIR }.into());
            }
            r => r.map_err(host_errno)?,
        };
        let file = File::from(fd);
        let is_dir = file.metadata().map_err(io_errno)?.is_dir();
        let entry = if is_dir {
            Fd::Dir {
                preopen: None,
                fd: Some(OwnedFd::from(file)),
                read,
                write,
            }
        } else {
            Fd::File(OpenFile {
                file,
                pos: 0,
                append: fdflags & APPEND != 0,
                nonblock: fdflags & NONBLOCK != 0,
                read,
                write,
            })
        };
        if !fits(&m, arg(a, 8), 4) {
            return Err(EFAULT.into());
        }
        let fd = st.push(entry);
        drop(st);
        put(&m, arg(a, 8), &fd.to_le_bytes())
    }

    fn path_filestat_get(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let follow = flags(a, 1, SYMLINK_FOLLOW)? != 0;
        let st = self.state();
        let dir = st.dir(arg(a, 0))?;
        let path = path(&m, arg(a, 2), arg(a, 3))?;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        let fd = open_beneath(dir, &path, libc::O_PATH | nofollow).map_err(host_errno)?;
        drop(st);
        let stat = filestat(fd.as_raw_fd())?;
        put(&m, arg(a, 4), &stat)
    }

    /// Without SYMLINK_FOLLOW a symbolic link's own times change
    /// (utimensat on its parent, not following); with it, those of the
    /// object the whole path resolves to beneath the directory.
    fn path_filestat_set_times(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let follow = flags(a, 1, SYMLINK_FOLLOW)? != 0;
        let times = timespecs(a, 4, 5, 6)?;
        let st = self.state();
        let dir = st.dir(arg(a, 0))?;
        let path = path(&m, arg(a, 2), arg(a, 3))?;
        if follow {
            let fd = open_beneath(dir, &path, libc::O_PATH).map_err(host_errno)?;
            let proc = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
            let r = unsafe { libc::utimensat(libc::AT_FDCWD, proc.as_ptr(), times.as_ptr(), 0) };
            cvt(r as _).map_err(host_errno)?;
        } else {
            let (pfd, name) = parent_beneath(dir, &path, false).map_err(host_errno)?;
            let r = unsafe {
                libc::utimensat(
                    pfd.as_raw_fd(),
                    name.as_ptr(),
                    times.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            };
            cvt(r as _).map_err(host_errno)?;
        }
        Ok(())
    }

    /// The directory and name of a path argument pair (`dir`, `ptr`,
    /// `len` argument indices), resolved beneath the directory.
    fn parent(
        &self,
        a: &[Val],
        m: &Memory,
        k: usize,
        strip: bool,
    ) -> Result<(OwnedFd, CString), Fail> {
        let st = self.state();
        let dir = st.dir(arg(a, k))?;
        let path = path(m, arg(a, k + 1), arg(a, k + 2))?;
        Ok(parent_beneath(dir, &path, strip).map_err(host_errno)?)
    }

    /// A trailing slash is ignored (Wasmtime's create_dir).
    fn path_create_directory(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (pfd, name) = self.parent(a, &m, 0, true)?;
        let r = unsafe { libc::mkdirat(pfd.as_raw_fd(), name.as_ptr(), 0o777) };
        cvt(r as _).map_err(host_errno)?;
        Ok(())
    }

    fn path_remove_directory(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (pfd, name) = self.parent(a, &m, 0, false)?;
        let r = unsafe { libc::unlinkat(pfd.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) };
        cvt(r as _).map_err(host_errno)?;
        Ok(())
    }

    /// unlinkat: a directory is EISDIR (Linux), a symbolic link itself is
    /// removed, never what it points to.
    fn path_unlink_file(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (pfd, name) = self.parent(a, &m, 0, false)?;
        let r = unsafe { libc::unlinkat(pfd.as_raw_fd(), name.as_ptr(), 0) };
        cvt(r as _).map_err(host_errno)?;
        Ok(())
    }

    /// Both paths beneath their directories; the source's last component
    /// is never followed. As Wasmtime's rename: trailing slashes are
    /// dropped for the split, and if either path had one the source gets
    /// one back, so that the kernel insists on a directory.
    fn path_rename(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let slash = |k: usize| -> Result<bool, Fail> {
            let st = self.state();
            st.dir(arg(a, k))?;
            Ok(path(&m, arg(a, k + 1), arg(a, k + 2))?.ends_with('/'))
        };
        let requires_dir = slash(0)? | slash(3)?;
        let (from, from_name) = self.parent(a, &m, 0, true)?;
        let (to, to_name) = self.parent(a, &m, 3, true)?;
        let from_name = if requires_dir {
            let mut n = from_name.into_bytes();
            n.push(b'/');
            CString::new(n).map_err(|_| EINVAL)?
        } else {
            from_name
        };
        let r = unsafe {
            libc::renameat(
                from.as_raw_fd(),
                from_name.as_ptr(),
                to.as_raw_fd(),
                to_name.as_ptr(),
            )
        };
        cvt(r as _).map_err(host_errno)?;
        Ok(())
    }

    /// A hard link; Wasmtime refuses SYMLINK_FOLLOW (EINVAL), so a link's
    /// source is never resolved through a symbolic link at its end.
    fn path_link(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let follow = flags(a, 1, SYMLINK_FOLLOW)? != 0;
        let (from, from_name) = {
            let st = self.state();
            let dir = st.dir(arg(a, 0))?;
            st.dir(arg(a, 4))?;
            let path = path(&m, arg(a, 2), arg(a, 3))?;
            if follow {
                return Err(EINVAL.into());
            }
            parent_beneath(dir, &path, false).map_err(host_errno)?
        };
        let (to, to_name) = self.parent(a, &m, 4, false)?;
        let r = unsafe {
            libc::linkat(
                from.as_raw_fd(),
                from_name.as_ptr(),
                to.as_raw_fd(),
                to_name.as_ptr(),
                0,
            )
        };
        cvt(r as _).map_err(host_errno)?;
        Ok(())
    }

    /// A symbolic link at (dir arg 2, path 3-4) with target text (0-1). An
    /// absolute target is refused (EPERM, Wasmtime's escape_attempt); a
    /// relative one that climbs out is created, and following it is
    /// refused at use by the resolver.
    fn path_symlink(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let st = self.state();
        st.dir(arg(a, 2))?;
        drop(st);
        let target = path(&m, arg(a, 0), arg(a, 1))?;
        let (pfd, name) = self.parent(a, &m, 2, false)?;
        if target.starts_with('/') {
            return Err(EPERM.into());
        }
        let target = CString::new(target).map_err(|_| EINVAL)?;
        let r = unsafe { libc::symlinkat(target.as_ptr(), pfd.as_raw_fd(), name.as_ptr()) };
        cvt(r as _).map_err(host_errno)?;
        Ok(())
    }

    /// The link's text, cut at the buffer's length; the bytes written. An
    /// absolute text is not shown (EPERM, as Wasmtime: it would tell the
    /// guest about the host's file system).
    fn path_readlink(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (buf, buf_len) = (arg(a, 3), arg(a, 4));
        let text = {
            let st = self.state();
            let dir = st.dir(arg(a, 0))?;
            let path = path(&m, arg(a, 1), arg(a, 2))?;
            let (pfd, name) = parent_beneath(dir, &path, false).map_err(host_errno)?;
            let mut text = vec![0u8; 4096];
            let n = unsafe {
                libc::readlinkat(
                    pfd.as_raw_fd(),
                    name.as_ptr(),
                    text.as_mut_ptr() as *mut libc::c_char,
                    text.len(),
                )
            };
            text.truncate(cvt(n as _).map_err(host_errno)? as usize);
            if text.starts_with(b"/") {
                return Err(EPERM.into());
            }
            text
        };
        let n = text.len().min(buf_len as usize);
        put(&m, buf, &text[..n])?;
        put(&m, arg(a, 5), &(n as u32).to_le_bytes())
    }

    /// Clock subscriptions (relative or absolute, realtime or monotonic)
    /// and fd_read/fd_write ones: files and stdout/stderr are ready at
    /// once, stdin when the host's is readable (Wasmtime). No
    /// subscriptions is EINVAL (p1 cannot sleep forever). One relative
    /// clock is a plain sleep whose event says nbytes 1, as Wasmtime's.
    fn poll_oneoff(&self, a: &[Val]) -> Res {
        let m = self.memory()?;
        let (subs_at, events_at, n) = (arg(a, 0), arg(a, 1), arg(a, 2));
        if n == 0 {
            return Err(EINVAL.into());
        }
        let subs = get(&m, subs_at, n.checked_mul(48).ok_or(EFAULT)?)?;
        if !fits(&m, events_at, n * 32) {
            return Err(EFAULT.into());
        }
        enum Sub {
            /// Deadline on the monotonic clock, in nanoseconds.
            Clock(u64),
            Read(u32),
            Write(u32),
        }
        let le64 = |s: &[u8], k: usize| u64::from_le_bytes(s[k..k + 8].try_into().unwrap());
        let le32 = |s: &[u8], k: usize| u32::from_le_bytes(s[k..k + 4].try_into().unwrap());
        let mut parsed = vec![];
        for s in subs.chunks(48) {
            let sub = match s[8] {
                0 => {
                    let (id, timeout) = (le32(s, 16), le64(s, 24));
                    let flags = u16::from_le_bytes([s[40], s[41]]);
                    if flags & !1 != 0 {
                        return Err(EINVAL.into());
                    }
                    let absolute = flags & 1 != 0;
                    let mono = now(libc::CLOCK_MONOTONIC);
                    let deadline = match (id, absolute) {
                        (1, true) => timeout,
                        (0 | 1, false) => mono.saturating_add(timeout),
                        (0, true) => {
                            mono.saturating_add(timeout.saturating_sub(now(libc::CLOCK_REALTIME)))
                        }
                        _ => return Err(EINVAL.into()),
                    };
                    if n == 1 && !absolute {
                        std::thread::sleep(std::time::Duration::from_nanos(timeout));
                        return self.events(&m, events_at, &[(le64(s, 0), 0, 1, 0)], a);
                    }
                    Sub::Clock(deadline)
                }
                1 => Sub::Read(le32(s, 16)),
                2 => Sub::Write(le32(s, 16)),
                _ => return Err(EINVAL.into()),
            };
            parsed.push((le64(s, 0), sub));
        }
        loop {
            let mut events = vec![];
            let mut wait_stdin = false;
            let mut earliest = u64::MAX;
            let mono = now(libc::CLOCK_MONOTONIC);
            let mut st = self.state();
            for (userdata, sub) in &parsed {
                match *sub {
                    Sub::Clock(deadline) if deadline <= mono => {
                        events.push((*userdata, 0, 0, 0));
                    }
                    Sub::Clock(deadline) => earliest = earliest.min(deadline),
                    Sub::Read(fd) => match st.fds.get_mut(&fd) {
                        Some(Fd::Stdin) => {
                            if readable(0, 0) {
                                events.push((*userdata, 1, 1, 0));
                            } else {
                                wait_stdin = true;
                            }
                        }
                        Some(Fd::File(f)) => {
                            let size = f.file.metadata().map_err(io_errno)?.len();
                            let hangup = if size <= f.pos { 1 } else { 0 };
                            events.push((*userdata, 1, 1, hangup));
                        }
                        _ => return Err(EBADF.into()),
                    },
                    Sub::Write(fd) => match st.fds.get(&fd) {
                        Some(Fd::Stdout | Fd::Stderr | Fd::File(_)) => {
                            events.push((*userdata, 2, 1, 0));
                        }
                        _ => return Err(EBADF.into()),
                    },
                }
            }
            drop(st);
            if !events.is_empty() {
                return self.events(&m, events_at, &events, a);
            }
            let wait = earliest.saturating_sub(mono);
            if wait_stdin {
                let ms = (wait / 1_000_000).min(i32::MAX as u64) as i32;
                readable(0, ms.max(1));
            } else {
                std::thread::sleep(std::time::Duration::from_nanos(wait));
            }
        }
    }

    /// Write poll events (userdata, type, nbytes, flags) and their count.
    fn events(&self, m: &Memory, at: u64, events: &[(u64, u8, u64, u16)], a: &[Val]) -> Res {
        for (k, &(userdata, ty, nbytes, flags)) in events.iter().enumerate() {
            let mut e = [0u8; 32];
            e[0..8].copy_from_slice(&userdata.to_le_bytes());
            e[10] = ty;
            e[16..24].copy_from_slice(&nbytes.to_le_bytes());
            e[24..26].copy_from_slice(&flags.to_le_bytes());
            put(m, at + 32 * k as u64, &e)?;
        }
        put(m, arg(a, 3), &(events.len() as u32).to_le_bytes())
    }

    /// sock_*: no sockets are ever open, so an open descriptor is
    /// ENOTSOCK and anything else EBADF (Wasmtime). A flags argument
    /// outside its type is EINVAL (EOVERFLOW if too wide) first.
    fn sock(&self, a: &[Val], flags: Result<u64, i32>) -> Res {
        flags?;
        self.state().get(arg(a, 0))?;
        Err(ENOTSOCK.into())
    }
}

/// Argument `k` as an unsigned 32-bit guest value (pointers, lengths, fds).
fn arg(a: &[Val], k: usize) -> u64 {
    match a.get(k) {
        Some(Val::I32(v)) => *v as u32 as u64,
        Some(Val::I64(v)) => *v as u64,
        _ => 0,
    }
}

/// A flags argument: EINVAL if it has a bit outside `all` (wiggle checks
/// every flags type before the call).
fn flags(a: &[Val], k: usize, all: u64) -> Result<u64, i32> {
    let v = arg(a, k);
    if v & !all != 0 {
        Err(EINVAL)
    } else {
        Ok(v)
    }
}

/// Argument `k` narrowed to its type's `bits`: EOVERFLOW if it does not
/// fit (wiggle's integer conversion, before any flag or enum check).
fn narrow(a: &[Val], k: usize, bits: u32) -> Result<u64, i32> {
    let v = arg(a, k);
    if bits < 64 && v >> bits != 0 {
        Err(EOVERFLOW)
    } else {
        Ok(v)
    }
}

/// A 16-bit flags argument (fdflags, oflags, fstflags, riflags).
fn flags16(a: &[Val], k: usize, all: u64) -> Result<u64, i32> {
    narrow(a, k, 16)?;
    flags(a, k, all)
}

/// A WASI clock id as a host clock: the CPU-time clocks are EBADF in
/// Wasmtime, anything else EINVAL.
fn clock(id: u64) -> Result<libc::clockid_t, i32> {
    match id {
        0 => Ok(libc::CLOCK_REALTIME),
        1 => Ok(libc::CLOCK_MONOTONIC),
        2 | 3 => Err(EBADF),
        _ => Err(EINVAL),
    }
}

fn now(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Whether host fd `fd` has input within `ms` milliseconds.
fn readable(fd: i32, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

/// The (atim, mtim) of a set_times call as utimensat timespecs, from
/// arguments (atim, mtim, fstflags): a time both given and `now` is
/// EINVAL, as is an fstflags bit outside the four.
fn timespecs(a: &[Val], atim: usize, mtim: usize, fst: usize) -> Result<[libc::timespec; 2], i32> {
    let fst = flags16(a, fst, 0xf)?;
    let one = |ns: u64, set: u64, now: u64| -> Result<libc::timespec, i32> {
        Ok(match (fst & set != 0, fst & now != 0) {
            (true, true) => return Err(EINVAL),
            (true, false) => libc::timespec {
                tv_sec: (ns / 1_000_000_000) as _,
                tv_nsec: (ns % 1_000_000_000) as _,
            },
            (false, true) => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            },
            (false, false) => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            },
        })
    };
    Ok([one(arg(a, atim), 1, 2)?, one(arg(a, mtim), 4, 8)?])
}

/// Whether `[at, at + len)` is inside the memory.
fn fits(m: &Memory, at: u64, len: u64) -> bool {
    at.checked_add(len).is_some_and(|e| e <= m.bytes())
}

fn put(m: &Memory, at: u64, bytes: &[u8]) -> Res {
    if m.write(at, bytes) {
        Ok(())
    } else {
        Err(EFAULT.into())
    }
}

fn get(m: &Memory, at: u64, len: u64) -> Result<Vec<u8>, i32> {
    m.read(at, len).ok_or(EFAULT)
}

/// A path argument: EFAULT outside memory, EILSEQ if not UTF-8 (wiggle).
fn path(m: &Memory, at: u64, len: u64) -> Result<String, i32> {
    String::from_utf8(get(m, at, len)?).map_err(|_| EILSEQ)
}

/// The first non-empty (buf, len) of an iovec array (or an empty one),
/// checked to lie inside memory.
fn first_buffer(m: &Memory, at: u64, n: u64) -> Result<(u64, u64), i32> {
    let raw = get(m, at, n.checked_mul(8).ok_or(EFAULT)?)?;
    for c in raw.chunks(8) {
        let buf = u32::from_le_bytes(c[0..4].try_into().unwrap()) as u64;
        let len = u32::from_le_bytes(c[4..8].try_into().unwrap()) as u64;
        if len != 0 {
            if !fits(m, buf, len) {
                return Err(EFAULT);
            }
            return Ok((buf, len));
        }
    }
    Ok((0, 0))
}

/// pread until `buf` is full or the end of the file.
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> Result<usize, i32> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], pos + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_errno(e)),
        }
    }
    Ok(n)
}

/// The WASI filetype of a host `st_mode`; a FIFO is UNKNOWN (preview 1
/// has no code for it).
fn filetype(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFBLK => BLOCK_DEVICE,
        libc::S_IFCHR => CHARACTER_DEVICE,
        libc::S_IFDIR => DIRECTORY,
        libc::S_IFREG => REGULAR_FILE,
        libc::S_IFSOCK => SOCKET_STREAM,
        libc::S_IFLNK => SYMBOLIC_LINK,
        _ => UNKNOWN,
    }
}

/// Stdio is a character device if the host's is a terminal, UNKNOWN
/// otherwise (Wasmtime).
fn stdio_type(fd: i32) -> u8 {
    if unsafe { libc::isatty(fd) } == 1 {
        CHARACTER_DEVICE
    } else {
        UNKNOWN
    }
}

/// Rights as Wasmtime computes them for an opened file or directory.
fn rights(dir: bool, read: bool, write: bool) -> u64 {
    let mut r = ALL_RIGHTS;
    if dir {
        r &= !(FD_SEEK | FD_FILESTAT_SET_SIZE | PATH_FILESTAT_SET_SIZE);
    }
    if !read {
        r &= !(FD_READ | FD_READDIR);
    }
    if !write {
        r &= !FD_WRITE;
    }
    r
}

/// A WASI `filestat` (64 bytes): dev, ino, filetype at 16, nlink at 24,
/// size at 32, atim, mtim, ctim.
fn filestat(fd: i32) -> Result<[u8; 64], i32> {
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd, &mut s) } as _).map_err(host_errno)?;
    let ns = |sec: i64, nsec: i64| (sec as u64).wrapping_mul(1_000_000_000) + nsec as u64;
    let mut stat = [0u8; 64];
    stat[0..8].copy_from_slice(&s.st_dev.to_le_bytes());
    stat[8..16].copy_from_slice(&s.st_ino.to_le_bytes());
    stat[16] = filetype(s.st_mode);
    stat[24..32].copy_from_slice(&(s.st_nlink as u64).to_le_bytes());
    stat[32..40].copy_from_slice(&(s.st_size as u64).to_le_bytes());
    stat[40..48].copy_from_slice(&ns(s.st_atime, s.st_atime_nsec).to_le_bytes());
    stat[48..56].copy_from_slice(&ns(s.st_mtime, s.st_mtime_nsec).to_le_bytes());
    stat[56..64].copy_from_slice(&ns(s.st_ctime, s.st_ctime_nsec).to_le_bytes());
    Ok(stat)
}

/// Stdio's filestat: all zero but the filetype (Wasmtime).
fn stdio_filestat(fd: i32) -> [u8; 64] {
    let mut stat = [0u8; 64];
    stat[16] = stdio_type(fd);
    stat
}

/// A directory's entries, `.` and `..` first: (inode, filetype, name).
fn read_dir(dir: &OwnedFd) -> Result<Vec<(u64, u8, Vec<u8>)>, i32> {
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(dir.as_raw_fd(), &mut s) } as _).map_err(host_errno)?;
    let mut out = vec![
        (s.st_ino, DIRECTORY, b".".to_vec()),
        (s.st_ino, DIRECTORY, b"..".to_vec()),
    ];
    // A fresh open file description, so its offset is our own.
    let dot = c".";
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            dot.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    let fd = cvt(fd as _).map_err(host_errno)? as i32;
    let d = unsafe { libc::fdopendir(fd) };
    if d.is_null() {
        unsafe { libc::close(fd) };
        return Err(EIO);
    }
    loop {
        let e = unsafe { libc::readdir64(d) };
        if e.is_null() {
            break;
        }
        let e = unsafe { &*e };
        let name = unsafe { std::ffi::CStr::from_ptr(e.d_name.as_ptr()) }.to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let ty = match e.d_type {
            libc::DT_BLK => BLOCK_DEVICE,
            libc::DT_CHR => CHARACTER_DEVICE,
            libc::DT_DIR => DIRECTORY,
            libc::DT_REG => REGULAR_FILE,
            libc::DT_SOCK => SOCKET_STREAM,
            libc::DT_LNK => SYMBOLIC_LINK,
            _ => UNKNOWN,
        };
        out.push((e.d_ino, ty, name.to_vec()));
    }
    unsafe { libc::closedir(d) };
    Ok(out)
}

fn io_errno(e: std::io::Error) -> i32 {
    match e.raw_os_error() {
        Some(n) => host_errno(n),
        None => EIO,
    }
}

/// A host errno as the WASI errno Wasmtime gives for it (its rustix
/// table; what it does not list is EIO). EXDEV is what the resolver
/// reports for a path leaving its directory: EPERM, Wasmtime's
/// `escape_attempt`.
fn host_errno(e: i32) -> i32 {
    match e {
        libc::EXDEV | libc::EPERM => EPERM,
        libc::EPIPE => EPIPE,
        libc::ENOENT => ENOENT,
        libc::ENOMEM => ENOMEM,
        libc::EIO => EIO,
        libc::EBADF => EBADF,
        libc::EBUSY => EBUSY,
        libc::EACCES => EACCES,
        libc::ENOTDIR => ENOTDIR,
        libc::EISDIR => EISDIR,
        libc::EINVAL => EINVAL,
        libc::EEXIST => EEXIST,
        libc::EFBIG => EFBIG,
        libc::ENOSPC => ENOSPC,
        libc::ESPIPE => ESPIPE,
        libc::EMLINK => EMLINK,
        libc::ENAMETOOLONG => ENAMETOOLONG,
        libc::ENOTEMPTY => ENOTEMPTY,
        libc::ELOOP => ELOOP,
        libc::EOVERFLOW => EOVERFLOW,
        libc::EILSEQ => EILSEQ,
        libc::ENOTSUP => ENOTSUP,
        libc::EALREADY => EALREADY,
        libc::EINPROGRESS => EINPROGRESS,
        libc::EINTR => EINTR,
        _ => EIO,
    }
}
