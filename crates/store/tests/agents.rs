//! Agents' working state in the SQLite store: profiles, presence, loads counted from the
//! case projection, and a team's agents. Simulated time throughout.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ladder_core::agents::{AgentLoad, AgentProfile, Presence};
use ladder_core::command::{Assign, CaseCommand, OpenCase, Resolve, UserRef};
use ladder_core::directory::{Team, User};
use ladder_core::ids::{CaseId, TeamId, UserId};
use ladder_core::{Channel, DomainError, LevelId, Role};
use ladder_store::{Store, StoreConfig, StoreError};
use ladder_testkit::directory;
use ladder_testkit::store::{BILLING, FRONT, at, new_case, open_store, run, t0, write};
use tempfile::TempDir;
use uuid::Uuid;

const ANA: UserId = UserId(Uuid::from_u128(0xA1));
const BEN: UserId = UserId(Uuid::from_u128(0xA2));
const GONE: UserId = UserId(Uuid::from_u128(0xA3));

fn team(id: TeamId, slug: &str) -> Team {
    directory::team(id, slug, "L1", t0())
}

fn user(id: UserId, name: &str, teams: &[TeamId], skills: &[&str]) -> User {
    User {
        skills: skills.iter().map(|s| s.to_string()).collect(),
        levels: vec![LevelId::new("L1")],
        ..directory::user(id, name, Role::Agent, teams, t0())
    }
}

/// A store with two teams: ana (front, skills billing), ben (front and billing) and gone
/// (front, deactivated).
async fn world() -> (TempDir, Store) {
    let (dir, store) = open_store();
    store.create_team(team(FRONT, "front"), None).await.unwrap();
    store.create_team(team(BILLING, "billing"), None).await.unwrap();
    store.create_user(user(ANA, "ana", &[FRONT], &["billing"]), None, None).await.unwrap();
    store.create_user(user(BEN, "ben", &[FRONT, BILLING], &[]), None, None).await.unwrap();
    let mut gone = user(GONE, "gone", &[FRONT], &[]);
    store.create_user(gone.clone(), None, None).await.unwrap();
    gone.active = false;
    store.update_user(gone).await.unwrap();
    (dir, store)
}

fn assignee(id: UserId, name: &str) -> UserRef {
    UserRef { id, name: name.into(), role: Role::Agent, teams: vec![], levels: vec![], active: true }
}

/// Opens a case on `channel`, assigned to `to` (or nobody).
async fn open_assigned(store: &Store, channel: Channel, to: Option<(UserId, &str)>, now: Timestamp) -> CaseId {
    let id = CaseId::new_v7();
    let spec = OpenCase { channel, assignee: to.map(|(id, name)| assignee(id, name)), ..new_case("Cannot log in", "") };
    run(store, write(id, CaseCommand::Open(spec), now)).await;
    id
}

fn load(entries: &[(Channel, u32)]) -> AgentLoad {
    AgentLoad { active: entries.iter().copied().collect() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_is_stored_replaced_and_read_back() {
    let (_dir, store) = world().await;
    assert_eq!(store.agent_profile(ANA).await.unwrap(), None, "nobody has set one yet");

    let mut profile = AgentProfile::default_for(&user(ANA, "ana", &[FRONT], &["billing"]), at(1));
    profile.skills.insert("refunds".into(), 5);
    profile.languages = vec!["en".into(), "es".into()];
    profile.capacity.insert(Channel::Chat, 5);
    assert_eq!(store.put_agent_profile(profile.clone()).await.unwrap(), profile);
    assert_eq!(store.agent_profile(ANA).await.unwrap(), Some(profile.clone()));

    profile.capacity.remove(&Channel::Phone);
    profile.updated_at = at(2);
    store.put_agent_profile(profile.clone()).await.unwrap();
    assert_eq!(store.agent_profile(ANA).await.unwrap(), Some(profile));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_profile_or_an_unknown_user_is_refused_and_nothing_is_stored() {
    let (_dir, store) = world().await;
    let mut bad = AgentProfile::default_for(&user(ANA, "ana", &[], &[]), at(1));
    bad.skills.insert("billing".into(), 9);
    match store.put_agent_profile(bad).await {
        Err(StoreError::Domain(DomainError::Invalid { field, .. })) => assert_eq!(field, "skills.billing"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(store.agent_profile(ANA).await.unwrap(), None);

    let stranger = UserId(Uuid::from_u128(0xFFFF));
    let profile = AgentProfile::default_for(&user(stranger, "x", &[], &[]), at(1));
    assert!(matches!(store.put_agent_profile(profile).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.set_presence(stranger, Presence::Available, at(1)).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.agent_profile(stranger).await.unwrap(), None);

    // An edit that fails validation leaves the stored profile as it was.
    store.set_presence(ANA, Presence::Busy, at(2)).await.unwrap();
    let before = store.agent_profile(ANA).await.unwrap();
    let refused = store
        .edit_agent_profile(ANA, at(3), |_, p| {
            p.languages = vec!["English".into()];
            Ok(())
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Domain(DomainError::Invalid { ref field, .. })) if field == "languages[0]")
    );
    assert_eq!(store.agent_profile(ANA).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_presence_creates_the_default_profile_and_moves_presence_since_only_on_change() {
    let (_dir, store) = world().await;
    let p = store.set_presence(ANA, Presence::Available, at(1)).await.unwrap();
    assert_eq!((p.presence, p.presence_since, p.updated_at), (Presence::Available, at(1), at(1)));
    assert_eq!(p.skills, BTreeMap::from([("billing".to_string(), 3)]), "from the user's skills");
    assert_eq!(p.capacity.get(&Channel::Phone), Some(&1));
    assert_eq!(store.agent_profile(ANA).await.unwrap(), Some(p));

    let again = store.set_presence(ANA, Presence::Available, at(5)).await.unwrap();
    assert_eq!((again.presence_since, again.updated_at), (at(1), at(5)), "same presence: since is kept");

    let away = store.set_presence(ANA, Presence::Away, at(9)).await.unwrap();
    assert_eq!((away.presence, away.presence_since), (Presence::Away, at(9)));

    // A profile edit keeps the presence it finds.
    let edited = store
        .edit_agent_profile(ANA, at(10), |_, p| {
            p.skills.insert("refunds".into(), 4);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!((edited.presence, edited.presence_since, edited.updated_at), (Presence::Away, at(9), at(10)));
    assert_eq!(edited.proficiency("refunds"), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_presence_changes_and_profile_edits_do_not_undo_each_other() {
    let (_dir, store) = world().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                store
                    .edit_agent_profile(ANA, at(i), move |_, p| {
                        p.skills.insert(format!("skill-{i}"), 2);
                        Ok(())
                    })
                    .await
            } else {
                store.set_presence(ANA, Presence::Busy, at(i)).await
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let p = store.agent_profile(ANA).await.unwrap().unwrap();
    assert_eq!(p.presence, Presence::Busy);
    for i in (0..20).step_by(2) {
        assert_eq!(p.proficiency(&format!("skill-{i}")), Some(2), "skill-{i} was kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_count_active_assigned_cases_per_channel() {
    let (_dir, store) = world().await;
    open_assigned(&store, Channel::Chat, Some((ANA, "ana")), at(1)).await;
    open_assigned(&store, Channel::Chat, Some((ANA, "ana")), at(2)).await;
    let email = open_assigned(&store, Channel::Email, Some((ANA, "ana")), at(3)).await;
    let phone = open_assigned(&store, Channel::Phone, Some((BEN, "ben")), at(4)).await;
    open_assigned(&store, Channel::Phone, None, at(5)).await;

    let loads = store.agent_loads(vec![ANA, BEN, GONE]).await.unwrap();
    assert_eq!(loads.len(), 3, "every asked-for user is answered");
    assert_eq!(loads[&ANA], load(&[(Channel::Chat, 2), (Channel::Email, 1)]));
    assert_eq!(loads[&BEN], load(&[(Channel::Phone, 1)]));
    assert_eq!(loads[&GONE], AgentLoad::default());

    // A resolved case no longer counts; a reassigned one counts for its new assignee.
    run(
        &store,
        write(email, CaseCommand::Resolve(Resolve { code: "fixed".into(), note: None, article_id: None }), at(6)),
    )
    .await;
    run(&store, write(phone, CaseCommand::Assign(Assign { assignee: Some(assignee(ANA, "ana")) }), at(7))).await;
    let loads = store.agent_loads(vec![ANA, BEN]).await.unwrap();
    assert_eq!(loads[&ANA], load(&[(Channel::Chat, 2), (Channel::Phone, 1)]));
    assert_eq!(loads[&BEN], AgentLoad::default());

    let profile = AgentProfile::default_for(&user(ANA, "ana", &[], &[]), at(0));
    assert!(!loads[&ANA].has_room(&profile, Channel::Phone));
    assert_eq!(loads[&ANA].spare(&profile, Channel::Chat), 1);

    assert!(store.agent_loads(vec![]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_of_many_users_are_counted_across_chunks() {
    let (_dir, store) = world().await;
    open_assigned(&store, Channel::Web, Some((BEN, "ben")), at(1)).await;
    let mut ids: Vec<UserId> = (0..1200).map(|i| UserId(Uuid::from_u128(0x10_0000 + i))).collect();
    ids.push(BEN);
    let loads = store.agent_loads(ids).await.unwrap();
    assert_eq!(loads.len(), 1201);
    assert_eq!(loads[&BEN], load(&[(Channel::Web, 1)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_agents_are_the_active_members_with_stored_or_default_profiles() {
    let (_dir, store) = world().await;
    store.set_presence(BEN, Presence::Available, at(1)).await.unwrap();

    let front = store.team_agents(FRONT).await.unwrap();
    let names: Vec<&str> = front.iter().map(|(u, _)| u.name.as_str()).collect();
    assert_eq!(names, ["ana", "ben"], "gone is deactivated");
    let (ana, ana_profile) = &front[0];
    assert_eq!(*ana_profile, AgentProfile::default_for(ana, ana.created_at), "nobody set ana's profile");
    assert_eq!(front[1].1.presence, Presence::Available);

    let billing = store.team_agents(BILLING).await.unwrap();
    assert_eq!(billing.iter().map(|(u, _)| u.id).collect::<Vec<_>>(), [BEN]);

    let all = store.agents(None).await.unwrap();
    assert_eq!(all.iter().map(|(u, _)| u.id).collect::<Vec<_>>(), [ANA, BEN]);
    let of_teams = store.agents(Some(vec![FRONT, BILLING])).await.unwrap();
    assert_eq!(of_teams.iter().map(|(u, _)| u.id).collect::<Vec<_>>(), [ANA, BEN], "ben once, not twice");
    assert!(store.agents(Some(vec![])).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_survive_reopening_the_store() {
    let (_dir, location) = {
        let (dir, store) = world().await;
        store.set_presence(ANA, Presence::Busy, at(1)).await.unwrap();
        (dir, store.location().clone())
    };
    let store = Store::open_at(&location, StoreConfig::default()).expect("the store reopens");
    let p = store.agent_profile(ANA).await.unwrap().expect("the profile is kept");
    assert_eq!((p.presence, p.presence_since), (Presence::Busy, at(1)));
}
