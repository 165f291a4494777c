//! Hosts, the door, hands and reactions (docs/protocol.md, "Hosts").
use super::*;

fn host(id: &str, nick: &str) -> Member {
    let mut member = member(id, nick);
    member.peer.host = true;
    member
}

fn knock(id: &str, nick: &str, since_ms: u64) -> Knock {
    Knock {
        id: id.into(),
        nick: nick.into(),
        webrtc: true,
        browser: Some(format!("{id:0>16}")),
        since_ms,
    }
}

fn room<'a>(others: &'a [Member], knocking: &'a [Knock], locked: bool) -> RoomView<'a> {
    RoomView {
        others: refs(others),
        knocking: knocking.iter().collect(),
        locked,
        media: MediaMode::Mesh,
    }
}

/// A frame from `me` (or from a fresh socket) in `room`.
fn act(io: &FakeIo, me: Option<&Member>, text: &str, room: &RoomView) -> Outcome {
    on_frame(
        &conn(me),
        Incoming::Text(text),
        room,
        &Limits::default(),
        io,
    )
}

fn types(outcome: &Outcome) -> Vec<(Target, String)> {
    (frames(outcome).into_iter())
        .map(|(to, frame)| (to, frame["type"].as_str().unwrap().to_owned()))
        .collect()
}

fn peer(id: &str) -> Target {
    Target::Peer(id.into())
}

#[test]
fn the_first_person_into_a_room_without_a_host_is_its_host() {
    let io = FakeIo::new();
    let first = act(
        &io,
        None,
        r#"{"type":"join","nick":"ann"}"#,
        &room(&[], &[], false),
    );
    assert!(first.conn.member.as_ref().unwrap().peer.host);
    assert_eq!(frames(&first)[0].1["you"]["host"], true);
    let second = act(
        &io,
        None,
        r#"{"type":"join","nick":"bob"}"#,
        &room(&[host("a", "ann")], &[], false),
    );
    assert!(!second.conn.member.unwrap().peer.host);
}

#[test]
fn nobody_new_becomes_host_while_a_lost_host_may_come_back() {
    let mut io = FakeIo::new();
    io.host_away = true;
    let alone = act(
        &io,
        None,
        r#"{"type":"join","nick":"bob"}"#,
        &room(&[], &[], false),
    );
    assert!(!alone.conn.member.unwrap().peer.host);
}

#[test]
fn every_host_action_from_someone_not_a_host_is_forbidden_and_the_socket_stays() {
    let io = FakeIo::new();
    let me = member("b", "bob");
    let others = [host("a", "ann"), member("c", "cy")];
    let knocks = [knock("k", "kim", 1)];
    for frame in [
        r#"{"type":"lock","locked":true}"#,
        r#"{"type":"admit","id":"k"}"#,
        r#"{"type":"deny","id":"k"}"#,
        r#"{"type":"remove","id":"c"}"#,
        r#"{"type":"mute","id":"c"}"#,
        r#"{"type":"mute_all"}"#,
        r#"{"type":"stop_screen","id":"c"}"#,
        r#"{"type":"ask_unmute","id":"c"}"#,
        r#"{"type":"host","id":"c","host":true}"#,
        r#"{"type":"hand","raised":false,"id":"c"}"#,
    ] {
        let outcome = act(&io, Some(&me), frame, &room(&others, &knocks, true));
        assert_eq!(error_code(&outcome), "forbidden", "{frame}");
        assert_eq!(outcome.close, None, "{frame}");
        assert!(
            outcome.updates.is_empty() && outcome.close_others.is_empty(),
            "{frame}"
        );
    }
}

#[test]
fn host_actions_on_oneself_or_on_nobody_here_are_unknown_peers() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    for id in ["a", "x", "someone-in-another-room"] {
        for kind in [
            "remove",
            "mute",
            "stop_screen",
            "ask_unmute",
            "admit",
            "deny",
        ] {
            let frame = format!(r#"{{"type":"{kind}","id":"{id}"}}"#);
            let outcome = act(&io, Some(&me), &frame, &room(&others, &[], false));
            assert_eq!(error_code(&outcome), "unknown_peer", "{frame}");
        }
    }
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"host","id":"a","host":true}"#,
        &room(&others, &[], false),
    );
    assert_eq!(error_code(&outcome), "unknown_peer");
}

#[test]
fn locking_tells_everyone_and_is_stored_and_the_same_state_again_changes_nothing() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"lock","locked":true}"#,
        &room(&others, &[], false),
    );
    assert_eq!(outcome.lock, Some(true));
    assert_eq!(
        frames(&outcome),
        vec![(
            Target::AllBut(vec![]),
            json!({"type": "room", "locked": true, "by": "a"})
        )]
    );
    let again = act(
        &io,
        Some(&me),
        r#"{"type":"lock","locked":true}"#,
        &room(&others, &[], true),
    );
    assert_eq!(
        again,
        Outcome {
            conn: again.conn.clone(),
            ..Outcome::default()
        }
    );
}

#[test]
fn a_join_at_a_locked_door_knocks_and_only_hosts_hear_it() {
    let io = FakeIo::new();
    let others = [host("a", "ann"), member("b", "bob")];
    let outcome = act(
        &io,
        None,
        r#"{"type":"join","nick":" kim ","browser":"00112233445566778899aabbccddeeff"}"#,
        &room(&others, &[], true),
    );
    let knock = outcome.conn.knock.clone().expect("knocking");
    assert_eq!((knock.id.as_str(), knock.nick.as_str()), ("id1", "kim"));
    assert_eq!(
        knock.browser.as_deref(),
        Some("00112233445566778899aabbccddeeff")
    );
    assert!(outcome.conn.member.is_none());
    assert!(!outcome.count_changed);
    assert_eq!(
        frames(&outcome),
        vec![
            (Target::Sender, json!({"type": "knocking"})),
            (
                Target::Hosts,
                json!({"type": "knock", "id": "id1", "nick": "kim"})
            ),
        ]
    );
}

#[test]
fn a_resume_token_walks_through_a_locked_door() {
    let mut io = FakeIo::new();
    io.departed = vec![member("b", "bob")];
    let others = [host("a", "ann")];
    let outcome = act(
        &io,
        None,
        r#"{"type":"join","nick":"bob","resume":"resume-b"}"#,
        &room(&others, &[], true),
    );
    assert_eq!(outcome.conn.member.as_ref().unwrap().peer.id, "b");
    assert_eq!(frames(&outcome)[0].1["locked"], true);
}

#[test]
fn knocks_are_bounded_at_once_and_over_time() {
    let limits = Limits {
        max_knocking: 2,
        ..Limits::default()
    };
    let others = [host("a", "ann")];
    let knocks = [knock("k1", "kim", 1), knock("k2", "ken", 2)];
    let join = r#"{"type":"join","nick":"lee"}"#;
    let io = FakeIo::new();
    let full = on_frame(
        &conn(None),
        Incoming::Text(join),
        &room(&others, &knocks, true),
        &limits,
        &io,
    );
    assert_eq!(error_code(&full), "knock_limit");
    assert_eq!(full.close, Some(close::KNOCK_LIMIT));
    io.knocks_left.set(0);
    let spent = on_frame(
        &conn(None),
        Incoming::Text(join),
        &room(&others, &knocks[..1], true),
        &limits,
        &io,
    );
    assert_eq!(error_code(&spent), "knock_limit");
    assert_eq!(spent.close, Some(close::KNOCK_LIMIT));
}

#[test]
fn a_knock_name_may_not_look_like_a_member_or_another_knocker() {
    let io = FakeIo::new();
    let others = [host("a", "ann")];
    let knocks = [knock("k", "kim", 1)];
    for nick in ["ANN", "KIM", "\u{200b}"] {
        let frame = format!(r#"{{"type":"join","nick":"{nick}"}}"#);
        let outcome = act(&io, None, &frame, &room(&others, &knocks, true));
        assert!(
            ["nick_taken", "bad_nick"].contains(&error_code(&outcome).as_str()),
            "{nick}"
        );
        assert!(outcome.conn.knock.is_none());
    }
}

#[test]
fn someone_knocking_can_only_wait_or_give_up() {
    let io = FakeIo::new();
    let waiting = Conn {
        knock: Some(knock("k", "kim", 1)),
        ..Conn::default()
    };
    let others = [host("a", "ann")];
    let view = room(&others, &[], true);
    let step = |text: &str| {
        on_frame(
            &waiting,
            Incoming::Text(text),
            &view,
            &Limits::default(),
            &io,
        )
    };
    assert_eq!(error_code(&step(CHAT)), "not_joined");
    assert_eq!(
        error_code(&step(r#"{"type":"react","emoji":"👍"}"#)),
        "not_joined"
    );
    assert_eq!(
        error_code(&step(r#"{"type":"join","nick":"kim"}"#)),
        "already_joined"
    );
    let leave = step(r#"{"type":"leave"}"#);
    assert_eq!(leave.close, Some(close::NORMAL));
    assert!(leave.sends.is_empty());
}

#[test]
fn an_admitted_knocker_is_welcomed_the_others_told_and_the_hosts_too() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    let knocks = [knock("k", "kim", 1)];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"admit","id":"k"}"#,
        &room(&others, &knocks, true),
    );
    assert!(outcome.count_changed);
    let [admitted] = &outcome.updates[..] else {
        panic!("{:?}", outcome.updates)
    };
    assert_eq!(
        (admitted.peer.id.as_str(), admitted.peer.nick.as_str()),
        ("k", "kim")
    );
    assert!(!admitted.peer.host);
    assert_eq!(admitted.browser, knocks[0].browser);
    let sends = frames(&outcome);
    assert_eq!(sends[0].0, peer("k"));
    assert_eq!(sends[0].1["type"], "welcome");
    let ids: Vec<_> = sends[0].1["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("b"), json!("a")]);
    assert_eq!(
        (sends[0].1["count"].clone(), sends[0].1["locked"].clone()),
        (json!(3), json!(true))
    );
    assert_eq!(sends[1].0, Target::AllBut(vec!["k".into()]));
    assert_eq!(
        (sends[1].1["type"].clone(), sends[1].1["count"].clone()),
        (json!("peer_joined"), json!(3))
    );
    assert_eq!(
        sends[2],
        (
            Target::Hosts,
            json!({"type": "knock_ended", "id": "k", "outcome": "admitted"})
        )
    );
}

#[test]
fn a_host_cannot_admit_into_a_full_room_and_the_knock_waits() {
    let io = FakeIo::new();
    let limits = Limits {
        max_peers: 2,
        ..Limits::default()
    };
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    let knocks = [knock("k", "kim", 1)];
    let view = room(&others, &knocks, true);
    let outcome = on_frame(
        &conn(Some(&me)),
        Incoming::Text(r#"{"type":"admit","id":"k"}"#),
        &view,
        &limits,
        &io,
    );
    assert_eq!(error_code(&outcome), "room_full");
    assert_eq!(outcome.close, None);
    assert!(outcome.updates.is_empty() && outcome.close_others.is_empty());
}

#[test]
fn a_denied_knocker_is_told_who_and_closed_and_the_hosts_hear() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let knocks = [knock("k", "kim", 1)];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"deny","id":"k"}"#,
        &room(&[], &knocks, true),
    );
    assert_eq!(outcome.close_others, vec![("k".to_owned(), close::DENIED)]);
    assert_eq!(
        frames(&outcome),
        vec![
            (
                peer("k"),
                json!({"type": "error", "code": "denied", "message": "ann did not let you in", "hostNick": "ann"})
            ),
            (
                Target::Hosts,
                json!({"type": "knock_ended", "id": "k", "outcome": "denied"})
            ),
        ]
    );
}

#[test]
fn unlocking_lets_everyone_waiting_in_oldest_first_as_far_as_there_is_room() {
    let io = FakeIo::new();
    let limits = Limits {
        max_peers: 4,
        ..Limits::default()
    };
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    let knocks = [
        knock("k1", "kim", 1),
        knock("k2", "ken", 2),
        knock("k3", "kai", 3),
    ];
    let view = room(&others, &knocks, true);
    let frame = Incoming::Text(r#"{"type":"lock","locked":false}"#);
    let outcome = on_frame(&conn(Some(&me)), frame, &view, &limits, &io);
    assert_eq!(outcome.lock, Some(false));
    let admitted: Vec<_> = outcome.updates.iter().map(|m| m.peer.id.as_str()).collect();
    assert_eq!(admitted, ["k1", "k2"]);
    assert_eq!(
        outcome.close_others,
        vec![("k3".to_owned(), close::ROOM_FULL)]
    );
    let sends = frames(&outcome);
    // Those let in hear of the unlock from their welcome, not before it.
    let let_in = Target::AllBut(vec!["k1".into(), "k2".into()]);
    assert_eq!(
        sends[0],
        (let_in, json!({"type": "room", "locked": false, "by": "a"}))
    );
    // Kim's welcome lists those before her; Ken's lists Kim too, and Kim learns of Ken from
    // his peer_joined, which Ken himself does not get.
    assert_eq!(
        (
            sends[1].0.clone(),
            sends[1].1["peers"].as_array().unwrap().len()
        ),
        (peer("k1"), 2)
    );
    assert_eq!(sends[1].1["locked"], false);
    assert_eq!(sends[2].0, Target::AllBut(vec!["k1".into(), "k2".into()]));
    assert_eq!(
        (
            sends[4].0.clone(),
            sends[4].1["peers"].as_array().unwrap().len()
        ),
        (peer("k2"), 3)
    );
    assert_eq!(sends[5].0, Target::AllBut(vec!["k2".into()]));
    assert_eq!(sends[5].1["count"], 4);
    assert_eq!(
        sends[7],
        (
            peer("k3"),
            json!({"type": "error", "code": "room_full", "message": "this room is full (4 people)"})
        )
    );
    assert_eq!(sends[8].1["outcome"], "left");
}

#[test]
fn a_removed_member_is_told_closed_and_their_browser_kept_out() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let mut bob = member("b", "bob");
    bob.browser = Some("b0b0b0b0b0b0b0b0".into());
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"remove","id":"b"}"#,
        &room(&[bob], &[], false),
    );
    assert_eq!(outcome.close_others, vec![("b".to_owned(), close::REMOVED)]);
    assert_eq!(outcome.ban.as_deref(), Some("b0b0b0b0b0b0b0b0"));
    assert_eq!(
        frames(&outcome),
        vec![(
            peer("b"),
            json!({"type": "error", "code": "removed", "message": "ann removed you from the room", "hostNick": "ann"})
        )]
    );
}

#[test]
fn a_removed_browser_cannot_join_again() {
    let mut io = FakeIo::new();
    io.removed = vec!["b0b0b0b0b0b0b0b0"];
    let frame = r#"{"type":"join","nick":"bob","browser":"b0b0b0b0b0b0b0b0"}"#;
    for locked in [false, true] {
        let outcome = act(&io, None, frame, &room(&[host("a", "ann")], &[], locked));
        assert_eq!(error_code(&outcome), "removed");
        assert_eq!(outcome.close, Some(close::REMOVED));
    }
}

#[test]
fn a_browser_key_must_be_hex_of_a_sane_length() {
    let io = FakeIo::new();
    for bad in [
        r#""abc""#,
        r#""ABCDEF0123456789""#,
        "7",
        "null",
        &format!("\"{}\"", "a".repeat(65)),
    ] {
        let frame = format!(r#"{{"type":"join","nick":"bob","browser":{bad}}}"#);
        let outcome = act(&io, None, &frame, &room(&[], &[], false));
        assert_eq!(error_code(&outcome), "bad_message", "{bad}");
    }
}

#[test]
fn a_host_mutes_by_changing_the_record_for_everyone_to_see() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"mute","id":"b"}"#,
        &room(&others, &[], false),
    );
    assert!(outcome.updates[0].peer.muted);
    assert_eq!(
        frames(&outcome),
        vec![(
            Target::Everyone,
            json!({"type": "state", "id": "b", "muted": true, "camera": true, "screen": false, "by": "a"})
        )]
    );
    let mut muted = member("b", "bob");
    muted.peer.muted = true;
    let again = act(
        &io,
        Some(&me),
        r#"{"type":"mute","id":"b"}"#,
        &room(&[muted], &[], false),
    );
    assert!(again.sends.is_empty() && again.updates.is_empty());
}

#[test]
fn mute_all_mutes_everyone_unmuted_but_the_host() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let mut muted = member("c", "cy");
    muted.peer.muted = true;
    let others = [member("b", "bob"), muted, member("d", "dee")];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"mute_all"}"#,
        &room(&others, &[], false),
    );
    let muted: Vec<_> = outcome.updates.iter().map(|m| m.peer.id.as_str()).collect();
    assert_eq!(muted, ["b", "d"]);
    assert!(!outcome.conn.member.unwrap().peer.muted);
    assert_eq!(outcome.sends.len(), 2);
}

#[test]
fn a_host_stops_a_share_and_only_a_running_one() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let mut sharing = member("b", "bob");
    sharing.peer.screen = true;
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"stop_screen","id":"b"}"#,
        &room(&[sharing], &[], false),
    );
    assert!(!outcome.updates[0].peer.screen);
    assert_eq!(frames(&outcome)[0].1["by"], "a");
    let idle = act(
        &io,
        Some(&me),
        r#"{"type":"stop_screen","id":"b"}"#,
        &room(&[member("b", "bob")], &[], false),
    );
    assert!(idle.sends.is_empty());
}

#[test]
fn a_host_can_only_ask_someone_muted_to_unmute() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let mut muted = member("b", "bob");
    muted.peer.muted = true;
    let others = [muted, member("c", "cy"), chat_only("d", "dee")];
    let view = room(&others, &[], false);
    let asked = act(&io, Some(&me), r#"{"type":"ask_unmute","id":"b"}"#, &view);
    assert_eq!(
        frames(&asked),
        vec![(peer("b"), json!({"type": "ask_unmute", "by": "a"}))]
    );
    assert!(asked.updates.is_empty(), "only the person can unmute");
    assert_eq!(
        error_code(&act(
            &io,
            Some(&me),
            r#"{"type":"ask_unmute","id":"c"}"#,
            &view
        )),
        "bad_message"
    );
    assert_eq!(
        error_code(&act(
            &io,
            Some(&me),
            r#"{"type":"ask_unmute","id":"d"}"#,
            &view
        )),
        "chat_only"
    );
}

#[test]
fn a_new_host_is_announced_and_shown_who_is_knocking() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let others = [member("b", "bob")];
    let knocks = [knock("k", "kim", 1)];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"host","id":"b","host":true}"#,
        &room(&others, &knocks, true),
    );
    assert!(outcome.updates[0].peer.host);
    assert_eq!(
        frames(&outcome),
        vec![
            (
                Target::Everyone,
                json!({"type": "host", "id": "b", "host": true, "by": "a"})
            ),
            (
                peer("b"),
                json!({"type": "knock", "id": "k", "nick": "kim"})
            ),
        ]
    );
}

#[test]
fn hosts_cannot_take_the_role_from_each_other() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let others = [host("b", "bob")];
    let outcome = act(
        &io,
        Some(&me),
        r#"{"type":"host","id":"b","host":false}"#,
        &room(&others, &[], false),
    );
    assert_eq!(error_code(&outcome), "forbidden");
    let already = act(
        &io,
        Some(&me),
        r#"{"type":"host","id":"b","host":true}"#,
        &room(&others, &[], false),
    );
    assert!(already.sends.is_empty());
}

#[test]
fn giving_up_the_role_hands_it_to_the_member_here_longest_unless_another_host_remains() {
    let io = FakeIo::new();
    let me = host("a", "ann");
    let mut early = member("c", "cy");
    early.peer.joined_at = 0;
    let others = [member("b", "bob"), early];
    let give_up = r#"{"type":"host","id":"a","host":false}"#;
    let outcome = act(&io, Some(&me), give_up, &room(&others, &[], false));
    assert!(!outcome.conn.member.as_ref().unwrap().peer.host);
    assert_eq!(outcome.updates[0].peer.id, "c");
    assert_eq!(
        frames(&outcome),
        vec![
            (
                Target::Everyone,
                json!({"type": "host", "id": "a", "host": false, "by": "a"})
            ),
            (
                Target::Everyone,
                json!({"type": "host", "id": "c", "host": true, "by": null})
            ),
        ]
    );
    let cohost = [host("b", "bob")];
    let outcome = act(&io, Some(&me), give_up, &room(&cohost, &[], false));
    assert!(outcome.updates.is_empty());
    assert_eq!(outcome.sends.len(), 1);
    assert_eq!(
        error_code(&act(&io, Some(&me), give_up, &room(&[], &[], false))),
        "forbidden"
    );
}

#[test]
fn the_room_hands_the_role_on_only_when_no_host_is_here_or_on_the_way_back() {
    let mut io = FakeIo::new();
    let limits = Limits::default();
    let mut early = member("c", "cy");
    early.peer.joined_at = 0;
    let others = [member("b", "bob"), early];
    let settled = settle(&room(&others, &[], false), &limits, &io);
    assert_eq!(settled.updates[0].peer.id, "c");
    assert_eq!(
        frames(&settled)[0],
        (
            Target::Everyone,
            json!({"type": "host", "id": "c", "host": true, "by": null})
        )
    );
    assert_eq!(
        settle(
            &room(&[host("a", "ann"), member("b", "bob")], &[], false),
            &limits,
            &io
        ),
        Outcome::default()
    );
    io.host_away = true;
    assert_eq!(
        settle(&room(&others, &[], true), &limits, &io),
        Outcome::default()
    );
}

#[test]
fn an_empty_locked_room_with_nobody_to_answer_opens_its_door() {
    let io = FakeIo::new();
    let knocks = [knock("k1", "kim", 1), knock("k2", "ken", 2)];
    let settled = settle(&room(&[], &knocks, true), &Limits::default(), &io);
    assert_eq!(settled.lock, Some(false));
    let hosts: Vec<_> = settled
        .updates
        .iter()
        .map(|m| (m.peer.id.as_str(), m.peer.host))
        .collect();
    assert_eq!(hosts, [("k1", true), ("k2", false)]);
    // Kim, host now, is told nobody else is waiting: everyone came in.
    let sends = frames(&settled);
    assert_eq!(sends[0].1["knocking"], json!([]));
    assert!(types(&settled)
        .iter()
        .all(|(_, kind)| kind != "knock_ended"));
    let empty = settle(&room(&[], &[], true), &Limits::default(), &io);
    assert_eq!((empty.lock, empty.sends.len()), (Some(false), 0));
}

#[test]
fn a_host_joining_or_resuming_sees_who_is_knocking_and_nobody_else_does() {
    let mut io = FakeIo::new();
    io.departed = vec![host("a", "ann")];
    let knocks = [knock("k", "kim", 1)];
    let others = [member("b", "bob")];
    let back = act(
        &io,
        None,
        r#"{"type":"join","nick":"ann","resume":"resume-a"}"#,
        &room(&others, &knocks, true),
    );
    let welcome = &frames(&back)[0].1;
    assert_eq!(welcome["you"]["host"], true);
    assert_eq!(welcome["knocking"], json!([{"id": "k", "nick": "kim"}]));
    let bob = act(
        &io,
        None,
        r#"{"type":"join","nick":"bo","resume":"resume-b"}"#,
        &room(&[host("a", "ann")], &knocks, false),
    );
    assert_eq!(frames(&bob)[0].1["knocking"], json!([]));
}

#[test]
fn hands_go_up_once_in_order_and_come_down_by_their_owner_or_a_host() {
    let io = FakeIo::new();
    let me = member("b", "bob");
    let view = room(&[], &[], false);
    let up = act(&io, Some(&me), r#"{"type":"hand","raised":true}"#, &view);
    let at = io.now_ms();
    assert_eq!(up.conn.member.as_ref().unwrap().peer.hand, Some(at));
    assert_eq!(
        frames(&up),
        vec![(
            Target::Everyone,
            json!({"type": "hand", "id": "b", "hand": at, "by": "b"})
        )]
    );
    io.now_ms.set(at + 5);
    let raised = up.conn.member.unwrap();
    let again = act(
        &io,
        Some(&raised),
        r#"{"type":"hand","raised":true,"id":"b"}"#,
        &view,
    );
    assert!(again.sends.is_empty());
    assert_eq!(
        again.conn.member.unwrap().peer.hand,
        Some(at),
        "the first raise keeps its place"
    );
    let down = act(
        &io,
        Some(&raised),
        r#"{"type":"hand","raised":false}"#,
        &view,
    );
    assert_eq!(frames(&down)[0].1["hand"], Value::Null);

    let hands = [raised.clone()];
    let lowered = act(
        &io,
        Some(&host("a", "ann")),
        r#"{"type":"hand","raised":false,"id":"b"}"#,
        &room(&hands, &[], false),
    );
    assert_eq!(lowered.updates[0].peer.hand, None);
    assert_eq!(frames(&lowered)[0].1["by"], "a");
    let not_mine = act(
        &io,
        Some(&host("a", "ann")),
        r#"{"type":"hand","raised":true,"id":"b"}"#,
        &room(&hands, &[], false),
    );
    assert_eq!(error_code(&not_mine), "bad_message");
    let bad = act(&io, Some(&me), r#"{"type":"hand","raised":"yes"}"#, &view);
    assert_eq!(error_code(&bad), "bad_message");
}

#[test]
fn reactions_are_a_fixed_set_relayed_to_everyone_and_never_kept() {
    let io = FakeIo::new();
    let me = member("b", "bob");
    let view = room(&[], &[], false);
    for emoji in crate::protocol::REACTIONS {
        let frame = json!({"type": "react", "emoji": emoji}).to_string();
        let outcome = act(&io, Some(&me), &frame, &view);
        assert_eq!(
            frames(&outcome),
            vec![(
                Target::Everyone,
                json!({"type": "reaction", "from": "b", "emoji": emoji})
            )]
        );
        assert_eq!(outcome.chat, None);
    }
    for bad in [r#""💩""#, r#""❤""#, r#""👍👍""#, "1", "null"] {
        let frame = format!(r#"{{"type":"react","emoji":{bad}}}"#);
        assert_eq!(
            error_code(&act(&io, Some(&me), &frame, &view)),
            "bad_message",
            "{bad}"
        );
    }
}

#[test]
fn a_knock_nobody_answers_times_out_and_the_join_timeout_does_not_apply() {
    let limits = Limits::default();
    let waiting = Conn {
        opened_ms: 0,
        knock: Some(knock("k", "kim", 1_000)),
        ..Conn::default()
    };
    assert_eq!(
        overdue(&waiting, 0, limits.join_timeout_ms + 10, &limits),
        None
    );
    assert_eq!(
        overdue(&waiting, 0, 1_000 + limits.knock_timeout_ms, &limits),
        None
    );
    assert_eq!(
        overdue(&waiting, 0, 1_001 + limits.knock_timeout_ms, &limits),
        Some(close::KNOCK_TIMEOUT)
    );
}
