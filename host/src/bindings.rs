//! Host bindings of the `plugin-core` world. wasi:http and wasi:clocks are not in it:
//! they come from wasmtime-wasi and wasmtime-wasi-http's own linker functions.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin-core",
    imports: { default: trappable },
    exports: { default: async },
    additional_derives: [PartialEq, serde::Deserialize, serde::Serialize],
    with: {
        "wasi:keyvalue/store.bucket": crate::capabilities::keyvalue::Bucket,
    },
});
