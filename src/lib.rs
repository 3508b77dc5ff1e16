//! glprobe (work in progress)
pub mod classify;
pub mod reason;
pub mod token;
