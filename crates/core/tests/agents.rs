//! Agents' working state: default profiles, validation (each error names its field), and
//! spare capacity.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::Channel;
use ladder_core::agents::{AgentLoad, AgentProfile, Presence, default_capacity, validate_profile};
use ladder_core::directory::{Role, User};
use ladder_core::ids::UserId;
use uuid::Uuid;

fn t0() -> Timestamp {
    "2026-11-23T09:00:00.123456789Z".parse().expect("a valid timestamp")
}

fn user(skills: &[&str]) -> User {
    User {
        id: UserId(Uuid::from_u128(0xA1)),
        name: "ana".into(),
        display_name: "Ana".into(),
        email: None,
        role: Role::Agent,
        teams: vec![],
        skills: skills.iter().map(|s| s.to_string()).collect(),
        levels: vec![],
        active: true,
        created_at: t0(),
    }
}

fn profile() -> AgentProfile {
    AgentProfile::default_for(&user(&["billing"]), t0())
}

/// Validates `profile` after `edit`; `expected` is `None` for valid, or the field the
/// error must name and a fragment of its message.
fn check(edit: impl FnOnce(&mut AgentProfile), expected: Option<(&str, &str)>) {
    let mut p = profile();
    edit(&mut p);
    match (validate_profile(&p), expected) {
        (Ok(()), None) => {}
        (Err(ladder_core::DomainError::Invalid { field, message }), Some((want_field, want_message))) => {
            assert_eq!(field, want_field, "{message}");
            assert!(message.contains(want_message), "'{message}' should contain '{want_message}'");
        }
        (got, want) => panic!("got {got:?}, wanted {want:?}"),
    }
}

#[test]
fn a_default_profile_has_the_users_skills_every_channel_and_is_offline() {
    let p = AgentProfile::default_for(&user(&["billing", "refunds"]), t0());
    assert_eq!(p.user_id, UserId(Uuid::from_u128(0xA1)));
    assert_eq!(p.skills, BTreeMap::from([("billing".to_string(), 3), ("refunds".to_string(), 3)]));
    assert!(p.languages.is_empty());
    let expected: BTreeMap<Channel, u32> = [
        (Channel::Phone, 1),
        (Channel::Chat, 3),
        (Channel::Sms, 3),
        (Channel::Social, 3),
        (Channel::Email, 10),
        (Channel::Web, 10),
        (Channel::Api, 10),
    ]
    .into();
    assert_eq!(p.capacity, expected);
    for c in Channel::ALL {
        assert_eq!(p.capacity_for(c), default_capacity(c));
    }
    assert_eq!((p.presence, p.presence_since, p.updated_at), (Presence::Offline, t0(), t0()));
    assert_eq!(validate_profile(&p), Ok(()));
}

#[test]
fn presence_names_round_trip_and_only_available_takes_new_work() {
    for p in Presence::ALL {
        assert_eq!(Presence::parse(p.as_str()), Some(p));
        assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.as_str()));
        assert_eq!(p.takes_new_work(), p == Presence::Available);
    }
    assert_eq!(Presence::parse("dancing"), None);
}

#[test]
fn presence_since_moves_only_when_the_presence_changes() {
    let mut p = profile();
    let t1 = t0() + jiff::SignedDuration::from_mins(5);
    let t2 = t0() + jiff::SignedDuration::from_mins(9);
    p.set_presence(Presence::Available, t1);
    assert_eq!((p.presence, p.presence_since, p.updated_at), (Presence::Available, t1, t1));
    p.set_presence(Presence::Available, t2);
    assert_eq!((p.presence, p.presence_since, p.updated_at), (Presence::Available, t1, t2));
}

#[test]
fn valid_profiles_pass() {
    check(|_| {}, None);
    check(|p| p.skills = BTreeMap::from([("billing".into(), 1), ("fraud.cards".into(), 5)]), None);
    check(|p| p.languages = vec!["en".into(), "es".into(), "pt-BR".into(), "es-419".into(), "haw".into()], None);
    check(|p| p.capacity = BTreeMap::from([(Channel::Phone, 0), (Channel::Email, 100)]), None);
    check(|p| p.capacity.clear(), None);
}

#[test]
fn invalid_profiles_name_the_field() {
    check(
        |p| {
            p.skills.insert("billing".into(), 9);
        },
        Some(("skills.billing", "1 (basics) to 5")),
    );
    check(
        |p| {
            p.skills.insert("refunds".into(), 0);
        },
        Some(("skills.refunds", "out of range")),
    );
    check(
        |p| {
            p.skills.insert("".into(), 3);
        },
        Some(("skills", "not a valid handle")),
    );
    check(
        |p| {
            p.skills.insert("Bad Skill".into(), 3);
        },
        Some(("skills", "'Bad Skill'")),
    );
    check(
        |p| p.languages = vec!["en".into(), "English".into()],
        Some(("languages[1]", "'English' is not a language tag")),
    );
    check(|p| p.languages = vec!["en-us".into()], Some(("languages[0]", "e.g. 'en'")));
    check(|p| p.languages = vec!["EN".into()], Some(("languages[0]", "not a language tag")));
    check(|p| p.languages = vec!["es".into(), "es".into()], Some(("languages[1]", "listed twice")));
    check(
        |p| {
            p.capacity.insert(Channel::Chat, 101);
        },
        Some(("capacity.chat", "limit of 100")),
    );
    check(
        |p| p.skills = (0..201).map(|i| (format!("s{i}"), 3)).collect(),
        Some(("skills", "201 skills; the limit is 200")),
    );
    check(|p| p.languages = vec!["en".into(); 51], Some(("languages", "the limit is 50")));
}

#[test]
fn spare_is_capacity_minus_load_and_never_negative() {
    let p = profile();
    let mut load = AgentLoad::default();
    assert_eq!(load.spare(&p, Channel::Phone), 1);
    assert!(load.has_room(&p, Channel::Phone));
    load.active.insert(Channel::Phone, 1);
    load.active.insert(Channel::Chat, 2);
    assert_eq!(load.spare(&p, Channel::Phone), 0);
    assert!(!load.has_room(&p, Channel::Phone));
    assert_eq!(load.spare(&p, Channel::Chat), 1);
    assert!(load.has_room(&p, Channel::Chat));
    assert_eq!(load.total(), 3);
    assert_eq!(load.on(Channel::Email), 0);

    // A capacity lowered below the load leaves no room, not a negative number.
    load.active.insert(Channel::Email, 12);
    assert_eq!(load.spare(&p, Channel::Email), 0);
    // A channel missing from the capacity takes no cases.
    let mut narrow = p.clone();
    narrow.capacity.remove(&Channel::Sms);
    assert_eq!(AgentLoad::default().spare(&narrow, Channel::Sms), 0);
    assert!(!AgentLoad::default().has_room(&narrow, Channel::Sms));
}

#[test]
fn languages_match_on_the_primary_tag_and_an_empty_list_speaks_everything() {
    let mut p = profile();
    assert!(p.speaks("fr"));
    p.languages = vec!["en".into(), "pt-BR".into()];
    assert!(p.speaks("en"));
    assert!(p.speaks("en-GB"));
    assert!(p.speaks("pt"));
    assert!(!p.speaks("es"));
}

#[test]
fn a_profile_survives_a_json_round_trip() {
    let mut p = profile();
    p.languages = vec!["en".into()];
    p.set_presence(Presence::Busy, t0() + jiff::SignedDuration::from_secs(1));
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"capacity\":{\"phone\":1"), "{json}");
    assert_eq!(serde_json::from_str::<AgentProfile>(&json).unwrap(), p);
}
