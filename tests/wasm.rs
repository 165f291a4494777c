//! wasm-bindgen-test suite: what only holds in a JS host (run in Node by
//! `cargo test --target wasm32-unknown-unknown`). Pure logic is tested natively instead.
#![cfg(target_arch = "wasm32")]

use std::collections::HashSet;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn ids_come_from_the_js_csprng_and_do_not_repeat() {
    let ids: HashSet<String> = (0..1000).map(|_| room::ids::random_hex(8)).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|id| id.len() == 16));
}
