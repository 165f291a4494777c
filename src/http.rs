//! JSON answers. Every error the Worker gives is `{"error": code, "message": text}` with a
//! fitting status, so clients and tests never parse prose.
use serde::Serialize;
use worker::{Response, Result};

pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

pub fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    json(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}
