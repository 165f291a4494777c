//! The SFU's side of a room (docs/protocol.md, "Rooms that grow: mesh and SFU"): when a room
//! moves to the SFU, what an `sfu` call may do and which API call it makes, what the API's
//! answer means for the caller and for the room, and what a departure or a resume leaves to
//! close. Pure: the Durable Object (`room::sfu_calls`) makes the calls and brings each answer
//! back here, with the caller's record as it is by then.
//!
//! The client never names a session or a track: the room keeps each member's session and what
//! it publishes (`SfuSession`, in the member's attachment) and fills them in. So a member acts
//! only on its own session, and subscribes only to tracks of people in the same room.
//!
//! A layer change (`layer`) takes two API calls: the room does not keep what each member
//! receives (an attachment has room for about 2 KB, and a member of a full room receives 31
//! cameras), so it first reads the caller's session from the SFU to find the mid that receives
//! each camera named, then points those at the layer wanted (`tracks/update`).
use serde::{Deserialize, Serialize};

use super::{Member, Outcome, Refusal, RoomView, Send, Target};
use crate::config::Limits;
use crate::protocol::{
    ErrorCode, LayerTrack, MediaMode, PublishTrack, ServerFrame, SfuCall, SfuError, SfuRequest,
    SfuTrack, SubscribeTrack, TrackKind,
};
use crate::realtime::{
    ApiAnswer, ApiCall, ApiFailure, ApiResult, Location, RenegotiateRequest, SdpType,
    SessionDescription, Simulcast, TrackObject, TrackResult, TracksRequest,
};

/// The most tracks one call may name: what the API takes in one call.
pub const MAX_TRACKS: usize = 64;
/// The longest mid accepted (browsers number their transceivers).
const MAX_MID_CHARS: usize = 32;

/// A member's session on the SFU, as the room keeps it in the member's attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SfuSession {
    pub id: String,
    /// What the member publishes, in `TrackKind` order, each kind at most once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<Published>,
}

/// One published track: its kind (also its name on the SFU) and its transceiver's mid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub kind: TrackKind,
    pub mid: String,
}

impl SfuSession {
    fn publishes(&self, kind: TrackKind) -> bool {
        self.published.iter().any(|p| p.kind == kind)
    }

    fn mids(&self) -> Vec<String> {
        self.published.iter().map(|p| p.mid.clone()).collect()
    }
}

/// An API call to make once the rest of what a frame caused is carried out, and what waits
/// for its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub call: ApiCall,
    /// `None`: nobody waits (closing tracks nobody sends any more).
    pub asked: Option<Asked>,
}

/// The `sfu` call an API call answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// The caller's member id.
    pub member: String,
    pub req: u32,
    pub purpose: Purpose,
}

/// What the caller asked for, as far as its answer needs to know.
#[derive(Debug, Clone, PartialEq)]
pub enum Purpose {
    Session,
    Publish(Vec<PublishTrack>),
    /// Each track asked for, with its owner's session.
    Subscribe(Vec<(SubscribeTrack, String)>),
    /// A layer change, first step (reading the caller's session): each camera named, with its
    /// owner's session.
    FindReceivers(Vec<(LayerTrack, String)>),
    /// A layer change, second step (`tracks/update`): each camera, with the mid receiving it.
    Layer(Vec<(LayerTrack, String)>),
    Renegotiate,
    /// Each mid closed, with the kind it published, if it did.
    Close(Vec<(String, Option<TrackKind>)>),
}

/// Whether a room of `media` that a join (or an admission) brings to `members` people moves to
/// the SFU: with an SFU configured, once it has more than `mesh_max`, and only once.
pub fn switches(media: MediaMode, members: usize, limits: &Limits) -> bool {
    limits.sfu && media == MediaMode::Mesh && members > limits.mesh_max
}

/// The frame that tells the people in a room that it moved to the SFU.
pub fn switched(to: Target) -> Send {
    let frame = ServerFrame::Media {
        mode: MediaMode::Sfu,
    };
    Send {
        to,
        frame: frame.to_json(),
    }
}

/// An `sfu` call from `me`: refused, or the API call to make (and, for a close, the tracks
/// that stop being published at once).
pub(super) fn call(
    me: &mut Member,
    request: SfuRequest,
    room: &RoomView,
) -> Result<Outcome, Refusal> {
    let SfuRequest { req, call } = request;
    validate(req, &call)?;
    let refuse = |code, message: &str| Err(Refusal::sfu(req, code, message));
    if room.media != MediaMode::Sfu {
        return refuse(
            ErrorCode::NotSfu,
            "this room is a mesh: media goes browser to browser",
        );
    }
    if !me.peer.webrtc {
        let message = "you joined chat-only (without WebRTC): you cannot send or receive media";
        return refuse(ErrorCode::ChatOnly, message);
    }
    let mut outcome = Outcome::default();
    let (api, purpose) = match call {
        SfuCall::Session => (ApiCall::NewSession, Purpose::Session),
        SfuCall::Publish { offer, tracks } => {
            let session = session_of(me, req)?;
            if let Some(track) = tracks.iter().find(|t| session.publishes(t.kind)) {
                let message = format!(
                    "you publish your {} already: close it first",
                    track.kind.name()
                );
                return refuse(ErrorCode::AlreadyPublished, &message);
            }
            let objects = (tracks.iter())
                .map(|track| TrackObject {
                    location: Location::Local,
                    mid: Some(track.mid.clone()),
                    session_id: None,
                    track_name: track.kind.name().to_owned(),
                    simulcast: None,
                })
                .collect();
            let body = TracksRequest {
                session_description: Some(description(SdpType::Offer, offer)),
                tracks: objects,
            };
            let session = session.id.clone();
            (
                ApiCall::NewTracks { session, body },
                Purpose::Publish(tracks),
            )
        }
        SfuCall::Subscribe { tracks } => {
            let session = session_of(me, req)?.id.clone();
            let named = tracks.iter().map(|t| (t.id.as_str(), t.kind));
            let owners = publishers(me, named, room, req)?;
            let wanted: Vec<_> = tracks.into_iter().zip(owners).collect();
            let objects = (wanted.iter())
                .map(|(track, owner)| TrackObject {
                    location: Location::Remote,
                    mid: None,
                    session_id: Some(owner.clone()),
                    track_name: track.kind.name().to_owned(),
                    simulcast: track.layer.map(|layer| Simulcast::preferring(layer.rid())),
                })
                .collect();
            let body = TracksRequest {
                session_description: None,
                tracks: objects,
            };
            (
                ApiCall::NewTracks { session, body },
                Purpose::Subscribe(wanted),
            )
        }
        SfuCall::Layer { tracks } => {
            let session = session_of(me, req)?.id.clone();
            let named = tracks.iter().map(|t| (t.id.as_str(), t.kind));
            let owners = publishers(me, named, room, req)?;
            let wanted = tracks.into_iter().zip(owners).collect();
            (
                ApiCall::GetSession { session },
                Purpose::FindReceivers(wanted),
            )
        }
        SfuCall::Renegotiate { answer } => {
            let session = session_of(me, req)?.id.clone();
            let body = RenegotiateRequest {
                session_description: description(SdpType::Answer, answer),
            };
            (ApiCall::Renegotiate { session, body }, Purpose::Renegotiate)
        }
        SfuCall::Close { mids, offer } => {
            let session = session_of(me, req)?.clone();
            let closed = (mids.iter())
                .map(|mid| {
                    let kind = session.published.iter().find(|p| p.mid == *mid);
                    (mid.clone(), kind.map(|p| p.kind))
                })
                .collect();
            // Its sender has stopped it: whatever the SFU answers, nothing comes on it any more.
            let kept = (session.published.iter())
                .filter(|p| !mids.contains(&p.mid))
                .cloned()
                .collect();
            if let Some(told) = publish(me, kept) {
                outcome.sends.push(told);
            }
            let mut api = ApiCall::force_close(&session.id, mids);
            if let (ApiCall::CloseTracks { body, .. }, Some(offer)) = (&mut api, offer) {
                body.force = false;
                body.session_description = Some(description(SdpType::Offer, offer));
            }
            (api, Purpose::Close(closed))
        }
    };
    outcome.sfu.push(Pending {
        call: api,
        asked: Some(Asked {
            member: me.peer.id.clone(),
            req,
            purpose,
        }),
    });
    Ok(outcome)
}

/// What the room checks of an `sfu` call's fields beyond their types: a frame that breaks
/// these is not understood (`bad_message`), like any malformed frame.
fn validate(req: u32, call: &SfuCall) -> Result<(), Refusal> {
    let bad = |message: &str| Err(Refusal::new(ErrorCode::BadMessage, message));
    if req > i32::MAX as u32 {
        return bad("`req` must be an integer from 0 to 2147483647");
    }
    let sdp = |text: &str| text.trim().is_empty();
    match call {
        SfuCall::Session => Ok(()),
        SfuCall::Publish { offer, tracks } => {
            if sdp(offer) {
                return bad("`offer` must be an SDP offer");
            }
            count(tracks.len(), "tracks")?;
            mids(tracks.iter().map(|t| &t.mid))?;
            distinct(
                tracks.iter().map(|t| t.kind),
                "each kind may be published once",
            )
        }
        SfuCall::Subscribe { tracks } => {
            count(tracks.len(), "tracks")?;
            let layered = tracks.iter().filter(|t| t.layer.is_some());
            cameras(layered.map(|t| t.kind))?;
            let pairs = tracks.iter().map(|t| (&t.id, t.kind));
            distinct(pairs, "each track may be asked for once")
        }
        SfuCall::Layer { tracks } => {
            count(tracks.len(), "tracks")?;
            cameras(tracks.iter().map(|t| t.kind))?;
            let pairs = tracks.iter().map(|t| (&t.id, t.kind));
            distinct(pairs, "each track may be named once")
        }
        SfuCall::Renegotiate { answer } if sdp(answer) => bad("`answer` must be an SDP answer"),
        SfuCall::Renegotiate { .. } => Ok(()),
        SfuCall::Close {
            mids: closed,
            offer,
        } => {
            if offer.as_deref().is_some_and(sdp) {
                return bad("`offer` must be an SDP offer, or left out");
            }
            count(closed.len(), "mids")?;
            mids(closed.iter())
        }
    }
}

/// Only cameras have layers (`Layer`).
fn cameras(mut kinds: impl Iterator<Item = TrackKind>) -> Result<(), Refusal> {
    if kinds.all(|kind| kind == TrackKind::Camera) {
        return Ok(());
    }
    let message = "only a camera has layers: a screen is sent as one picture, and sound has none";
    Err(Refusal::new(ErrorCode::BadMessage, message))
}

fn count(len: usize, field: &str) -> Result<(), Refusal> {
    if (1..=MAX_TRACKS).contains(&len) {
        return Ok(());
    }
    let message = format!("`{field}` must hold 1 to {MAX_TRACKS} entries");
    Err(Refusal::new(ErrorCode::BadMessage, message))
}

/// Mids are short, visible ASCII, and each at most once.
fn mids<'a>(mids: impl Iterator<Item = &'a String> + Clone) -> Result<(), Refusal> {
    let well_formed = |mid: &String| {
        (1..=MAX_MID_CHARS).contains(&mid.len()) && mid.bytes().all(|b| b.is_ascii_graphic())
    };
    if !mids.clone().all(well_formed) {
        let message = format!("a mid is 1 to {MAX_MID_CHARS} visible ASCII characters");
        return Err(Refusal::new(ErrorCode::BadMessage, message));
    }
    distinct(mids, "each mid may be named once")
}

fn distinct<T: PartialEq>(items: impl Iterator<Item = T>, message: &str) -> Result<(), Refusal> {
    let items: Vec<T> = items.collect();
    let repeated = (items.iter().enumerate()).any(|(i, item)| items[..i].contains(item));
    if repeated {
        return Err(Refusal::new(ErrorCode::BadMessage, message));
    }
    Ok(())
}

/// The caller's session, which every call but `session` acts on.
fn session_of(me: &Member, req: u32) -> Result<&SfuSession, Refusal> {
    me.sfu.as_ref().ok_or_else(|| {
        let message = "you have no session on the SFU: make one with a `session` call";
        Refusal::sfu(req, ErrorCode::NoSession, message)
    })
}

/// The session of the member whose track each (`id`, `kind`) of a call names: someone else in
/// this room who publishes that kind now.
fn publishers<'a>(
    me: &Member,
    named: impl Iterator<Item = (&'a str, TrackKind)>,
    room: &RoomView,
    req: u32,
) -> Result<Vec<String>, Refusal> {
    let publisher = |(id, kind): (&str, TrackKind)| {
        let owner = (room.others.iter())
            .find(|m| m.peer.id == id && id != me.peer.id)
            .ok_or_else(|| {
                let message = format!("no peer {id:?} in this room (other than you)");
                Refusal::sfu(req, ErrorCode::UnknownPeer, &message)
            })?;
        let session = (owner.sfu.as_ref())
            .filter(|session| session.publishes(kind))
            .ok_or_else(|| {
                let message = format!("peer {id:?} does not publish a {} now", kind.name());
                Refusal::sfu(req, ErrorCode::NoTrack, &message)
            })?;
        Ok(session.id.clone())
    };
    named.map(publisher).collect()
}

fn description(kind: SdpType, sdp: String) -> SessionDescription {
    SessionDescription { kind, sdp }
}

/// Sets what `member` publishes on its session (in `TrackKind` order), and keeps its
/// `peer.tracks` saying so. The others are told (the `tracks` frame) when that changed.
fn publish(member: &mut Member, mut published: Vec<Published>) -> Option<Send> {
    published.sort_by_key(|p| p.kind);
    if let Some(session) = member.sfu.as_mut() {
        session.published = published;
    }
    record(member)
}

/// Gives `member` a session (or none); the others are told if what it publishes changed.
fn set_session(member: &mut Member, session: Option<SfuSession>) -> Option<Send> {
    member.sfu = session;
    record(member)
}

/// Brings `peer.tracks` in line with the session, and says so to the others if it changed.
fn record(member: &mut Member) -> Option<Send> {
    let published = (member.sfu.iter()).flat_map(|s| s.published.iter().map(|p| p.kind));
    let tracks: Vec<TrackKind> = published.collect();
    if tracks == member.peer.tracks {
        return None;
    }
    member.peer.tracks = tracks;
    let frame = ServerFrame::Tracks {
        id: &member.peer.id,
        tracks: &member.peer.tracks,
    };
    Some(Send {
        to: Target::Others,
        frame: frame.to_json(),
    })
}

/// Drops `member`'s session, as a resume does: everything still active on it is closed on the
/// SFU (`Retired`; no one waits for that), and the others are told when there was something to
/// tell.
pub fn drop_session(member: &mut Member) -> (Option<Retired>, Option<Send>) {
    let retired = member.sfu.as_ref().map(Retired::from);
    (retired, set_session(member, None))
}

/// The session of a member who left, to close everything still active on it.
pub fn departure(member: &Member) -> Option<Retired> {
    member.sfu.as_ref().map(Retired::from)
}

/// A session nobody will use again: its member left, came back on a new page, or made a new
/// session. Everything still active on it is closed on the SFU, what it subscribed to as well
/// as what it published, or the SFU would go on forwarding to it until its inactivity timeout.
/// The room records only what a member publishes (a member of a room of 32 can hold 90-odd
/// subscriptions: too many for its attachment), so it asks the SFU for the session's tracks
/// (`look_up`) and then closes each one not already inactive (`closing`). Nobody waits for
/// either call.
#[derive(Debug, Clone, PartialEq)]
pub struct Retired {
    pub session: String,
    /// The mids the room recorded as published: closed even when the SFU cannot say what the
    /// session has.
    pub published: Vec<String>,
}

impl From<&SfuSession> for Retired {
    fn from(session: &SfuSession) -> Self {
        Self {
            session: session.id.clone(),
            published: session.mids(),
        }
    }
}

impl Retired {
    /// The first call: the session's tracks as the SFU has them.
    pub fn look_up(&self) -> ApiCall {
        ApiCall::GetSession {
            session: self.session.clone(),
        }
    }

    /// The calls that close what is still active, given the answer to `look_up`: every track
    /// not inactive, at most `MAX_TRACKS` a call. Without an answer, what the room knows is
    /// published; for a session the SFU no longer knows, nothing.
    pub fn closing(&self, found: ApiResult) -> Vec<ApiCall> {
        let mids: Vec<String> = match found {
            Ok(state) => {
                let mut mids: Vec<String> = vec![];
                let active = (state.tracks.into_iter()).filter(|track| !track.inactive());
                for mid in active.filter_map(|track| track.mid) {
                    if !mids.contains(&mid) {
                        mids.push(mid);
                    }
                }
                mids
            }
            Err(ApiFailure::SessionGone) => vec![],
            Err(_) => self.published.clone(),
        };
        (mids.chunks(MAX_TRACKS))
            .map(|chunk| ApiCall::force_close(&self.session, chunk.to_vec()))
            .collect()
    }
}

/// What an answer of the API means, once it is back.
#[derive(Debug, Default, PartialEq)]
pub struct Answered {
    /// The caller's record, when the answer changed it.
    pub member: Option<Member>,
    /// The answer to the caller (`Target::Sender`), and `tracks` for the others.
    pub sends: Vec<Send>,
    /// Calls nobody waits for: tracks made or left that nobody will use.
    pub cleanup: Vec<Pending>,
    /// A session the answer replaced, to close everything on.
    pub retired: Option<Retired>,
    /// The next call of the same `sfu` call, whose answer the caller waits for instead (a
    /// layer change: the update, once the session's state said which mids to update).
    pub next: Option<(ApiCall, Asked)>,
}

/// The answer to `asked`, made as `call`. `caller` is the member on the calling socket now (the
/// record may have changed while the call was under way; `None`: the socket closed): an answer
/// for a session the caller no longer has changes nothing, and what it made is closed again.
pub fn answered(
    caller: Option<&Member>,
    call: &ApiCall,
    asked: &Asked,
    result: ApiResult,
) -> Answered {
    let mut answered = Answered::default();
    let made = match (call, &result) {
        (ApiCall::NewTracks { .. }, Ok(answer)) => made_mids(answer),
        _ => vec![],
    };
    let leftover = |answered: &mut Answered| {
        if let (Some(session), false) = (call.session(), made.is_empty()) {
            answered.cleanup.push(Pending {
                call: ApiCall::force_close(session, made.clone()),
                asked: None,
            });
        }
    };
    let Some(caller) = caller.filter(|m| m.peer.id == asked.member) else {
        leftover(&mut answered);
        return answered;
    };
    let current = caller.sfu.as_ref().map(|s| s.id.as_str());
    if call
        .session()
        .is_some_and(|session| Some(session) != current)
    {
        leftover(&mut answered);
        let message = "your session was replaced while this call was under way";
        answered
            .sends
            .push(refusal(asked.req, ErrorCode::NoSession, message));
        return answered;
    }
    let answer = match result {
        Ok(answer) => answer,
        Err(failure) => {
            let (code, message) = match failure {
                ApiFailure::Unavailable(why) => (ErrorCode::SfuUnavailable, why),
                ApiFailure::Refused(why) => (ErrorCode::SfuRefused, why),
                ApiFailure::SessionGone => {
                    let mut member = caller.clone();
                    answered.sends.extend(set_session(&mut member, None));
                    answered.member = Some(member);
                    let why = "the SFU no longer knows your session: make a new one";
                    (ErrorCode::SessionGone, why.to_owned())
                }
            };
            answered.sends.insert(0, refusal(asked.req, code, &message));
            return answered;
        }
    };
    let mut member = caller.clone();
    let (tracks, told) = match &asked.purpose {
        Purpose::Session => {
            let Some(id) = answer.session_id.clone() else {
                let message = "the SFU's answer had no session id";
                answered
                    .sends
                    .push(refusal(asked.req, ErrorCode::SfuUnavailable, message));
                return answered;
            };
            answered.retired = member.sfu.as_ref().map(Retired::from);
            let session = SfuSession {
                id,
                published: vec![],
            };
            (vec![], set_session(&mut member, Some(session)))
        }
        Purpose::Publish(asked_for) => published(&mut member, asked_for, &answer, &mut answered),
        Purpose::Subscribe(asked_for) => (subscribed(asked_for, &answer), None),
        // A layer change's first step: the update comes next, or the refusal now.
        Purpose::FindReceivers(wanted) => {
            let session = call.session().unwrap_or_default();
            match update_layers(session, wanted, &answer) {
                Ok((update, updated)) => {
                    let purpose = Purpose::Layer(updated);
                    let asked = Asked {
                        purpose,
                        ..asked.clone()
                    };
                    answered.next = Some((update, asked));
                }
                Err(message) => {
                    let refused = refusal(asked.req, ErrorCode::NoTrack, &message);
                    answered.sends.push(refused);
                }
            }
            return answered;
        }
        Purpose::Layer(updated) => (layered(updated, &answer), None),
        Purpose::Renegotiate => (vec![], None),
        Purpose::Close(closed) => (closed_tracks(closed, &answer), None),
    };
    answered
        .sends
        .insert(0, answer_frame(asked.req, &answer, &tracks));
    answered.sends.extend(told);
    answered.member = Some(member);
    answered
}

/// The mids a successful `tracks/new` made on the caller's session.
fn made_mids(answer: &ApiAnswer) -> Vec<String> {
    (answer.tracks.iter())
        .filter(|track| track.error.is_none())
        .filter_map(|track| track.mid.clone())
        .collect()
}

/// Records what a publish made: each track the SFU took, found by its mid (or its name). A kind
/// published meanwhile by another call gives way to this newer one, and the older track is
/// closed.
fn published(
    member: &mut Member,
    asked_for: &[PublishTrack],
    answer: &ApiAnswer,
    answered: &mut Answered,
) -> (Vec<SfuTrack>, Option<Send>) {
    let mut now = member
        .sfu
        .as_ref()
        .map(|s| s.published.clone())
        .unwrap_or_default();
    let mut replaced = vec![];
    let tracks = (asked_for.iter())
        .map(|track| {
            let result = by_mid(answer, &track.mid).or_else(|| {
                (answer.tracks.iter()).find(|r| r.track_name.as_deref() == Some(track.kind.name()))
            });
            let mid = result
                .and_then(|r| r.mid.clone())
                .unwrap_or_else(|| track.mid.clone());
            let error = outcome(result);
            if error.is_none() {
                if let Some(older) = now.iter().position(|p| p.kind == track.kind) {
                    replaced.push(now.remove(older).mid);
                }
                now.push(Published {
                    kind: track.kind,
                    mid: mid.clone(),
                });
            }
            SfuTrack {
                mid: Some(mid),
                id: None,
                kind: Some(track.kind),
                error,
            }
        })
        .collect();
    if let (Some(session), false) = (&member.sfu, replaced.is_empty()) {
        answered.cleanup.push(Pending {
            call: ApiCall::force_close(&session.id, replaced),
            asked: None,
        });
    }
    (tracks, publish(member, now))
}

/// Each subscription's result, found by its owner's session and the track's name, else by its
/// place in the answer.
fn subscribed(asked_for: &[(SubscribeTrack, String)], answer: &ApiAnswer) -> Vec<SfuTrack> {
    (asked_for.iter().enumerate())
        .map(|(i, (track, session))| {
            let named = |r: &&TrackResult| {
                r.session_id.as_deref() == Some(session.as_str())
                    && r.track_name.as_deref() == Some(track.kind.name())
            };
            let result = (answer.tracks.iter().find(named)).or_else(|| answer.tracks.get(i));
            SfuTrack {
                mid: result.and_then(|r| r.mid.clone()),
                id: Some(track.id.clone()),
                kind: Some(track.kind),
                error: outcome(result),
            }
        })
        .collect()
}

/// The update of `session` that points the mids receiving the cameras `wanted` at the layers
/// wanted, found in the session's state (`state`): of its receiving tracks still active, the
/// last one of each camera's owner session and name. Each camera comes back with its mid. A
/// camera the caller does not receive refuses the whole call, with what to say.
fn update_layers(
    session: &str,
    wanted: &[(LayerTrack, String)],
    state: &ApiAnswer,
) -> Result<(ApiCall, Vec<(LayerTrack, String)>), String> {
    let receiving = |owner: &str, kind: TrackKind| {
        (state.tracks.iter()).rfind(|t| {
            t.location.as_deref() == Some("remote")
                && t.status.as_deref() == Some("active")
                && t.session_id.as_deref() == Some(owner)
                && t.track_name.as_deref() == Some(kind.name())
        })
    };
    let mut objects = vec![];
    let mut updated = vec![];
    for (track, owner) in wanted {
        let Some(mid) = receiving(owner, track.kind).and_then(|t| t.mid.clone()) else {
            let id = &track.id;
            return Err(format!(
                "you do not receive the {} of peer {id:?}: subscribe to it first",
                track.kind.name()
            ));
        };
        objects.push(TrackObject {
            location: Location::Remote,
            mid: Some(mid.clone()),
            session_id: Some(owner.clone()),
            track_name: track.kind.name().to_owned(),
            simulcast: Some(Simulcast::preferring(track.layer.rid())),
        });
        updated.push((track.clone(), mid));
    }
    let body = TracksRequest {
        session_description: None,
        tracks: objects,
    };
    let session = session.to_owned();
    Ok((ApiCall::UpdateTracks { session, body }, updated))
}

/// Each updated camera's result, found by its mid.
fn layered(updated: &[(LayerTrack, String)], answer: &ApiAnswer) -> Vec<SfuTrack> {
    (updated.iter())
        .map(|(track, mid)| SfuTrack {
            mid: Some(mid.clone()),
            id: Some(track.id.clone()),
            kind: Some(track.kind),
            error: outcome(by_mid(answer, mid)),
        })
        .collect()
}

/// The result the SFU gave for `mid`, if any.
fn by_mid<'a>(answer: &'a ApiAnswer, mid: &str) -> Option<&'a TrackResult> {
    (answer.tracks.iter()).find(|r| r.mid.as_deref() == Some(mid))
}

/// A track's error, if the SFU refused it or gave no result for it.
fn outcome(result: Option<&TrackResult>) -> Option<String> {
    match result {
        None => Some("the SFU gave no result for this track".to_owned()),
        Some(result) => result.error.clone(),
    }
}

/// Each closed mid's result (the SFU reports one per mid).
fn closed_tracks(closed: &[(String, Option<TrackKind>)], answer: &ApiAnswer) -> Vec<SfuTrack> {
    (closed.iter())
        .map(|(mid, kind)| SfuTrack {
            mid: Some(mid.clone()),
            id: None,
            kind: *kind,
            error: by_mid(answer, mid).and_then(|r| r.error.clone()),
        })
        .collect()
}

fn answer_frame(req: u32, answer: &ApiAnswer, tracks: &[SfuTrack]) -> Send {
    let sdp = |kind: SdpType| {
        (answer.session_description.as_ref())
            .filter(|d| d.kind == kind)
            .map(|d| d.sdp.as_str())
    };
    let frame = ServerFrame::SfuAnswer {
        req,
        answer: sdp(SdpType::Answer),
        offer: sdp(SdpType::Offer),
        renegotiate: answer.renegotiate,
        tracks,
    };
    Send {
        to: Target::Sender,
        frame: frame.to_json(),
    }
}

fn refusal(req: u32, code: ErrorCode, message: &str) -> Send {
    let frame = ServerFrame::SfuRefused {
        req,
        error: SfuError { code, message },
    };
    Send {
        to: Target::Sender,
        frame: frame.to_json(),
    }
}

/// The `sfu` answer refusing a call, as a `Refusal` (it spends the refusal budget like any).
pub(super) fn refusal_frame(req: u32, code: ErrorCode, message: &str) -> String {
    refusal(req, code, message).frame
}
