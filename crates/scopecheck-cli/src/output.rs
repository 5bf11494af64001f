//! Writing reports and bundles: whole or not at all.
//!
//! A regular file (or a path that does not exist yet) is written into a temporary file beside
//! it, flushed to disk and renamed over it, so a crash, a kill or a full disk never leaves a half
//! report that looks complete: the destination holds the old contents or the new, nothing
//! between. A symbolic link to a regular file is followed (the link stays a link).
//!
//! Special files are written directly, never renamed over: character devices (`/dev/null`,
//! `/dev/full`, a terminal), FIFOs and sockets, and anything under `/dev`, `/proc` or `/sys`
//! (`/dev/stdout`, `/proc/self/fd/1`). Renaming a temporary file over `/dev/full` as root would
//! replace the device with a regular file; writing to it fails with "no space left", as it should.

use scopecheck::{Error, ErrorKind, Location};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How a destination is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Into a temporary file beside this path (the destination with links resolved), then renamed.
    Atomic(PathBuf),
    /// Opened and written in place (a device, a FIFO, `/dev/stdout`...).
    Direct,
}

/// Paths whose files are not files on a disk.
fn special(path: &Path) -> bool {
    ["/dev", "/proc", "/sys"].iter().any(|p| path.starts_with(p))
}

fn plan(path: &Path) -> io::Result<Plan> {
    if path.as_os_str().is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path is empty"));
    }
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory")),
        Ok(m) if !m.is_file() => Ok(Plan::Direct),
        Ok(_) => {
            let real = fs::canonicalize(path)?;
            if special(path) || special(&real) { Ok(Plan::Direct) } else { Ok(Plan::Atomic(real)) }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A dangling link would be replaced by the file; write where it points instead.
            match fs::read_link(path) {
                Ok(target) if target.is_absolute() => Ok(Plan::Atomic(target)),
                Ok(target) => Ok(Plan::Atomic(path.parent().unwrap_or(Path::new("")).join(target))),
                Err(_) => Ok(Plan::Atomic(path.to_path_buf())),
            }
        }
        Err(e) => Err(e),
    }
}

thread_local! {
    /// Set while a command writes reports that hold evidence in clear (`--show-evidence`): its
    /// files are created readable by their owner only (0600).
    static SENSITIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread's outputs as sensitive (or not) until the guard drops.
pub(crate) fn sensitive(on: bool) -> SensitiveGuard {
    let was = SENSITIVE.with(|s| s.replace(on));
    SensitiveGuard(was)
}

/// Restores the previous sensitivity when dropped.
pub(crate) struct SensitiveGuard(bool);

impl Drop for SensitiveGuard {
    fn drop(&mut self) {
        SENSITIVE.with(|s| s.set(self.0));
    }
}

fn is_sensitive() -> bool {
    SENSITIVE.with(|s| s.get())
}

/// A temporary file beside `dest`, created new (never an existing file).
fn create_temp(dest: &Path) -> io::Result<(File, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = dest.file_name().map_or_else(|| "out".into(), |f| f.to_string_lossy().into_owned());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dest.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if is_sensitive() {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {}
            Err(e) => return Err(e),
        }
    }
}

/// An error for an output that cannot be written.
pub(crate) fn write_error(name: &str, what: &str, e: &io::Error) -> Error {
    let help = match e.kind() {
        io::ErrorKind::NotFound => "the folder does not exist: create it, or write somewhere else",
        io::ErrorKind::NotADirectory => "a part of the path is a file, not a folder: check the path",
        io::ErrorKind::IsADirectory => "name a file, not a folder (e.g. `DIR/report.json`)",
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "the folder is not writable: write somewhere else"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            "the disk is full (or a file size limit was hit): free some room, or write somewhere else"
        }
        _ => "check that the folder exists, is writable and has room",
    };
    Error::new(ErrorKind::Input, Location::file(name), format!("cannot write {what}: {e}")).with_help(help)
}

/// Checks, before any work is done, that `path` can be written: its folder exists and takes a new
/// file. Nothing is left behind, and a special file is not opened (opening a FIFO would block).
pub(crate) fn check_writable(path: &Path, what: &str) -> Result<(), Error> {
    let name = path.display().to_string();
    match plan(path).map_err(|e| write_error(&name, what, &e))? {
        Plan::Direct => Ok(()),
        Plan::Atomic(dest) => {
            let (f, tmp) = create_temp(&dest).map_err(|e| write_error(&name, what, &e))?;
            drop(f);
            let _ = fs::remove_file(&tmp);
            Ok(())
        }
    }
}

/// Writes `path` whole or not at all (see the module's documentation). On error, the destination
/// is as it was and no temporary file is left.
pub(crate) fn write_atomically(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let name = path.display().to_string();
    let fail = |e: io::Error| write_error(&name, what, &e);
    match plan(path).map_err(fail)? {
        Plan::Direct => {
            let f = OpenOptions::new().append(true).open(path).map_err(fail)?;
            let mut w = BufWriter::new(f);
            write(&mut w).map_err(fail)?;
            w.flush().map_err(fail)
        }
        Plan::Atomic(dest) => {
            let (f, tmp) = create_temp(&dest).map_err(fail)?;
            let result = (|| {
                // A replaced file keeps its permissions, unless the report holds evidence in
                // clear: then it is its owner's alone (0600), whatever the file it replaces allowed.
                if is_sensitive() {
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt as _;
                        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
                    }
                } else if let Ok(m) = fs::metadata(&dest) {
                    fs::set_permissions(&tmp, m.permissions())?;
                }
                let mut w = BufWriter::new(f);
                write(&mut w)?;
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
                drop(f);
                fs::rename(&tmp, &dest)
            })();
            result.map_err(|e| {
                let _ = fs::remove_file(&tmp);
                fail(e)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("scopecheck-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn leftovers(d: &Path) -> Vec<String> {
        fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn special_files_are_written_in_place_regular_ones_by_rename() {
        assert_eq!(plan(Path::new("/dev/null")).unwrap(), Plan::Direct);
        assert_eq!(plan(Path::new("/dev/full")).unwrap(), Plan::Direct);
        assert_eq!(plan(Path::new("/proc/version")).unwrap(), Plan::Direct);
        let d = dir("plan");
        let f = d.join("r.json");
        assert_eq!(plan(&f).unwrap(), Plan::Atomic(f.clone()));
        fs::write(&f, "old").unwrap();
        let real = fs::canonicalize(&f).unwrap();
        assert_eq!(plan(&f).unwrap(), Plan::Atomic(real.clone()));
        std::os::unix::fs::symlink(&f, d.join("link.json")).unwrap();
        assert_eq!(plan(&d.join("link.json")).unwrap(), Plan::Atomic(real));
        assert_eq!(plan(&d).unwrap_err().kind(), io::ErrorKind::IsADirectory);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let d = dir("fail");
        let f = d.join("r.json");
        fs::write(&f, "old").unwrap();
        let e = write_atomically(&f, "the report", |w| {
            w.write_all(b"half")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "no room"))
        })
        .unwrap_err();
        assert!(e.message.contains("no room"), "{e}");
        assert_eq!(fs::read_to_string(&f).unwrap(), "old");
        assert_eq!(leftovers(&d), vec!["r.json".to_string()]);
        write_atomically(&f, "the report", |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "new");
        assert_eq!(leftovers(&d), vec!["r.json".to_string()]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn dev_full_is_an_error_and_stays_a_device() {
        use std::os::unix::fs::FileTypeExt;
        let e = write_atomically(Path::new("/dev/full"), "the report", |w| w.write_all(&[b'x'; 100])).unwrap_err();
        assert!(e.to_string().starts_with("/dev/full: cannot write the report"), "{e}");
        assert!(fs::metadata("/dev/full").unwrap().file_type().is_char_device());
        check_writable(Path::new("/dev/full"), "the report").unwrap();
        assert!(check_writable(Path::new("/proc/no-such-file"), "the report").is_err());
    }
}
