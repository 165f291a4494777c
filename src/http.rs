//! JSON answers. Every error the Worker gives is `{"error": code, "message": text}` with a
//! fitting status, so clients and tests never parse prose. Errors are never cached, and all
//! carry the same headers: a 404 of a disabled operator API looks like any other 404.
//!
//! Bodies are typed structs rather than `serde_json::json!` trees, which would bring
//! `serde_json::Value`'s code into the wasm for a few fixed shapes.
use serde::Serialize;
use worker::{Response, Result};

pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// `{"ok": true}`: the answer of a request that did what it asked and has nothing to say.
pub fn ok() -> Result<Response> {
    #[derive(Serialize)]
    struct Done {
        ok: bool,
    }
    json(200, &Done { ok: true })
}

pub fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    #[derive(Serialize)]
    struct Refusal<'a> {
        error: &'a str,
        message: &'a str,
    }
    let body = Refusal {
        error: code,
        message,
    };
    let mut response = json(status, &body)?;
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}
