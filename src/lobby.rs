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

    async fn fetch(&self, _req: Request) -> Result<Response> {
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
