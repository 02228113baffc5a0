//! A local robot emulator: everything a payload service needs from a Spot robot, on one machine.
//!
//! - [`front`]: the TLS front on the robot port: per-authority certificates from a CA the
//!   emulator generates, routing of each call by `:authority` to a built-in service, or through
//!   the proxy to a registered payload service (plain h2c), with the robot's error behaviour.
//! - [`state`] and [`services`]: the emulated robot services and what they remember.
//! - [`routing`]: the contract between the two.
//! - [`Emulator`]: all of it together, started with one call (and the `spot-emulator` binary).

pub mod front;
mod robot;
pub mod routing;
pub mod services;
pub mod state;

pub use robot::{Emulator, EmulatorBuilder, EmulatorError, RunningEmulator};
