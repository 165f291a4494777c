//! Rooms that grow (docs/protocol.md, "Rooms that grow: mesh and SFU"): the move to the SFU,
//! `sfu` calls and their refusals, and what the SFU's answers do to the room's record.
use super::*;
use crate::protocol::TrackKind::{Camera, Mic, Screen};
use crate::protocol::{SfuRequest, TrackKind};
use crate::realtime::{
    ApiAnswer, ApiCall, ApiFailure, CloseTracksRequest, SdpType, SessionDescription, TrackResult,
};
use crate::room::relay::sfu::{
    self as rules, answered, Asked, Pending, Published, Purpose, Retired,
};

/// A deployment with an SFU: mesh up to 4, then up to 32 on the SFU.
fn sfu_limits() -> Limits {
    Limits::default().with_sfu()
}

fn in_room(others: &[Member], media: MediaMode) -> RoomView<'_> {
    RoomView {
        media,
        ..view(others)
    }
}

/// `member` with a session on the SFU publishing `kinds` (mids "0", "1", … in that order).
fn on_sfu(id: &str, nick: &str, kinds: &[TrackKind]) -> Member {
    let mut member = member(id, nick);
    let published = (kinds.iter().enumerate())
        .map(|(i, &kind)| Published {
            kind,
            mid: i.to_string(),
        })
        .collect();
    member.sfu = Some(SfuSession {
        id: format!("session-{id}"),
        published,
    });
    member.peer.tracks = kinds.to_vec();
    member
}

fn people(count: usize) -> Vec<Member> {
    (0..count)
        .map(|i| member(&format!("p{i}"), &format!("person {i}")))
        .collect()
}

fn act(me: &Member, text: &str, room: &RoomView) -> Outcome {
    on_frame(
        &conn(Some(me)),
        Incoming::Text(text),
        room,
        &sfu_limits(),
        &FakeIo::new(),
    )
}

fn join_into(room: &RoomView, limits: &Limits) -> Outcome {
    let text = r#"{"type":"join","nick":"newcomer"}"#;
    on_frame(
        &conn(None),
        Incoming::Text(text),
        room,
        limits,
        &FakeIo::new(),
    )
}

/// The refusal in an `sfu` answer: its request number and code.
fn sfu_refusal(outcome: &Outcome) -> (u64, String) {
    let sends = frames(outcome);
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].0, Target::Sender);
    let frame = &sends[0].1;
    assert_eq!(frame["type"], "sfu", "{frame}");
    assert!(frame["error"]["message"].is_string());
    let code = frame["error"]["code"].as_str().unwrap().to_owned();
    (frame["req"].as_u64().unwrap(), code)
}

/// The one API call an `sfu` frame asked for, and what waits for its answer.
fn the_call(outcome: &Outcome) -> (&ApiCall, &Asked) {
    assert_eq!(outcome.sfu.len(), 1, "{:?}", outcome.sfu);
    let pending = &outcome.sfu[0];
    (
        &pending.call,
        pending.asked.as_ref().expect("someone waits"),
    )
}

fn asked(member: &str, req: u32, purpose: Purpose) -> Asked {
    Asked {
        member: member.into(),
        req,
        purpose,
    }
}

fn description(kind: SdpType, sdp: &str) -> Option<SessionDescription> {
    Some(SessionDescription {
        kind,
        sdp: sdp.into(),
    })
}

fn result(mid: &str, session: Option<&str>, name: &str, error: Option<&str>) -> TrackResult {
    TrackResult {
        mid: Some(mid.into()),
        session_id: session.map(Into::into),
        track_name: Some(name.into()),
        error: error.map(Into::into),
        ..TrackResult::default()
    }
}

fn answer_frames(answered: &rules::Answered) -> Vec<(Target, Value)> {
    (answered.sends.iter())
        .map(|s| (s.to.clone(), serde_json::from_str(&s.frame).unwrap()))
        .collect()
}

fn forced_close(session: &str, mids: &[&str]) -> Pending {
    Pending {
        call: ApiCall::force_close(session, mids.iter().map(|m| m.to_string())),
        asked: None,
    }
}

/// `session`, retired with the room's record of what it publishes.
fn retired(session: &str, published: &[&str]) -> Retired {
    Retired {
        session: session.into(),
        published: published.iter().map(|m| m.to_string()).collect(),
    }
}

#[test]
fn the_join_past_mesh_max_moves_the_room_to_the_sfu() {
    let four = people(4);
    let outcome = join_into(&in_room(&four, MediaMode::Mesh), &sfu_limits());
    assert!(outcome.to_sfu);
    let sends = frames(&outcome);
    let kinds: Vec<_> = (sends.iter())
        .map(|(to, frame)| (to.clone(), frame["type"].as_str().unwrap()))
        .collect();
    // Those already in hear of the move before they hear of the joiner.
    assert_eq!(
        kinds,
        [
            (Target::Sender, "welcome"),
            (Target::Others, "media"),
            (Target::Others, "peer_joined")
        ]
    );
    assert_eq!(sends[1].1, json!({"type": "media", "mode": "sfu"}));
    let welcome = &sends[0].1;
    assert_eq!(welcome["media"], "sfu");
    assert_eq!(welcome["limits"]["maxPeers"], 32);
    assert_eq!(welcome["you"]["tracks"], json!([]));

    // Up to mesh_max it stays a mesh.
    let three = people(3);
    let fourth = join_into(&in_room(&three, MediaMode::Mesh), &sfu_limits());
    assert!(!fourth.to_sfu);
    assert_eq!(frames(&fourth)[0].1["media"], "mesh");
    // A room on the SFU stays there, and says so to joiners, without telling anyone again.
    let five = people(5);
    let sixth = join_into(&in_room(&five, MediaMode::Sfu), &sfu_limits());
    assert!(!sixth.to_sfu);
    assert_eq!(frames(&sixth).len(), 2);
    assert_eq!(frames(&sixth)[0].1["media"], "sfu");
}

#[test]
fn without_an_sfu_a_room_is_a_mesh_as_before() {
    let seven = people(7);
    let outcome = join_into(&view(&seven), &Limits::default());
    assert!(!outcome.to_sfu);
    let welcome = &frames(&outcome)[0].1;
    assert_eq!(welcome["media"], "mesh");
    assert_eq!(welcome["limits"]["maxPeers"], 8);
    let eight = people(8);
    assert_eq!(
        error_code(&join_into(&view(&eight), &Limits::default())),
        "room_full"
    );
    // With an SFU the ninth gets in.
    let ninth = join_into(&in_room(&eight, MediaMode::Sfu), &sfu_limits());
    assert_eq!(frames(&ninth)[0].1["type"], "welcome");
    let full = people(32);
    assert_eq!(
        error_code(&join_into(&in_room(&full, MediaMode::Sfu), &sfu_limits())),
        "room_full"
    );
}

#[test]
fn joins_one_after_another_switch_the_room_exactly_once() {
    // The room handles one frame at a time and stores the mode before the next: each join
    // finds the room as the ones before left it.
    let mut everyone: Vec<Member> = vec![];
    let mut media = MediaMode::Mesh;
    let mut switches = 0;
    for i in 0..10 {
        let io = FakeIo::new();
        io.next_id.set(100 * i);
        let text = format!(r#"{{"type":"join","nick":"joiner {i}"}}"#);
        let room = in_room(&everyone, media);
        let outcome = on_frame(
            &conn(None),
            Incoming::Text(&text),
            &room,
            &sfu_limits(),
            &io,
        );
        if outcome.to_sfu {
            switches += 1;
            media = MediaMode::Sfu;
            assert_eq!(everyone.len(), 4, "the fifth join moves the room");
        }
        everyone.push(outcome.conn.member.unwrap());
    }
    assert_eq!(switches, 1);
}

#[test]
fn admitting_knockers_past_mesh_max_moves_the_room_too() {
    let mut members = people(3);
    members[0].peer.host = true;
    let knocks: Vec<Knock> = (0..2)
        .map(|i| Knock {
            id: format!("k{i}"),
            nick: format!("knocker {i}"),
            webrtc: true,
            browser: None,
            since_ms: i,
        })
        .collect();
    let room = RoomView {
        others: refs(&members[1..]),
        knocking: knocks.iter().collect(),
        locked: true,
        media: MediaMode::Mesh,
    };
    // The host unlocks: both come in, and the room of five moves to the SFU.
    let text = r#"{"type":"lock","locked":false}"#;
    let outcome = on_frame(
        &conn(Some(&members[0])),
        Incoming::Text(text),
        &room,
        &sfu_limits(),
        &FakeIo::new(),
    );
    assert!(outcome.to_sfu);
    let sends = frames(&outcome);
    let media = (sends.iter().position(|(_, f)| f["type"] == "media")).unwrap();
    let first_joined = (sends.iter().position(|(_, f)| f["type"] == "peer_joined")).unwrap();
    assert!(media < first_joined);
    assert_eq!(
        sends[media].0,
        Target::AllBut(vec!["k0".into(), "k1".into()])
    );
    let welcomes: Vec<_> = (sends.iter())
        .filter(|(_, f)| f["type"] == "welcome")
        .map(|(_, f)| f["media"].clone())
        .collect();
    assert_eq!(welcomes, [json!("sfu"), json!("sfu")]);
}

#[test]
fn sfu_calls_are_refused_clearly() {
    let me = on_sfu("a", "ann", &[Mic]);
    let bob = on_sfu("b", "bob", &[Camera]);
    let cy = member("c", "cy");
    let others = [bob.clone(), cy];
    let sfu_room = in_room(&others, MediaMode::Sfu);
    let refused = |me: &Member, text: &str, room: &RoomView| sfu_refusal(&act(me, text, room));

    let session = r#"{"type":"sfu","req":7,"call":"session"}"#;
    assert_eq!(
        refused(&me, session, &in_room(&others, MediaMode::Mesh)),
        (7, "not_sfu".into())
    );
    assert_eq!(
        refused(&chat_only("z", "zed"), session, &sfu_room),
        (7, "chat_only".into())
    );
    let subscribe = |id: &str, kind: &str| {
        format!(
            r#"{{"type":"sfu","req":3,"call":"subscribe","tracks":[{{"id":"{id}","kind":"{kind}"}}]}}"#
        )
    };
    let no_session = member("a", "ann");
    assert_eq!(
        refused(&no_session, &subscribe("b", "camera"), &sfu_room),
        (3, "no_session".into())
    );
    assert_eq!(
        refused(&me, &subscribe("nobody", "camera"), &sfu_room),
        (3, "unknown_peer".into())
    );
    assert_eq!(
        refused(&me, &subscribe("a", "mic"), &sfu_room),
        (3, "unknown_peer".into())
    );
    // Bob publishes his camera, not his microphone; Cy has no session at all.
    assert_eq!(
        refused(&me, &subscribe("b", "mic"), &sfu_room),
        (3, "no_track".into())
    );
    assert_eq!(
        refused(&me, &subscribe("c", "camera"), &sfu_room),
        (3, "no_track".into())
    );
    // A layer change names cameras as a subscription does, with the same refusals.
    let layer = |id: &str| {
        format!(
            r#"{{"type":"sfu","req":4,"call":"layer","tracks":[{{"id":"{id}","kind":"camera","layer":"low"}}]}}"#
        )
    };
    assert_eq!(
        refused(&no_session, &layer("b"), &sfu_room),
        (4, "no_session".into())
    );
    assert_eq!(
        refused(&me, &layer("nobody"), &sfu_room),
        (4, "unknown_peer".into())
    );
    assert_eq!(
        refused(&me, &layer("a"), &sfu_room),
        (4, "unknown_peer".into())
    );
    assert_eq!(refused(&me, &layer("c"), &sfu_room), (4, "no_track".into()));
    assert_eq!(
        refused(&me, &layer("b"), &in_room(&others, MediaMode::Mesh)),
        (4, "not_sfu".into())
    );
    let again = r#"{"type":"sfu","req":2,"call":"publish","offer":"v=0","tracks":[{"mid":"5","kind":"mic"}]}"#;
    assert_eq!(
        refused(&me, again, &sfu_room),
        (2, "already_published".into())
    );
    // Before joining, there is no member to answer for: the ordinary refusal.
    let before = on_frame(
        &conn(None),
        Incoming::Text(session),
        &sfu_room,
        &sfu_limits(),
        &FakeIo::new(),
    );
    assert_eq!(error_code(&before), "not_joined");
}

#[test]
fn malformed_sfu_calls_are_bad_messages() {
    let me = on_sfu("a", "ann", &[]);
    let others = [on_sfu("b", "bob", &[Camera])];
    let room = in_room(&others, MediaMode::Sfu);
    let many: Vec<Value> = (0..65)
        .map(|i| json!({"mid": i.to_string(), "kind": "mic"}))
        .collect();
    let too_many = json!({"type":"sfu","req":1,"call":"close","mids":(0..65).map(|i| i.to_string()).collect::<Vec<_>>()});
    for bad in [
        json!({"type":"sfu","call":"session"}),
        json!({"type":"sfu","req":-1,"call":"session"}),
        json!({"type":"sfu","req":2_147_483_648_u64,"call":"session"}),
        json!({"type":"sfu","req":1.5,"call":"session"}),
        json!({"type":"sfu","req":"1","call":"session"}),
        json!({"type":"sfu","req":1}),
        json!({"type":"sfu","req":1,"call":"shout"}),
        json!({"type":"sfu","req":1,"call":"publish","tracks":[{"mid":"0","kind":"mic"}]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":" ","tracks":[{"mid":"0","kind":"mic"}]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":[]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":many}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":[{"mid":"0","kind":"speaker"}]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":[{"mid":"0","kind":"mic"},{"mid":"1","kind":"mic"}]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":[{"mid":"0","kind":"mic"},{"mid":"0","kind":"camera"}]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":[{"mid":"a b","kind":"mic"}]}),
        json!({"type":"sfu","req":1,"call":"publish","offer":"v=0","tracks":[{"mid":"x".repeat(33),"kind":"mic"}]}),
        json!({"type":"sfu","req":1,"call":"subscribe","tracks":[{"id":"b"}]}),
        json!({"type":"sfu","req":1,"call":"subscribe","tracks":[{"id":"b","kind":"camera"},{"id":"b","kind":"camera"}]}),
        // Only cameras have layers, and only these two.
        json!({"type":"sfu","req":1,"call":"subscribe","tracks":[{"id":"b","kind":"mic","layer":"low"}]}),
        json!({"type":"sfu","req":1,"call":"subscribe","tracks":[{"id":"b","kind":"camera","layer":"medium"}]}),
        json!({"type":"sfu","req":1,"call":"layer","tracks":[]}),
        json!({"type":"sfu","req":1,"call":"layer","tracks":[{"id":"b","kind":"camera"}]}),
        json!({"type":"sfu","req":1,"call":"layer","tracks":[{"id":"b","kind":"screen","layer":"low"}]}),
        json!({"type":"sfu","req":1,"call":"layer","tracks":[{"id":"b","kind":"camera","layer":"l"}]}),
        json!({"type":"sfu","req":1,"call":"layer","tracks":[{"id":"b","kind":"camera","layer":"low"},{"id":"b","kind":"camera","layer":"high"}]}),
        json!({"type":"sfu","req":1,"call":"layer","tracks":(0..65).map(|i| json!({"id":format!("p{i}"),"kind":"camera","layer":"low"})).collect::<Vec<_>>()}),
        json!({"type":"sfu","req":1,"call":"renegotiate"}),
        json!({"type":"sfu","req":1,"call":"renegotiate","answer":""}),
        json!({"type":"sfu","req":1,"call":"close","mids":[]}),
        json!({"type":"sfu","req":1,"call":"close","mids":["1","1"]}),
        json!({"type":"sfu","req":1,"call":"close","mids":["1"],"offer":""}),
        too_many,
    ] {
        let outcome = act(&me, &bad.to_string(), &room);
        assert_eq!(error_code(&outcome), "bad_message", "{bad}");
        assert!(outcome.sfu.is_empty());
    }
    // The largest request number is fine.
    let last = json!({"type":"sfu","req":2_147_483_647_u64,"call":"session"});
    assert_eq!(act(&me, &last.to_string(), &room).sfu.len(), 1);
}

#[test]
fn sfu_calls_have_a_budget_of_their_own() {
    let me = on_sfu("a", "ann", &[]);
    let room = in_room(&[], MediaMode::Sfu);
    let io = FakeIo::new();
    let limits = sfu_limits();
    let mut state = conn(Some(&me));
    let text = r#"{"type":"sfu","req":4,"call":"renegotiate","answer":"v=0"}"#;
    for _ in 0..40 {
        let outcome = on_frame(&state, Incoming::Text(text), &room, &limits, &io);
        assert_eq!(outcome.sfu.len(), 1);
        state = outcome.conn;
    }
    let over = on_frame(&state, Incoming::Text(text), &room, &limits, &io);
    assert_eq!(error_code(&over), "rate_limited");
    assert!(over.sfu.is_empty());
    // Chat has a budget apart.
    assert!(
        on_frame(&over.conn, Incoming::Text(CHAT), &room, &limits, &io)
            .chat
            .is_some()
    );
}

#[test]
fn a_session_call_asks_for_one_and_its_answer_replaces_the_old_session() {
    let me = on_sfu("a", "ann", &[Mic, Camera]);
    let room = in_room(&[], MediaMode::Sfu);
    let outcome = act(&me, r#"{"type":"sfu","req":1,"call":"session"}"#, &room);
    let (call, asked) = the_call(&outcome);
    assert_eq!(*call, ApiCall::NewSession);
    // Nothing changes until the SFU answers.
    assert!(outcome.sends.is_empty());
    assert_eq!(outcome.conn.member.as_ref(), Some(&me));

    let new = ApiAnswer {
        session_id: Some("fresh".into()),
        ..ApiAnswer::default()
    };
    let done = answered(Some(&me), call, asked, Ok(new));
    let after = done.member.as_ref().unwrap();
    assert_eq!(
        after.sfu,
        Some(SfuSession {
            id: "fresh".into(),
            published: vec![]
        })
    );
    assert!(after.peer.tracks.is_empty());
    assert_eq!(
        answer_frames(&done),
        [
            (
                Target::Sender,
                json!({"type":"sfu","req":1,"renegotiate":false,"tracks":[]})
            ),
            (
                Target::Others,
                json!({"type":"tracks","id":"a","tracks":[]})
            ),
        ]
    );
    // Everything on the old session is closed on the SFU.
    assert_eq!(done.retired, Some(retired("session-a", &["0", "1"])));
    assert!(done.cleanup.is_empty());

    // A failed call leaves the old session as it was.
    let failed = answered(
        Some(&me),
        call,
        asked,
        Err(ApiFailure::Unavailable("no answer".into())),
    );
    assert_eq!(failed.member, None);
    assert!(failed.cleanup.is_empty());
    assert_eq!(failed.retired, None);
    assert_eq!(
        answer_frames(&failed),
        [(
            Target::Sender,
            json!({"type":"sfu","req":1,"error":{"code":"sfu_unavailable","message":"no answer"}})
        )]
    );
}

#[test]
fn a_publish_records_each_track_the_sfu_took() {
    let me = on_sfu("a", "ann", &[]);
    let room = in_room(&[], MediaMode::Sfu);
    let text = r#"{"type":"sfu","req":2,"call":"publish","offer":"v=0 offer","tracks":[{"mid":"0","kind":"mic"},{"mid":"1","kind":"camera"}]}"#;
    let outcome = act(&me, text, &room);
    let (call, asked) = the_call(&outcome);
    assert_eq!(call.session(), Some("session-a"));
    assert_eq!(
        serde_json::from_str::<Value>(&call.body().unwrap()).unwrap(),
        json!({"sessionDescription":{"type":"offer","sdp":"v=0 offer"},"tracks":[
            {"location":"local","mid":"0","trackName":"mic"},
            {"location":"local","mid":"1","trackName":"camera"}]})
    );
    let answer = ApiAnswer {
        session_description: description(SdpType::Answer, "v=0 answer"),
        tracks: vec![
            result("0", None, "mic", None),
            result("1", None, "camera", Some("bad_codec: no VP8")),
        ],
        ..ApiAnswer::default()
    };
    let done = answered(Some(&me), call, asked, Ok(answer));
    let after = done.member.as_ref().unwrap();
    assert_eq!(after.peer.tracks, [Mic]);
    assert_eq!(
        after.sfu.as_ref().unwrap().published,
        [Published {
            kind: Mic,
            mid: "0".into()
        }]
    );
    assert_eq!(
        answer_frames(&done),
        [
            (
                Target::Sender,
                json!({"type":"sfu","req":2,"answer":"v=0 answer","renegotiate":false,"tracks":[
                {"mid":"0","kind":"mic"},{"mid":"1","kind":"camera","error":"bad_codec: no VP8"}]})
            ),
            (
                Target::Others,
                json!({"type":"tracks","id":"a","tracks":["mic"]})
            ),
        ]
    );
    assert!(done.cleanup.is_empty());
    // A track the SFU said nothing about is not published.
    let silent = answered(Some(&me), call, asked, Ok(ApiAnswer::default()));
    assert_eq!(silent.member.unwrap().peer.tracks, []);
}

#[test]
fn a_kind_published_meanwhile_gives_way_to_the_newer_track() {
    // Two publishes of the screen overlapped; the first answer recorded mid 4.
    let now = on_sfu("a", "ann", &[Mic, Screen]);
    let call = ApiCall::NewTracks {
        session: "session-a".into(),
        body: crate::realtime::TracksRequest {
            session_description: None,
            tracks: vec![],
        },
    };
    let screen = crate::protocol::PublishTrack {
        mid: "7".into(),
        kind: Screen,
    };
    let asked = asked("a", 9, Purpose::Publish(vec![screen]));
    let answer = ApiAnswer {
        tracks: vec![result("7", None, "screen", None)],
        ..ApiAnswer::default()
    };
    let done = answered(Some(&now), &call, &asked, Ok(answer));
    let published = &done
        .member
        .as_ref()
        .unwrap()
        .sfu
        .as_ref()
        .unwrap()
        .published;
    assert_eq!(
        published,
        &[
            Published {
                kind: Mic,
                mid: "0".into()
            },
            Published {
                kind: Screen,
                mid: "7".into()
            }
        ]
    );
    assert_eq!(done.cleanup, [forced_close("session-a", &["1"])]);
}

#[test]
fn a_subscription_names_only_members_never_sessions() {
    let me = on_sfu("a", "ann", &[]);
    let others = [on_sfu("b", "bob", &[Mic, Camera])];
    let room = in_room(&others, MediaMode::Sfu);
    let text = r#"{"type":"sfu","req":3,"call":"subscribe","tracks":[{"id":"b","kind":"camera"},{"id":"b","kind":"mic"}]}"#;
    let outcome = act(&me, text, &room);
    let (call, asked) = the_call(&outcome);
    assert_eq!(call.session(), Some("session-a"));
    assert_eq!(
        serde_json::from_str::<Value>(&call.body().unwrap()).unwrap(),
        json!({"tracks":[
            {"location":"remote","sessionId":"session-b","trackName":"camera"},
            {"location":"remote","sessionId":"session-b","trackName":"mic"}]})
    );
    // The SFU answers out of order; each result is found by its owner's session and name.
    let answer = ApiAnswer {
        session_description: description(SdpType::Offer, "v=0 sfu offer"),
        renegotiate: true,
        tracks: vec![
            result("6", Some("session-b"), "mic", None),
            result("5", Some("session-b"), "camera", None),
        ],
        ..ApiAnswer::default()
    };
    let done = answered(Some(&me), call, asked, Ok(answer));
    assert_eq!(
        answer_frames(&done),
        [(
            Target::Sender,
            json!({"type":"sfu","req":3,"offer":"v=0 sfu offer","renegotiate":true,"tracks":[
                {"mid":"5","id":"b","kind":"camera"},{"mid":"6","id":"b","kind":"mic"}]})
        )]
    );
    assert!(!done.sends[0].frame.contains("session-"));
}

#[test]
fn a_subscription_may_name_the_layer_of_a_camera() {
    let me = on_sfu("a", "ann", &[]);
    let others = [on_sfu("b", "bob", &[Mic, Camera])];
    let room = in_room(&others, MediaMode::Sfu);
    let text = r#"{"type":"sfu","req":3,"call":"subscribe","tracks":[{"id":"b","kind":"camera","layer":"low"},{"id":"b","kind":"mic"}]}"#;
    let outcome = act(&me, text, &room);
    let (call, _) = the_call(&outcome);
    assert_eq!(
        serde_json::from_str::<Value>(&call.body().unwrap()).unwrap(),
        json!({"tracks":[
            {"location":"remote","sessionId":"session-b","trackName":"camera",
             "simulcast":{"preferredRid":"l","priorityOrdering":"asciibetical","ridNotAvailable":"asciibetical"}},
            {"location":"remote","sessionId":"session-b","trackName":"mic"}]})
    );
}

/// A track in a session's state, as `GET` of a session lists it.
fn listed(mid: &str, location: &str, owner: Option<&str>, name: &str, status: &str) -> TrackResult {
    TrackResult {
        location: Some(location.into()),
        status: Some(status.into()),
        ..result(mid, owner, name, None)
    }
}

#[test]
fn a_layer_change_reads_the_session_then_updates_the_mid_receiving_each_camera() {
    let me = on_sfu("a", "ann", &[Camera]);
    let others = [
        on_sfu("b", "bob", &[Mic, Camera]),
        on_sfu("c", "cy", &[Camera]),
    ];
    let room = in_room(&others, MediaMode::Sfu);
    let text = r#"{"type":"sfu","req":9,"call":"layer","tracks":[{"id":"b","kind":"camera","layer":"high"},{"id":"c","kind":"camera","layer":"low"}]}"#;
    let outcome = act(&me, text, &room);
    assert!(outcome.sends.is_empty());
    // First the caller's own session, and nobody else's, is read.
    let (read, asked) = the_call(&outcome);
    assert_eq!(
        *read,
        ApiCall::GetSession {
            session: "session-a".into()
        }
    );
    assert_eq!(read.path(), "sessions/session-a");
    let state = ApiAnswer {
        tracks: vec![
            listed("0", "local", None, "camera", "active"),
            // Bob's camera was received on mid 3 once, closed, and is received on 7 now.
            listed("3", "remote", Some("session-b"), "camera", "inactive"),
            listed("4", "remote", Some("session-b"), "mic", "active"),
            listed("5", "remote", Some("session-c"), "camera", "active"),
            listed("7", "remote", Some("session-b"), "camera", "active"),
        ],
        ..ApiAnswer::default()
    };
    let found = answered(Some(&me), read, asked, Ok(state));
    assert_eq!((found.member.as_ref(), found.sends.len()), (None, 0));
    assert!(found.cleanup.is_empty());
    let (update, asked) = found.next.expect("the update comes next");
    assert_eq!(update.path(), "sessions/session-a/tracks/update");
    assert_eq!(update.method(), worker::Method::Put);
    let rid = |rid: &str| json!({"preferredRid":rid,"priorityOrdering":"asciibetical","ridNotAvailable":"asciibetical"});
    assert_eq!(
        serde_json::from_str::<Value>(&update.body().unwrap()).unwrap(),
        json!({"tracks":[
            {"location":"remote","mid":"7","sessionId":"session-b","trackName":"camera","simulcast":rid("h")},
            {"location":"remote","mid":"5","sessionId":"session-c","trackName":"camera","simulcast":rid("l")}]})
    );
    assert_eq!((asked.member.as_str(), asked.req), ("a", 9));

    // Each camera's own result is checked: the SFU took Bob's and refused Cy's.
    let results = ApiAnswer {
        tracks: vec![
            result(
                "5",
                Some("session-c"),
                "camera",
                Some("update_track_error: no"),
            ),
            result("7", Some("session-b"), "camera", None),
        ],
        ..ApiAnswer::default()
    };
    let done = answered(Some(&me), &update, &asked, Ok(results));
    assert_eq!(done.next, None);
    assert_eq!(
        answer_frames(&done),
        [(
            Target::Sender,
            json!({"type":"sfu","req":9,"renegotiate":false,"tracks":[
                {"mid":"7","id":"b","kind":"camera"},
                {"mid":"5","id":"c","kind":"camera","error":"update_track_error: no"}]})
        )]
    );
    assert!(!done.sends[0].frame.contains("session-"));
    // A result the SFU left out is an error too.
    let silent = answered(Some(&me), &update, &asked, Ok(ApiAnswer::default()));
    let frame = &answer_frames(&silent)[0].1;
    assert!(frame["tracks"][0]["error"].is_string(), "{frame}");
}

#[test]
fn a_layer_change_of_a_camera_not_received_is_refused_without_an_update() {
    let me = on_sfu("a", "ann", &[]);
    let others = [on_sfu("b", "bob", &[Camera])];
    let room = in_room(&others, MediaMode::Sfu);
    let text = r#"{"type":"sfu","req":2,"call":"layer","tracks":[{"id":"b","kind":"camera","layer":"low"}]}"#;
    let outcome = act(&me, text, &room);
    let (read, asked) = the_call(&outcome);
    // Only a closed copy of Bob's camera, and his microphone.
    let state = ApiAnswer {
        tracks: vec![
            listed("3", "remote", Some("session-b"), "camera", "inactive"),
            listed("4", "remote", Some("session-b"), "mic", "active"),
        ],
        ..ApiAnswer::default()
    };
    let refused = answered(Some(&me), read, asked, Ok(state));
    assert_eq!(refused.next, None);
    let sends = answer_frames(&refused);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].1["req"], 2);
    assert_eq!(sends[0].1["error"]["code"], "no_track");

    // The session was replaced while it was read: nothing is updated, and nothing is closed
    // (reading a session makes no track).
    let mut now = me.clone();
    now.sfu = Some(SfuSession {
        id: "newer".into(),
        published: vec![],
    });
    let listing = ApiAnswer {
        tracks: vec![listed("5", "remote", Some("session-b"), "camera", "active")],
        ..ApiAnswer::default()
    };
    let replaced = answered(Some(&now), read, asked, Ok(listing.clone()));
    assert_eq!((&replaced.next, replaced.cleanup.len()), (&None, 0));
    assert_eq!(answer_frames(&replaced)[0].1["error"]["code"], "no_session");
    let gone = answered(None, read, asked, Ok(listing));
    assert_eq!(
        (gone.next, gone.cleanup.len(), gone.sends.len()),
        (None, 0, 0)
    );
}

#[test]
fn a_close_unpublishes_at_once_and_forces_only_without_an_offer() {
    let me = on_sfu("a", "ann", &[Mic, Camera]);
    let room = in_room(&[], MediaMode::Sfu);
    let forced = act(
        &me,
        r#"{"type":"sfu","req":5,"call":"close","mids":["1","9"]}"#,
        &room,
    );
    let after = forced.conn.member.as_ref().unwrap();
    assert_eq!(after.peer.tracks, [Mic]);
    assert_eq!(
        frames(&forced),
        [(
            Target::Others,
            json!({"type":"tracks","id":"a","tracks":["mic"]})
        )]
    );
    let (call, asked) = the_call(&forced);
    assert_eq!(call, &forced_close("session-a", &["1", "9"]).call);
    let answer = ApiAnswer {
        tracks: vec![
            result("1", None, "camera", None),
            result(
                "9",
                None,
                "",
                Some("close_track_error: Track doesn't exist"),
            ),
        ],
        ..ApiAnswer::default()
    };
    let done = answered(Some(after), call, asked, Ok(answer));
    assert_eq!(
        answer_frames(&done),
        [(
            Target::Sender,
            json!({"type":"sfu","req":5,"renegotiate":false,"tracks":[
            {"mid":"1","kind":"camera"},{"mid":"9","error":"close_track_error: Track doesn't exist"}]})
        )]
    );

    let negotiated = act(
        &me,
        r#"{"type":"sfu","req":6,"call":"close","mids":["0"],"offer":"v=0 offer"}"#,
        &room,
    );
    let (call, _) = the_call(&negotiated);
    let ApiCall::CloseTracks { body, .. } = call else {
        panic!("{call:?}")
    };
    assert_eq!(
        *body,
        CloseTracksRequest {
            tracks: vec![crate::realtime::CloseTrackObject { mid: "0".into() }],
            force: false,
            session_description: description(SdpType::Offer, "v=0 offer"),
        }
    );
}

#[test]
fn renegotiate_passes_the_answer_on() {
    let me = on_sfu("a", "ann", &[]);
    let outcome = act(
        &me,
        r#"{"type":"sfu","req":4,"call":"renegotiate","answer":"v=0 mine"}"#,
        &in_room(&[], MediaMode::Sfu),
    );
    let (call, asked) = the_call(&outcome);
    assert_eq!(call.path(), "sessions/session-a/renegotiate");
    let done = answered(Some(&me), call, asked, Ok(ApiAnswer::default()));
    assert_eq!(
        answer_frames(&done),
        [(
            Target::Sender,
            json!({"type":"sfu","req":4,"renegotiate":false,"tracks":[]})
        )]
    );
    assert_eq!(done.member.as_ref(), Some(&me));
}

#[test]
fn an_answer_for_a_replaced_session_changes_nothing_and_closes_what_it_made() {
    let before = on_sfu("a", "ann", &[]);
    let room = in_room(&[], MediaMode::Sfu);
    let text = r#"{"type":"sfu","req":2,"call":"publish","offer":"v=0","tracks":[{"mid":"0","kind":"mic"}]}"#;
    let outcome = act(&before, text, &room);
    let (call, asked) = the_call(&outcome);
    let took = ApiAnswer {
        tracks: vec![result("0", None, "mic", None)],
        ..ApiAnswer::default()
    };
    // Meanwhile a `session` call's answer gave the member a new session.
    let mut now = before.clone();
    now.sfu = Some(SfuSession {
        id: "newer".into(),
        published: vec![],
    });
    let done = answered(Some(&now), call, asked, Ok(took.clone()));
    assert_eq!(done.member, None);
    let sends = answer_frames(&done);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].1["error"]["code"], "no_session");
    assert_eq!(done.cleanup, [forced_close("session-a", &["0"])]);

    // The caller left while the call was under way: nobody to answer, the track is closed.
    let gone = answered(None, call, asked, Ok(took.clone()));
    assert_eq!((gone.member, gone.sends.len()), (None, 0));
    assert_eq!(gone.cleanup, [forced_close("session-a", &["0"])]);
    // Someone else on that socket (a resume took it over) is not the caller either.
    let other = member("z", "zed");
    assert_eq!(answered(Some(&other), call, asked, Ok(took)).sends.len(), 0);
}

#[test]
fn a_session_the_sfu_forgot_is_forgotten_by_the_room() {
    let me = on_sfu("a", "ann", &[Camera]);
    let outcome = act(
        &me,
        r#"{"type":"sfu","req":8,"call":"renegotiate","answer":"v=0"}"#,
        &in_room(&[], MediaMode::Sfu),
    );
    let (call, asked) = the_call(&outcome);
    let done = answered(Some(&me), call, asked, Err(ApiFailure::SessionGone));
    let after = done.member.as_ref().unwrap();
    assert_eq!((after.sfu.as_ref(), after.peer.tracks.len()), (None, 0));
    let sends = answer_frames(&done);
    assert_eq!(sends[0].1["error"]["code"], "session_gone");
    assert_eq!(
        sends[1],
        (
            Target::Others,
            json!({"type":"tracks","id":"a","tracks":[]})
        )
    );
    let refused = answered(
        Some(&me),
        call,
        asked,
        Err(ApiFailure::Refused("invalid_sdp: nope".into())),
    );
    assert_eq!(
        answer_frames(&refused),
        [(
            Target::Sender,
            json!({"type":"sfu","req":8,"error":{"code":"sfu_refused","message":"invalid_sdp: nope"}})
        )]
    );
}

#[test]
fn a_departure_retires_the_members_session_publishing_or_not() {
    assert_eq!(
        rules::departure(&on_sfu("a", "ann", &[Mic, Screen])),
        Some(retired("session-a", &["0", "1"]))
    );
    // Someone who only receives has subscriptions to close.
    assert_eq!(
        rules::departure(&on_sfu("a", "ann", &[])),
        Some(retired("session-a", &[]))
    );
    assert_eq!(rules::departure(&member("a", "ann")), None);
}

/// A track of a session's state, as `GET …/sessions/{id}` lists it.
fn state_track(mid: Option<&str>, inactive: bool) -> TrackResult {
    TrackResult {
        mid: mid.map(Into::into),
        status: Some(if inactive { "inactive" } else { "active" }.into()),
        ..TrackResult::default()
    }
}

#[test]
fn a_retired_session_is_looked_up_then_everything_active_on_it_is_closed() {
    let old = retired("session-a", &["0", "1"]);
    assert_eq!(
        old.look_up(),
        ApiCall::GetSession {
            session: "session-a".into()
        }
    );
    // What it published and what it subscribed to, but not what is closed already (nor a
    // track without a mid, nor a mid twice).
    let state = ApiAnswer {
        tracks: vec![
            state_track(Some("0"), false),
            state_track(Some("1"), true),
            state_track(Some("2"), false),
            state_track(None, false),
            state_track(Some("7"), false),
            state_track(Some("7"), false),
        ],
        ..ApiAnswer::default()
    };
    assert_eq!(
        old.closing(Ok(state)),
        [forced_close("session-a", &["0", "2", "7"]).call]
    );
    // Nothing active: no call.
    let closed = ApiAnswer {
        tracks: vec![state_track(Some("0"), true)],
        ..ApiAnswer::default()
    };
    assert_eq!(old.closing(Ok(closed)), []);
    // A room of 32: 3 published and 31 × 3 subscribed, in calls of at most 64.
    let many = ApiAnswer {
        tracks: (0..96)
            .map(|i| state_track(Some(&i.to_string()), false))
            .collect(),
        ..ApiAnswer::default()
    };
    let calls = old.closing(Ok(many));
    let sizes: Vec<usize> = (calls.iter())
        .map(|call| match call {
            ApiCall::CloseTracks { session, body } => {
                assert_eq!((session.as_str(), body.force), ("session-a", true));
                body.tracks.len()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, [64, 32]);
    // The SFU could not say: what the room knows is published is closed all the same.
    let unavailable = Err(ApiFailure::Unavailable("no answer".into()));
    assert_eq!(
        old.closing(unavailable),
        [forced_close("session-a", &["0", "1"]).call]
    );
    assert_eq!(
        old.closing(Err(ApiFailure::Refused("x".into()))),
        [forced_close("session-a", &["0", "1"]).call]
    );
    assert_eq!(
        retired("session-a", &[]).closing(Err(ApiFailure::Unavailable("x".into()))),
        []
    );
    // The SFU forgot the session: nothing is left on it.
    assert_eq!(old.closing(Err(ApiFailure::SessionGone)), []);
}

#[test]
fn a_resume_drops_the_old_pages_session() {
    let old = on_sfu("a", "ann", &[Mic, Camera]);
    let others = [old.clone(), member("b", "bob")];
    // The old socket is still open: the new one takes its place.
    let text = r#"{"type":"join","nick":"ann","resume":"resume-a"}"#;
    let outcome = on_frame(
        &conn(None),
        Incoming::Text(text),
        &in_room(&others, MediaMode::Sfu),
        &sfu_limits(),
        &FakeIo::new(),
    );
    let back = outcome.conn.member.as_ref().unwrap();
    assert_eq!((back.peer.id.as_str(), back.sfu.as_ref()), ("a", None));
    let sends = frames(&outcome);
    assert_eq!(sends[0].1["you"]["tracks"], json!([]));
    assert_eq!(sends[0].1["media"], "sfu");
    assert_eq!(
        sends[1],
        (
            Target::Others,
            json!({"type":"tracks","id":"a","tracks":[]})
        )
    );
    assert_eq!(outcome.retired, Some(retired("session-a", &["0", "1"])));
    assert!(outcome.sfu.is_empty());

    // The old socket was gone (its session was closed then): nothing more to close.
    let mut io = FakeIo::new();
    io.departed = vec![old];
    let returned = on_frame(
        &conn(None),
        Incoming::Text(text),
        &in_room(&others[1..], MediaMode::Sfu),
        &sfu_limits(),
        &io,
    );
    let back = returned.conn.member.as_ref().unwrap();
    assert_eq!((back.sfu.as_ref(), back.peer.tracks.len()), (None, 0));
    assert!(returned.sfu.is_empty());
    assert_eq!(returned.retired, None);
}

#[test]
fn the_record_of_tracks_survives_an_eviction() {
    // Attachments are JSON text: what is stored is what comes back.
    let stored = conn(Some(&on_sfu("a", "ann", &[Mic, Camera])));
    let text = serde_json::to_string(&stored).unwrap();
    assert_eq!(serde_json::from_str::<Conn>(&text).unwrap(), stored);
    // An attachment from before the SFU: no session, no tracks, a full `sfu` budget.
    let old = r#"{"member":{"peer":{"id":"a","nick":"ann","muted":false,"camera":true,"screen":false,"joinedAt":1},"resume":"r"},
        "budget":{"chat":{"spent":0.0,"at_ms":0},"signal":{"spent":0.0,"at_ms":0},"refusals":{"spent":0.0,"at_ms":0}},"seen_ms":1}"#;
    let conn: Conn = serde_json::from_str(old).unwrap();
    let member = conn.member.unwrap();
    assert_eq!((member.sfu, member.peer.tracks), (None, vec![]));
    // And a member record stays under the attachment limit with a session and every kind.
    let full = on_sfu(&"f".repeat(16), &"n".repeat(32), &[Mic, Camera, Screen]);
    let attachment = serde_json::to_string(&Conn {
        member: Some(full),
        ..Conn::default()
    })
    .unwrap();
    assert!(attachment.len() < 1024, "{}", attachment.len());
}

#[test]
fn the_request_number_comes_back_as_sent() {
    let request: SfuRequest =
        serde_json::from_str(r#"{"type":"sfu","req":2147483647,"call":"session"}"#).unwrap();
    assert_eq!(request.req, 2_147_483_647);
}
