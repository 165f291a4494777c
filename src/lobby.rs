//! The lobby Durable Object (placeholder until the lobby issue).
use worker::*;

/// The one lobby object every room reports to.
pub const LOBBY_NAME: &str = "lobby";

#[durable_object]
pub struct Lobby {
    state: State,
}

impl DurableObject for Lobby {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() == "/report" {
            return Response::empty();
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        pair.server
            .send_with_str(r#"{"type":"rooms","rooms":[]}"#)?;
        Response::from_websocket(pair.client)
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        ws.close(Some(1000), Some("bye"))
    }
}

/// Tells the lobby how many people a room has now (0: the room is empty).
pub async fn report_count(env: &Env, name: &str, count: usize, private: bool) -> Result<()> {
    let body = serde_json::json!({ "name": name, "count": count, "private": private });
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(body.to_string().into()));
    let req = Request::new_with_init("https://lobby/report", &init)?;
    env.durable_object("LOBBY")?
        .get_by_name(LOBBY_NAME)?
        .fetch_with_request(req)
        .await?;
    Ok(())
}
