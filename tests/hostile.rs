//! Hostile guests: a component that spins forever, grows its memory without end or
//! floods the resource table is stopped with a trap, the host keeps serving the other
//! tenants meanwhile (on one thread: a spinning guest yields at every epoch tick), and
//! the stopped tenant's next call works on a fresh instance.
//!
//! The component is `tests/hostile-guest` (built by `tests/build.rs`): its
//! `webhooks.parse` misbehaves as its body says; `connection.info` answers normally.

use std::time::Duration;
use whatsapp_host::capabilities::http::EgressPolicy;
use whatsapp_host::wasmtime::Trap;
use whatsapp_host::{Runtime, RuntimeConfig, TenantBinding};
use whatsapp_tests::{cache_dir, services};

const HOSTILE: &[u8] = include_bytes!(env!("WA_HOSTILE_WASM"));

fn runtime(deadline: Duration) -> Runtime {
    let config = RuntimeConfig {
        cache_dir: Some(cache_dir()),
        max_instances: 8,
        memory_limit_bytes: 16 << 20,
        max_resources: 200,
        deadline,
        ..RuntimeConfig::default()
    };
    Runtime::new(HOSTILE, config, services(EgressPolicy::default()).0).expect("load")
}

fn tenant(id: &str) -> TenantBinding {
    TenantBinding::new(id, [("tenant-id".to_string(), id.to_string())])
}

/// Run `parse(body)` for tenant "evil" on a task of this (single-threaded) runtime,
/// serve tenant "good" meanwhile (up to 20 calls), and return the evil call's error and
/// how many of the good calls completed while the evil one was still running.
async fn contained(rt: &'static Runtime, body: &'static [u8]) -> (String, usize) {
    let evil = tokio::spawn(async move {
        let mut i = rt.instantiate(&tenant("evil")).await.unwrap();
        i.parse(body).await
    });
    // Let the evil call start, then serve another tenant while it runs.
    tokio::task::yield_now().await;
    // Counted call by call, not after all 20: on a loaded machine 20 calls can outlast the
    // deadline, and that says nothing about whether the good tenant was served meanwhile.
    let mut served_meanwhile = 0;
    for n in 0..20 {
        let mut good = rt.instantiate(&tenant("good")).await.unwrap();
        let info = good.info().await.unwrap().unwrap();
        assert_eq!(info.tenant_id, "good", "call {n}");
        if evil.is_finished() {
            break;
        }
        served_meanwhile += 1;
    }
    let outcome = evil.await.expect("the evil task itself does not panic");
    let message = match outcome {
        Err(trap) if trap.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => "interrupt".into(),
        Err(trap) => format!("{trap:?}"),
        Ok(Err(e)) => format!("typed error: {e:?}"),
        Ok(Ok(events)) => panic!(
            "{} ran to completion with {events:?}",
            String::from_utf8_lossy(body)
        ),
    };
    // The stopped tenant's next call works, on a fresh instance.
    let mut again = rt.instantiate(&tenant("evil")).await.unwrap();
    assert_eq!(again.info().await.unwrap().unwrap().tenant_id, "evil");
    assert!(again.parse(b"{}").await.unwrap().unwrap().is_empty());
    (message, served_meanwhile)
}

fn leak(rt: Runtime) -> &'static Runtime {
    Box::leak(Box::new(rt))
}

#[tokio::test(flavor = "current_thread")]
async fn a_guest_that_spins_forever_is_stopped_at_the_deadline_while_others_are_served() {
    let rt = leak(runtime(Duration::from_secs(4)));
    let (message, served_meanwhile) = contained(rt, b"loop").await;
    assert_eq!(message, "interrupt", "stopped by the epoch deadline");
    // One thread: the other tenant was served only because the spinning guest yields.
    assert!(
        served_meanwhile > 0,
        "no call of another tenant completed while the spinning call ran"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_guest_that_grows_memory_past_its_cap_fails_cleanly() {
    let rt = leak(runtime(Duration::from_secs(30)));
    let (message, _) = contained(rt, b"grow").await;
    assert!(
        message.contains("memory") || message.contains("unreachable"),
        "{message}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_guest_that_floods_the_resource_table_is_capped() {
    let rt = leak(runtime(Duration::from_secs(30)));
    let (http, _) = contained(rt, b"flood-http").await;
    assert!(
        http.contains("resource table") || http.contains("Full"),
        "{http}"
    );
    let (kv, _) = contained(rt, b"flood-kv").await;
    assert!(
        kv.contains("resource table") || kv.contains("refused a bucket"),
        "{kv}"
    );
}
