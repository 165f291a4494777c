//! JSON answers. Every error the Worker gives is `{"error": code, "message": text}` with a
//! fitting status, so clients and tests never parse prose. Errors are never cached, and all
//! carry the same headers: a 404 of a disabled operator API looks like any other 404.
use serde::Serialize;
use worker::{Response, Result};

pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

pub fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    let body = serde_json::json!({ "error": code, "message": message });
    let mut response = json(status, &body)?;
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}
