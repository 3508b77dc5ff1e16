//! Reading the token and the CA files: every read is capped, and a read that could wait forever
//! (standard input, a FIFO) ends within `--timeout`. Devices and directories are refused: a
//! token file is a regular file, a pipe, or standard input.
//!
//! Errors never repeat a path or a value: a token given where a path belongs would be in it.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

/// The most a token source may hold. The longest GitLab tokens (JWT job tokens) are about
/// 1 KB; a few KB leave room for white space and mistakes without reading `/dev/zero` forever.
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// The most a CA file may hold: the Mozilla bundle is about 220 KB.
pub const MAX_CA_BYTES: u64 = 8 * 1024 * 1024;

use super::{Args, OsArgs, UsageError, display_path, variable_name};
use crate::token::{Source, Token};

/// The token, where it came from, and whether its variable was set at all.
pub(super) fn token(
    args: &Args,
    os: &OsArgs,
    env: &dyn Fn(&str) -> Option<String>,
    deadline: Instant,
) -> Result<(Token, Source, bool), UsageError> {
    let text = |bytes: Vec<u8>| Token::new(&String::from_utf8_lossy(&bytes));
    match (&args.token_env, &args.token_file) {
        (Some(_), Some(_)) => Err(UsageError(
            "give either --token-env or --token-file, not both".into(),
        )),
        (None, Some(path)) if path == "-" => {
            let bytes = read_capped(Input::Stdin, MAX_TOKEN_BYTES, deadline).map_err(|why| {
                UsageError(format!("cannot read the token from standard input: {why}"))
            })?;
            Ok((text(bytes), Source::Stdin, true))
        }
        (None, Some(path)) => {
            let path = os.path(path);
            // The path is not repeated: a token passed here by mistake would be.
            let bytes = read_capped(Input::Path(path.as_os_str()), MAX_TOKEN_BYTES, deadline)
                .map_err(|why| {
                    UsageError(format!("cannot read the file given to --token-file: {why}"))
                })?;
            Ok((text(bytes), Source::File(display_path(&path)), true))
        }
        (Some(name), None) => {
            from_variable(variable_name("--token-env", name, env)?, env, deadline)
        }
        (None, None) => {
            let name = if env("GITLAB_TOKEN").is_some() {
                "GITLAB_TOKEN"
            } else {
                "CI_JOB_TOKEN"
            };
            from_variable(name, env, deadline)
        }
    }
}

/// The token in a variable; for a File-type CI/CD variable, whose value is the path of a file
/// holding the token, the token in that file.
fn from_variable(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    deadline: Instant,
) -> Result<(Token, Source, bool), UsageError> {
    let Some(value) = env(name) else {
        return Ok((Token::new(""), Source::Env(name.to_owned()), false));
    };
    let path = OsStr::new(&value);
    if value.starts_with('/') && std::fs::metadata(path).is_ok() {
        let bytes = read_capped(Input::Path(path), MAX_TOKEN_BYTES, deadline)
            .map_err(|why| UsageError(format!("cannot read the file named by ${name}: {why}")))?;
        let token = Token::new(&String::from_utf8_lossy(&bytes));
        return Ok((token, Source::EnvFile(name.to_owned()), true));
    }
    Ok((Token::new(&value), Source::Env(name.to_owned()), true))
}

/// CA files as `(path as shown, contents)`.
pub type CaFiles = Vec<(String, Vec<u8>)>;

/// The CA files (`--ca-file`, `$CI_SERVER_TLS_CA_FILE`, `$SSL_CERT_FILE`) and a description of
/// where they came from, for TLS explanations.
pub(super) fn ca_files(
    args: &Args,
    os: &OsArgs,
    env: &dyn Fn(&str) -> Option<String>,
    deadline: Instant,
) -> Result<(CaFiles, Option<String>), UsageError> {
    let mut paths: Vec<(std::path::PathBuf, String)> = Vec::new();
    if let Some(path) = &args.ca_file {
        paths.push((os.path(path), "--ca-file".to_owned()));
    }
    for var in ["CI_SERVER_TLS_CA_FILE", "SSL_CERT_FILE"] {
        if let Some(path) = env(var).filter(|p| !p.trim().is_empty()) {
            paths.push((path.into(), format!("${var}")));
        }
    }
    let mut files = Vec::new();
    let mut sources = Vec::new();
    for (path, from) in paths {
        let shown = display_path(&path);
        let bytes = read_capped(Input::Path(path.as_os_str()), MAX_CA_BYTES, deadline)
            .map_err(|why| UsageError(format!("cannot read CA file {shown} ({from}): {why}")))?;
        sources.push(format!("{from} ({shown})"));
        files.push((shown, bytes));
    }
    let source = (!sources.is_empty()).then(|| sources.join(", "));
    Ok((files, source))
}

/// Where to read from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// Standard input.
    Stdin,
    /// A path.
    Path(&'a OsStr),
}

/// Reads at most `cap` bytes from the input, by the deadline (the run's `--timeout`). The
/// error is a phrase to follow "cannot read …: ".
pub fn read_capped(input: Input<'_>, cap: u64, deadline: Instant) -> Result<Vec<u8>, String> {
    let bytes = match input {
        Input::Stdin => within(deadline, move || read_all(std::io::stdin().lock(), cap))?,
        Input::Path(path) => {
            let meta = std::fs::metadata(path).map_err(|e| io_phrase(&e))?;
            let kind = meta.file_type();
            if kind.is_dir() {
                return Err("it is a directory".to_owned());
            }
            if !kind.is_file() && !kind.is_fifo() {
                return Err(
                    "it is a device or socket, not a regular file (use - for standard input)"
                        .to_owned(),
                );
            }
            // Opening a FIFO blocks until a writer comes, and some regular files never end
            // (/proc/kmsg): open and read off the main thread, within the deadline.
            let path = Path::new(path).to_owned();
            within(deadline, move || {
                read_all(File::open(&path).map_err(|e| io_phrase(&e))?, cap)
            })?
        }
    };
    if bytes.len() as u64 > cap {
        return Err(format!("it holds more than {} KiB", cap / 1024));
    }
    Ok(bytes)
}

/// Reads to the end, one byte past the cap at most (so that "too large" can be told).
fn read_all(reader: impl Read, cap: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_phrase(&e))?;
    Ok(bytes)
}

/// Runs blocking I/O on a thread of its own and gives up at the deadline; the thread is left
/// blocked, and ends with the process.
pub fn within<T: Send + 'static>(
    deadline: Instant,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_else(|_| {
            Err(
                "it did not end within --timeout: no writer or reader, or an endless stream"
                    .to_owned(),
            )
        })
}

/// An I/O error as a phrase, without the path (io::Error's text never holds it).
fn io_phrase(error: &std::io::Error) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_at_once() {
        let t = Instant::now() + std::time::Duration::from_secs(5);
        let zero = read_capped(Input::Path(OsStr::new("/dev/zero")), 1024, t);
        assert!(zero.unwrap_err().contains("device"));
        let dir = read_capped(Input::Path(OsStr::new("/")), 1024, t);
        assert!(dir.unwrap_err().contains("directory"));
    }

    #[test]
    fn large_files_are_cut_and_refused() {
        let path = std::env::temp_dir().join(format!("glprobe-read-{}", std::process::id()));
        std::fs::write(&path, vec![b'a'; 3000]).unwrap();
        let r = read_capped(
            Input::Path(path.as_os_str()),
            1024,
            Instant::now() + std::time::Duration::from_secs(1),
        );
        assert!(r.unwrap_err().contains("more than 1 KiB"));
        let r = read_capped(
            Input::Path(path.as_os_str()),
            4096,
            Instant::now() + std::time::Duration::from_secs(1),
        );
        assert_eq!(r.unwrap().len(), 3000);
        std::fs::remove_file(path).unwrap();
    }
}
