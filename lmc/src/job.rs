//! One input becoming one output, gzip's way: the I/O that carries out a
//! [`crate::plan`].
//!
//! - [`Job::prepare`] looks at the input (what it is: [`InputKind`]) and
//!   at the destination (not the input itself, not an existing file
//!   without `-f`, not a terminal for compressed data, standard output
//!   open);
//! - [`Job::open`] opens the input and notes its size and time;
//! - [`Job::write`] writes the output whole or not at all: a file through
//!   an [`AtomicFile`] (errors writing it are the output's, named after
//!   it), standard output as a stream;
//! - [`Job::finish`] removes the input only when the output is the file
//!   just written and the input did not change while it was read.
//!
//! [`walk`] lists the files `-r` takes, going on past what it cannot read.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::dest::{has_suffix, is_stdin, plan, Dest, InputKind, Plan, Rules};
use crate::output::{AtomicFile, TEMP_SUFFIX};
use crate::{io_message, Error};

/// How messages name standard output.
const STDOUT: &str = "standard output";

/// Where [`Job::write`]'s callback writes.
pub enum Out<'a> {
    /// The output file: seekable, so one stream with its header filled in
    /// at the end.
    File(&'a mut dyn WriteSeek),
    /// Standard output: a stream that cannot seek back.
    Pipe(&'a mut dyn Write),
    /// Nothing is written (`-t`).
    Nowhere,
}

/// [`Write`] + [`Seek`], as one object.
pub trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

/// One input and its plan.
#[derive(Debug)]
pub struct Job {
    /// The input's path (`-` for standard input).
    pub input: PathBuf,
    /// What the input is.
    pub kind: InputKind,
    /// Where its output goes, and whether it is removed.
    pub plan: Plan,
    /// A regular input's metadata (the output gets its mode and time).
    meta: Option<Metadata>,
}

/// What identifies an input's contents cheaply: size, modification time
/// and (on Unix) the file itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    file: (u64, u64),
}

impl Seen {
    /// `meta`'s size, time and file.
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        let file = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let file = (0, 0);
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            file,
        }
    }
}

/// An open input.
pub struct Opened {
    /// Its bytes.
    pub reader: Box<dyn Read>,
    /// A regular file's size when it was opened (for a progress bar).
    pub len: Option<u64>,
    seen: Option<Seen>,
}

/// Something a job did not do, though its output is complete (exit
/// status 2, as gzip's warnings).
#[derive(Debug)]
#[non_exhaustive]
pub enum Warning {
    /// The input changed (size, time or file) while it was read: kept.
    Changed {
        /// The input.
        input: PathBuf,
    },
    /// The input could not be removed.
    NotRemoved {
        /// The input.
        input: PathBuf,
        /// The output, complete.
        output: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Changed { input } => write!(
                f,
                "{}: warning: the file changed while lmc read it; it is kept, and its output holds what was read",
                input.display()
            ),
            Warning::NotRemoved {
                input,
                output,
                source,
            } => write!(
                f,
                "{}: warning: cannot remove the input ({}); {} is complete and the input is kept",
                input.display(),
                io_message(source),
                output.display()
            ),
        }
    }
}

/// What `path` is (following symbolic links, as gzip does for names
/// given): a missing input is the error to report, not its output.
pub fn input_kind(path: &Path) -> io::Result<(InputKind, Option<Metadata>)> {
    if is_stdin(path) {
        return Ok((InputKind::Stdin, None));
    }
    let meta = fs::metadata(path)?;
    let kind = if meta.is_file() {
        InputKind::Regular
    } else if meta.is_dir() {
        InputKind::Directory
    } else {
        InputKind::Other
    };
    Ok((kind, Some(meta).filter(|m| m.is_file())))
}

impl Job {
    /// Plans `input` under `rules` and checks the plan against the file
    /// system and the terminals.
    pub fn prepare(input: &Path, rules: &Rules) -> Result<Job, Error> {
        let (kind, meta) = input_kind(input)?;
        let plan = plan(input, kind, rules)?;
        match &plan.dest {
            Dest::File(d) => {
                if kind != InputKind::Stdin && same_file(input, d) {
                    return Err(Error::SameFile);
                }
                refuse_existing(d, rules.force)?;
            }
            Dest::Stdout => {
                stdout_open()?;
                if !rules.decompress && !rules.force && io::stdout().is_terminal() {
                    return Err(Error::CompressedToTerminal);
                }
            }
            Dest::Nowhere => {}
        }
        if plan.remove_input && !rules.force {
            refuse_links(input, meta.as_ref())?;
        }
        if rules.decompress && kind == InputKind::Stdin && !rules.force && io::stdin().is_terminal()
        {
            return Err(Error::CompressedFromTerminal);
        }
        Ok(Job {
            input: input.to_path_buf(),
            kind,
            plan,
            meta,
        })
    }

    /// Opens the input.
    pub fn open(&self) -> Result<Opened, Error> {
        if self.kind == InputKind::Stdin {
            return Ok(Opened {
                reader: Box::new(io::stdin().lock()),
                len: None,
                seen: None,
            });
        }
        let f = File::open(&self.input)?;
        let seen = match self.kind {
            InputKind::Regular => Some(Seen::of(&f.metadata()?)),
            _ => None,
        };
        Ok(Opened {
            reader: Box::new(f),
            len: seen.map(|s| s.len),
            seen,
        })
    }

    /// Runs `write` into the output and keeps it only if it succeeds: a
    /// file is an [`AtomicFile`] renamed over the destination (with a
    /// regular input's permissions and time; `force` lets it replace a
    /// file that appeared meanwhile), standard output is written as it
    /// comes. Returns `write`'s result and, for a file, the length
    /// written.
    pub fn write<T>(
        &self,
        force: bool,
        write: impl FnOnce(Out<'_>) -> Result<T, Error>,
    ) -> Result<(T, Option<u64>), Error> {
        match &self.plan.dest {
            Dest::Nowhere => Ok((write(Out::Nowhere)?, None)),
            Dest::Stdout => {
                let stdout = Path::new(STDOUT);
                if let Some(file) = seekable_stdout() {
                    // `lmc -c f > f.lmc`: one stream, as a file gets.
                    let mut out = BufWriter::with_capacity(1 << 16, Blamed(file));
                    let t = write(Out::File(&mut out)).map_err(|e| blame(e, stdout))?;
                    out.flush().map_err(|e| blame(e.into(), stdout))?;
                    return Ok((t, None));
                }
                let mut out = BufWriter::with_capacity(1 << 16, Blamed(io::stdout().lock()));
                let t = write(Out::Pipe(&mut out)).map_err(|e| blame(e, stdout))?;
                out.flush().map_err(|e| blame(e.into(), stdout))?;
                Ok((t, None))
            }
            Dest::File(d) => {
                let mut out = AtomicFile::create(d).map_err(|e| output_error(d, e))?;
                let t = {
                    let mut w = BufWriter::new(Blamed(out.file()));
                    let t = write(Out::File(&mut w)).map_err(|e| blame(e, d))?;
                    w.flush().map_err(|e| blame(e.into(), d))?;
                    t
                };
                let len = out.file().metadata()?.len();
                if let Some(m) = &self.meta {
                    out.copy_metadata(m).map_err(|e| output_error(d, e))?;
                }
                out.commit(force).map_err(|e| output_error(d, e))?;
                Ok((t, Some(len)))
            }
        }
    }

    /// After a successful [`write`](Self::write) of `written` bytes:
    /// removes the input if the plan says so, the output is the file just
    /// written, and the input is as it was when opened (`opened`);
    /// otherwise says why not.
    pub fn finish(&self, opened: &Opened, written: Option<u64>) -> Result<Option<Warning>, Error> {
        let changed = opened.seen.is_some_and(|seen| {
            fs::metadata(&self.input).map_or(true, |now| Seen::of(&now) != seen)
        });
        if let (Dest::File(d), true) = (&self.plan.dest, self.plan.remove_input) {
            verify_output(d, written)?;
            if !changed {
                return Ok(fs::remove_file(&self.input)
                    .err()
                    .map(|source| Warning::NotRemoved {
                        input: self.input.clone(),
                        output: d.clone(),
                        source,
                    }));
            }
        }
        Ok(changed.then(|| Warning::Changed {
            input: self.input.clone(),
        }))
    }
}

/// Refuses, as gzip does, to remove an input that is a symbolic link
/// (its target would stay, uncompressed) or has other hard links (its
/// data would stay).
fn refuse_links(input: &Path, meta: Option<&Metadata>) -> Result<(), Error> {
    if fs::symlink_metadata(input)?.file_type().is_symlink() {
        return Err(Error::SymbolicLink);
    }
    #[cfg(unix)]
    if let Some(m) = meta {
        use std::os::unix::fs::MetadataExt;
        if m.nlink() > 1 {
            return Err(Error::OtherLinks(m.nlink() - 1));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// A duplicate of standard output's descriptor, with its file status
/// flags (`fcntl(F_GETFL)`); `None` if descriptor 1 is closed.
#[cfg(unix)]
fn stdout_dup() -> Option<(File, i32)> {
    use std::os::fd::{AsFd, AsRawFd};
    extern "C" {
        fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    }
    const F_GETFL: i32 = 3;
    let file = File::from(io::stdout().as_fd().try_clone_to_owned().ok()?);
    // SAFETY: F_GETFL reads the descriptor's flags and takes no argument;
    // `file` is open.
    let flags = unsafe { fcntl(file.as_raw_fd(), F_GETFL) };
    (flags >= 0).then_some((file, flags))
}

/// Fails unless standard output is open. A closed one (`lmc -c f >&-`)
/// does not look closed from here: Rust's runtime, starting, puts
/// `/dev/null` (read-write) on a closed descriptor 0, 1 or 2, where every
/// write would vanish. A shell's `> /dev/null` opens it write-only, so
/// `/dev/null` open read-write on descriptor 1 is taken for a closed one.
fn stdout_open() -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        const O_ACCMODE: i32 = 3;
        const O_RDWR: i32 = 2;
        let closed = || Error::Output {
            path: PathBuf::from(STDOUT),
            source: io::Error::from_raw_os_error(9), // EBADF
        };
        let (file, flags) = stdout_dup().ok_or_else(closed)?;
        let on_null = match (file.metadata(), fs::metadata("/dev/null")) {
            (Ok(out), Ok(null)) => out.rdev() == null.rdev() && out.dev() == null.dev(),
            _ => false,
        };
        if on_null && flags & O_ACCMODE == O_RDWR {
            return Err(closed());
        }
    }
    Ok(())
}

/// Standard output as a file to seek in, when it is a regular file not
/// opened for appending (`> out`, not `>> out` or a pipe): its header can
/// be filled in at the end, at the offset where the stream began.
fn seekable_stdout() -> Option<File> {
    #[cfg(unix)]
    {
        const O_APPEND: i32 = 0o2000;
        let (file, flags) = stdout_dup()?;
        (file.metadata().ok()?.is_file() && flags & O_APPEND == 0).then_some(file)
    }
    #[cfg(not(unix))]
    None
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn refuse_existing(dest: &Path, force: bool) -> Result<(), Error> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Err(Error::OutputIsDirectory(dest.to_path_buf())),
        Ok(_) if !force => Err(Error::OutputExists(dest.to_path_buf())),
        _ => Ok(()),
    }
}

/// Checks, before its input is removed, that `dest` is the file just
/// committed: a regular file of the length written.
fn verify_output(dest: &Path, written: Option<u64>) -> Result<(), Error> {
    let found = fs::symlink_metadata(dest).map_err(|e| output_error(dest, e))?;
    match written {
        Some(n) if found.is_file() && found.len() == n => Ok(()),
        _ => Err(Error::Output {
            path: dest.to_path_buf(),
            source: io::Error::other(format!(
                "it is not the file just written ({} bytes expected, {} found); input kept",
                written.unwrap_or(0),
                found.len()
            )),
        }),
    }
}

/// An error creating, writing or renaming the output `dest`, named after
/// it (never after its temporary file).
pub fn output_error(dest: &Path, e: io::Error) -> Error {
    let e = without_path(e);
    if dest == Path::new(STDOUT) {
        return Error::Output {
            path: dest.to_path_buf(),
            source: e,
        };
    }
    if e.kind() == io::ErrorKind::AlreadyExists {
        Error::OutputAppeared(dest.to_path_buf())
    } else if dest.is_dir() || e.kind() == io::ErrorKind::IsADirectory {
        Error::OutputIsDirectory(dest.to_path_buf())
    } else {
        Error::Output {
            path: dest.to_path_buf(),
            source: e,
        }
    }
}

/// `e` without the path a library added to it (`tempfile` names its
/// temporary files, as `... at path "/d/.x.kGziSg.lmc-tmp"`): the
/// system's error alone.
fn without_path(e: io::Error) -> io::Error {
    if e.raw_os_error().is_some() {
        return e;
    }
    let text = e.to_string();
    match text.find(" at path ") {
        Some(i) => io::Error::new(e.kind(), &text[..i]),
        None => e,
    }
}

/// An error writing the output, marked so (see [`blame`]).
#[derive(Debug)]
struct OutputFailure(io::Error);

impl fmt::Display for OutputFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for OutputFailure {}

fn mark(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), OutputFailure(e))
}

/// The output file's writer: its errors are marked, so that a full disk
/// is reported as the output's, not the input's.
struct Blamed<W>(W);

impl<W: Write> Write for Blamed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark)
    }
}

impl<W: Seek> Seek for Blamed<W> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos).map_err(mark)
    }
}

/// `e` as an error of the output `dest` if it came from writing it.
fn blame(e: Error, dest: &Path) -> Error {
    match e {
        Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<OutputFailure>()) => {
            match io.into_inner().map(|i| i.downcast::<OutputFailure>()) {
                Some(Ok(failure)) => output_error(dest, failure.0),
                _ => Error::Output {
                    path: dest.to_path_buf(),
                    source: io::Error::other("write failed"),
                },
            }
        }
        // A write error is the output's, in whichever stream it came.
        Error::InStream { error, stream } => match blame(*error, dest) {
            e @ Error::Output { .. } => e,
            error => Error::InStream {
                error: Box::new(error),
                stream,
            },
        },
        e => e,
    }
}

/// The files under `dir` that `-r` takes, sorted: files ending in
/// `suffix` to decompress, the others to compress; never temporary
/// files; symbolic links not followed. What cannot be read (a directory
/// without permission) is listed in `errors`, with its path, and the walk
/// goes on with the rest, as `gzip -r` does.
pub fn walk(
    dir: &Path,
    suffix: &str,
    decompress: bool,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, io::Error)>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return errors.push((dir.to_path_buf(), e)),
    };
    let mut paths = Vec::new();
    for e in entries {
        match e {
            Ok(e) => paths.push(e.path()),
            Err(e) => errors.push((dir.to_path_buf(), e)),
        }
    }
    paths.sort();
    for p in paths {
        let m = match fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                errors.push((p, e));
                continue;
            }
        };
        let name = p.file_name().unwrap_or_default();
        if m.is_dir() {
            walk(&p, suffix, decompress, files, errors);
        } else if m.is_file() && !has_suffix(name, TEMP_SUFFIX) && taken(name, suffix, decompress) {
            files.push(p);
        }
    }
}

/// Whether `-r` takes a file named `name`.
fn taken(name: &OsStr, suffix: &str, decompress: bool) -> bool {
    has_suffix(name, suffix) == decompress
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_input_is_kept_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("g");
        fs::write(&input, b"abc").unwrap();
        let job = Job::prepare(&input, &Rules::default()).unwrap();
        assert_eq!(job.plan.dest, Dest::File(dir.path().join("g.lmc")));
        let opened = job.open().unwrap();
        let (_, written) = job
            .write(false, |out| match out {
                Out::File(w) => Ok(w.write_all(b"packed")?),
                _ => unreachable!(),
            })
            .unwrap();
        // The input grows after it was read.
        fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap()
            .write_all(b"TAIL")
            .unwrap();
        let w = job.finish(&opened, written).unwrap();
        assert!(matches!(w, Some(Warning::Changed { .. })), "{w:?}");
        assert_eq!(fs::read(&input).unwrap(), b"abcTAIL");
        assert_eq!(fs::read(dir.path().join("g.lmc")).unwrap(), b"packed");
    }

    #[test]
    fn an_unchanged_input_is_removed_once_its_output_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("f");
        fs::write(&input, b"abc").unwrap();
        let job = Job::prepare(&input, &Rules::default()).unwrap();
        let opened = job.open().unwrap();
        let (_, written) = job
            .write(false, |out| match out {
                Out::File(w) => Ok(w.write_all(b"x")?),
                _ => unreachable!(),
            })
            .unwrap();
        assert!(job.finish(&opened, written).unwrap().is_none());
        assert!(!input.exists());
        // And a failed write leaves neither output nor temporary file.
        fs::write(&input, b"abc").unwrap();
        fs::remove_file(dir.path().join("f.lmc")).unwrap();
        let job = Job::prepare(&input, &Rules::default()).unwrap();
        let e = job
            .write(false, |_| -> Result<(), Error> { Err(Error::NotOurs) })
            .unwrap_err();
        assert!(matches!(e, Error::NotOurs));
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the input is left");
    }

    #[test]
    fn errors_never_name_the_temporary_file() {
        let dest = Path::new("no-such-dir/out.lmc");
        let e = AtomicFile::create(dest).unwrap_err();
        let message = output_error(dest, e).to_string();
        assert!(!message.contains(TEMP_SUFFIX), "{message}");
        assert!(
            message.starts_with("cannot write no-such-dir/out.lmc: "),
            "{message}"
        );
    }

    #[test]
    fn errors_writing_the_output_are_the_outputs() {
        let dest = Path::new("out.lmc");
        let full = io::Error::from_raw_os_error(28); // ENOSPC
        let e = blame(Error::Io(mark(full)), dest);
        assert!(
            matches!(&e, Error::Output { path, .. } if path == dest),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("cannot write out.lmc: "), "{e}");
        // Not the output's: left as it is.
        let e = blame(Error::Io(io::Error::from_raw_os_error(5)), dest);
        assert!(matches!(e, Error::Io(_)));
    }

    #[test]
    fn walk_lists_what_it_takes_and_names_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("a")).unwrap();
        fs::write(d.join("a/x"), b"1").unwrap();
        fs::write(d.join("z.lmc"), b"3").unwrap();
        fs::write(d.join(".z.abc123.lmc-tmp"), b"4").unwrap();
        let (mut files, mut errors) = (Vec::new(), Vec::new());
        walk(d, ".lmc", false, &mut files, &mut errors);
        assert_eq!(files, vec![d.join("a/x")]);
        assert!(errors.is_empty());
        let (mut files, mut errors) = (Vec::new(), Vec::new());
        walk(d, ".lmc", true, &mut files, &mut errors);
        assert_eq!(files, vec![d.join("z.lmc")]);
        // (An unreadable directory, which root cannot make: tests/cli_edges.rs.)
        let (mut files, mut errors) = (Vec::new(), Vec::new());
        walk(&d.join("gone"), ".lmc", false, &mut files, &mut errors);
        assert!(files.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, d.join("gone"));
    }
}
