//! Output files that appear whole or not at all: data goes to a hidden
//! temporary file in the destination's directory, which is synced and
//! renamed over the destination only when the caller has verified it, and
//! deleted otherwise (also when dropped on an error path).

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::NamedTempFile;

/// Temporary files being written, for [`remove_temporary_files`]; once
/// it has run (`closed`), no new one is created.
struct Live {
    paths: Vec<PathBuf>,
    closed: bool,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    paths: Vec::new(),
    closed: false,
});

fn live() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Deletes the temporary files of every [`AtomicFile`] not yet committed
/// or dropped, and refuses to create new ones from then on: call it from
/// a signal handler's thread just before exiting, since an exit skips
/// destructors.
///
/// A temporary file is created and registered under one lock, the one
/// this takes: a thread that was creating one when the signal came has
/// registered it before this deletes, and one that starts after gets an
/// error instead of a file nobody would delete.
pub fn remove_temporary_files() {
    let mut live = live();
    live.closed = true;
    for p in live.paths.drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

/// A destination file being written.
#[derive(Debug)]
pub struct AtomicFile {
    /// `None` only once committed.
    tmp: Option<NamedTempFile>,
    dest: PathBuf,
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(t) = &self.tmp {
            let path = t.path().to_path_buf();
            live().paths.retain(|p| *p != path);
        }
    }
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The longest file name on common file systems (Linux, macOS).
const NAME_MAX: usize = 255;
/// Bytes a temporary name adds to its prefix: six random characters and
/// [`TEMP_SUFFIX`].
const TEMP_EXTRA: usize = 6 + TEMP_SUFFIX.len();
/// The end of every temporary name.
pub const TEMP_SUFFIX: &str = ".lmc-tmp";

/// `.NAME.`, with `NAME` cut so that the whole temporary name is at
/// most `budget` bytes.
fn temp_prefix(name: &OsStr, budget: Option<usize>) -> OsString {
    let keep = |len: usize| match budget {
        None => len,
        Some(b) => b.saturating_sub(TEMP_EXTRA + 2).min(len),
    };
    #[cfg(unix)]
    let cut = {
        use std::os::unix::ffi::OsStrExt;
        let bytes = name.as_bytes();
        OsStr::from_bytes(&bytes[..keep(bytes.len())]).to_owned()
    };
    #[cfg(not(unix))]
    let cut = {
        let text = name.to_string_lossy();
        let mut k = keep(text.len());
        while !text.is_char_boundary(k) {
            k -= 1;
        }
        OsString::from(&text[..k])
    };
    let mut p = OsString::from(".");
    p.push(cut);
    p.push(".");
    p
}

fn temp_in(dest: &Path, prefix: &OsStr) -> io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(6)
        .tempfile_in(dir_of(dest))
}

/// ENAMETOOLONG.
fn name_too_long(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidFilename || e.raw_os_error() == Some(36)
}

impl AtomicFile {
    /// Starts writing `dest` (nothing appears under its name yet).
    ///
    /// The temporary file is `.NAME.XXXXXX.lmc-tmp` beside `dest`; when
    /// that is longer than a file name may be, `NAME` is shortened so that
    /// the temporary name is no longer than `dest`'s own name: it fits
    /// wherever the final name fits.
    pub fn create(dest: &Path) -> io::Result<Self> {
        let name = dest.file_name().unwrap_or_default();
        let full = temp_prefix(name, None);
        // Held while the file is created, so that a signal's cleanup sees
        // every file made (see `remove_temporary_files`).
        let mut live = live();
        if live.closed {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "lmc is stopping on a signal",
            ));
        }
        let tmp = if full.len() + TEMP_EXTRA <= NAME_MAX {
            match temp_in(dest, &full) {
                Err(e) if name_too_long(&e) => temp_in(dest, &temp_prefix(name, Some(name.len()))),
                r => r,
            }
        } else {
            temp_in(dest, &temp_prefix(name, Some(name.len())))
        }?;
        live.paths.push(tmp.path().to_path_buf());
        drop(live);
        Ok(Self {
            tmp: Some(tmp),
            dest: dest.to_path_buf(),
        })
    }

    fn tmp(&self) -> &NamedTempFile {
        // Only `commit` takes it, and it consumes `self`.
        self.tmp
            .as_ref()
            .expect("temporary file present until commit")
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        self.tmp
            .as_mut()
            .expect("temporary file present until commit")
            .as_file_mut()
    }

    /// The temporary file's path (for tests and messages).
    pub fn temp_path(&self) -> &Path {
        self.tmp().path()
    }

    /// Gives the file the permissions and modification time of `like`
    /// (as gzip does).
    pub fn copy_metadata(&mut self, like: &Metadata) -> io::Result<()> {
        let f = self.tmp().as_file();
        f.set_permissions(like.permissions())?;
        if let Ok(t) = like.modified() {
            f.set_times(std::fs::FileTimes::new().set_modified(t))?;
        }
        Ok(())
    }

    /// Syncs the data and renames it to the destination; with `overwrite`
    /// false an existing destination is an error and is left alone.
    pub fn commit(mut self, overwrite: bool) -> io::Result<()> {
        self.tmp().as_file().sync_all()?;
        let path = self.tmp().path().to_path_buf();
        let tmp = self
            .tmp
            .take()
            .expect("temporary file present until commit");
        let dest = std::mem::take(&mut self.dest);
        let persisted = if overwrite {
            tmp.persist(&dest)
        } else {
            tmp.persist_noclobber(&dest)
        };
        // Renamed or deleted now; a signal before this line removed a path
        // that no longer exists.
        live().paths.retain(|p| *p != path);
        persisted.map_err(|e| e.error)?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir_of(&dest)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
