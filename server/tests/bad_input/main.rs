//! BRIEF §6, "Bad input, faults and attacks", one module per bullet.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod connections;
mod framing;
