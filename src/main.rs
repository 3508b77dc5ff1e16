//! The glprobe command: arguments and environment in, exit code out. Everything else is in the
//! library (`glprobe::run`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    ExitCode::from(glprobe::run(&args, &env))
}
