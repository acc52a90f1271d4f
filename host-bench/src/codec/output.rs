//! Output files that appear whole or not at all: data goes to a hidden
//! temporary file in the destination's directory, which is synced and
//! renamed over the destination only when the caller has verified it, and
//! deleted otherwise (also when dropped on an error path).

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A destination file being written.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    dest: PathBuf,
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl AtomicFile {
    /// Starts writing `dest` (nothing appears under its name yet).
    pub fn create(dest: &Path) -> io::Result<Self> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".lmc-tmp")
            .tempfile_in(dir_of(dest))?;
        Ok(Self {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The temporary file's path (for tests and messages).
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// Gives the file the permissions and modification time of `like`
    /// (as gzip does).
    pub fn copy_metadata(&mut self, like: &Metadata) -> io::Result<()> {
        let f = self.tmp.as_file();
        f.set_permissions(like.permissions())?;
        if let Ok(t) = like.modified() {
            f.set_times(std::fs::FileTimes::new().set_modified(t))?;
        }
        Ok(())
    }

    /// Syncs the data and renames it to the destination; with `overwrite`
    /// false an existing destination is an error and is left alone.
    pub fn commit(self, overwrite: bool) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        let dest = self.dest;
        if overwrite {
            self.tmp.persist(&dest).map_err(|e| e.error)?;
        } else {
            self.tmp.persist_noclobber(&dest).map_err(|e| e.error)?;
        }
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir_of(&dest)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
