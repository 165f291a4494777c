//! The room Durable Object (placeholder until the room issue): accepts hibernatable sockets.
use worker::*;

#[durable_object]
pub struct Room {
    state: State,
}

impl DurableObject for Room {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        Response::from_websocket(pair.client)
    }

    async fn websocket_message(&self, ws: WebSocket, _msg: WebSocketIncomingMessage) -> Result<()> {
        ws.send_with_str(
            r#"{"type":"error","code":"not_implemented","message":"rooms are not built yet"}"#,
        )
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
