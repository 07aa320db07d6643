//! Path resolution beneath a directory descriptor: nothing a guest names,
//! and no symbolic link it meets, resolves outside the directory.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Open `path` with open(2) `flags` beneath the directory `dir`, never
/// resolving anything outside it: not by `..`, an absolute path or a
/// symbolic link, whether it exists or dangles (the kernel resolves and
/// creates in one step, so nothing can change in between). A host errno.
pub(super) fn open_beneath(dir: &OwnedFd, path: &str, flags: i32) -> Result<OwnedFd, i32> {
    match openat2_beneath(dir, path, flags) {
        Err(libc::ENOSYS) => walk_beneath(dir, path, flags),
        r => r,
    }
}

/// The directory holding the last component of `path`, opened (O_PATH)
/// beneath `dir`, and that component as the name to hand an `*at` call,
/// split as Wasmtime (cap-primitives' `open_parent`) splits: a path ending
/// in `/`, `/.` or `..` names a directory, which is opened whole (beneath
/// `dir`) and the name is `.`; otherwise the name is the last component,
/// never resolved here. With `strip`, trailing slashes are dropped first
/// (Wasmtime's `create_dir` and `rename`). A host errno: EXDEV for an
/// absolute path or one whose directory leaves `dir`, ENOENT if empty.
pub(super) fn parent_beneath(
    dir: &OwnedFd,
    path: &str,
    strip: bool,
) -> Result<(OwnedFd, CString), i32> {
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    if path.starts_with('/') {
        return Err(libc::EXDEV);
    }
    let path = if strip {
        path.trim_end_matches('/')
    } else {
        path
    };
    let dot = c".".to_owned();
    let (parent, name) = match path.rsplit_once('/') {
        _ if path.ends_with('/') || path.ends_with("/.") => (path, dot),
        Some((_, "..")) => (path, dot),
        None if path == ".." => (path, dot),
        Some((parent, name)) => (parent, CString::new(name).map_err(|_| libc::EINVAL)?),
        None => (".", CString::new(path).map_err(|_| libc::EINVAL)?),
    };
    let parent = if parent.is_empty() { "." } else { parent };
    let pfd = open_beneath(dir, parent, libc::O_PATH | libc::O_DIRECTORY)?;
    Ok((pfd, name))
}

/// A libc return value: the value, or the host errno.
pub(super) fn cvt(r: libc::c_long) -> Result<libc::c_long, i32> {
    if r >= 0 {
        Ok(r)
    } else {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
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
    use std::fs::File;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

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

    /// The parent of the last component stays beneath, split as
    /// Wasmtime splits (a directory-naming end opens the whole path).
    #[test]
    fn the_parent_stays_beneath() {
        let (root, dir) = tree("parent");
        symlink(&root, root.join("data/outdir")).unwrap();
        for p in [
            "../x",
            "sub/../../x",
            "/etc/x",
            "outdir/x",
            "..",
            "sub/../..",
            "outdir/",
            "",
        ] {
            assert!(parent_beneath(&dir, p, false).is_err(), "{p:?} allowed");
        }
        let name =
            |p: &str, strip| parent_beneath(&dir, p, strip).map(|(_, n)| n.into_string().unwrap());
        assert_eq!(name("x", false).unwrap(), "x");
        assert_eq!(name("sub/x", false).unwrap(), "x");
        assert_eq!(name("sub/", false).unwrap(), ".");
        assert_eq!(name("sub/.", false).unwrap(), ".");
        assert_eq!(name("sub/..", false).unwrap(), ".");
        assert_eq!(name("sub/x/", true).unwrap(), "x");
        assert_eq!(name(".", false).unwrap(), ".");
        assert_eq!(name("./sub//x", false).unwrap(), "x");
        assert_eq!(name("outdir", false).unwrap(), "outdir");
        assert_eq!(name("a/b", false).err(), Some(libc::ENOENT));
        assert_eq!(name("f/", false).err(), Some(libc::ENOTDIR));
        std::fs::remove_dir_all(&root).ok();
    }
}
