//! `wa-host demo`: the README's first command (see `whatsapp_host::demo`).

use crate::{BoxError, Cli, component};
use std::time::Duration;

pub async fn run(cli: &Cli, timeout_secs: u64) -> Result<(), BoxError> {
    let wasm = component(cli)?;
    let mut out = std::io::stdout();
    whatsapp_host::demo::run(Duration::from_secs(timeout_secs), wasm.as_deref(), &mut out).await
}
