//! Host bindings of the `plugin-core` world. wasi:http and wasi:clocks are not in it:
//! they come from wasmtime-wasi and wasmtime-wasi-http's own linker functions.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin-core",
    // The key-value imports are async: on PostgreSQL a query is in flight while the
    // component waits, and the host's worker serves others meanwhile.
    imports: {
        "wasi:keyvalue/store": async | trappable,
        "wasi:keyvalue/atomics": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    additional_derives: [PartialEq, serde::Deserialize, serde::Serialize],
    with: {
        "wasi:keyvalue/store.bucket": crate::bindings::Bucket,
    },
});

/// An open `wasi:keyvalue` bucket, the resource a guest holds: a name inside the
/// tenant's namespace. Defined beside the bindings that name it; the key-value
/// capability (`capabilities::keyvalue`) opens and reads it.
pub struct Bucket {
    pub(crate) name: String,
}
