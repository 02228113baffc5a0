//! Process signals that stop a service: SIGINT (Ctrl-C), SIGTERM and SIGQUIT (what `docker stop`
//! and process supervisors send), as the official `GrpcServiceRunner` handles.

use std::io;

/// Which signal asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGQUIT.
    Quit,
}

/// Installs the handlers, then resolves when the first of SIGINT, SIGTERM or SIGQUIT arrives.
///
/// Installing is done before the future is returned, so a signal that arrives after this call
/// returns is never missed.
#[cfg(unix)]
pub fn shutdown_signal() -> io::Result<impl Future<Output = ShutdownSignal> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut quit = signal(SignalKind::quit())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => ShutdownSignal::Interrupt,
            _ = terminate.recv() => ShutdownSignal::Terminate,
            _ = quit.recv() => ShutdownSignal::Quit,
        }
    })
}

/// Installs the Ctrl-C handler, then resolves when Ctrl-C arrives.
#[cfg(not(unix))]
pub fn shutdown_signal() -> io::Result<impl Future<Output = ShutdownSignal> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        ShutdownSignal::Interrupt
    })
}
