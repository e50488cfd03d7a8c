//! The directory (customers, users, tokens) and matrix versions, on whichever backend
//! `ladder_store::test_location` picks: the behaviour both must share.

use jiff::{SignedDuration, Timestamp};
use ladder_core::agents::Presence;
use ladder_core::directory::{Customer, Identity, Team, User};
use ladder_core::ids::{CustomerId, TeamId, UserId};
use ladder_core::{Channel, LevelId, Role};
use ladder_store::{CustomerFilter, Idempotency, MatrixDraft, RevokeTokens, Store, StoreError, TokenInfo};
use ladder_testkit::directory;
use ladder_testkit::store::{AGENT as ANA, FRONT, at, open_store, t0};
use uuid::Uuid;

fn team(id: TeamId, slug: &str) -> Team {
    directory::team(id, slug, "L1", t0())
}

fn user(id: UserId, name: &str, teams: &[TeamId]) -> User {
    User { levels: vec![LevelId::new("L1")], ..directory::user(id, name, Role::Agent, teams, t0()) }
}

fn customer(n: u128, name: &str, segment: &str) -> Customer {
    Customer {
        identities: vec![Identity { channel: Channel::Email, value: format!("c{n}@example.com") }],
        value: 10.0,
        segment: Some(segment.into()),
        ..directory::customer(CustomerId(Uuid::from_u128(0xC000 + n)), name, t0())
    }
}

async fn names(store: &Store, filter: CustomerFilter, limit: u32, offset: u32) -> Vec<String> {
    store.customers(filter, None, limit, offset).await.unwrap().into_iter().map(|c| c.name).collect()
}

fn by_name(prefix: &str) -> CustomerFilter {
    CustomerFilter { name: Some(prefix.into()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_names_match_as_a_prefix_ignoring_case_with_wildcards_taken_literally() {
    let (_dir, store) = open_store();
    for (n, name, segment) in [
        (1, "Ada", "smb"),
        (2, "adam", "enterprise"),
        (3, "Bob", "smb"),
        (4, "50% Off", "smb"),
        (5, "500 Club", "smb"),
        (6, "a_b", "smb"),
        (7, "axb", "smb"),
        (8, r"Back\slash", "smb"),
    ] {
        store.create_customer(customer(n, name, segment), None).await.unwrap();
    }
    // Ordered by name as stored (upper case first), on both backends.
    assert_eq!(names(&store, by_name("AD"), 100, 0).await, ["Ada", "adam"]);
    assert_eq!(names(&store, by_name("bo"), 100, 0).await, ["Bob"]);
    assert_eq!(names(&store, by_name("50%"), 100, 0).await, ["50% Off"], "% is no wildcard");
    assert_eq!(names(&store, by_name("a_"), 100, 0).await, ["a_b"], "_ is no wildcard");
    assert_eq!(names(&store, by_name(r"back\"), 100, 0).await, [r"Back\slash"], "\\ is no escape");
    assert_eq!(names(&store, by_name("dam"), 100, 0).await, Vec::<String>::new(), "a prefix, not a substring");

    let smb_a = CustomerFilter { name: Some("a".into()), segment: Some("smb".into()), ..Default::default() };
    assert_eq!(names(&store, smb_a, 100, 0).await, ["Ada", "a_b", "axb"]);
    let all = names(&store, CustomerFilter::default(), 100, 0).await;
    assert_eq!(all.len(), 8);
    assert_eq!(names(&store, CustomerFilter::default(), 2, 3).await, all[3..5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_is_renamed_with_new_identities_and_deleted() {
    let (_dir, store) = open_store();
    let ada = store.create_customer(customer(1, "Ada", "smb"), None).await.unwrap();
    let renamed = Customer {
        name: "Augusta".into(),
        identities: vec![Identity { channel: Channel::Phone, value: "+44 20 7946 0000".into() }],
        ..ada.clone()
    };
    store.update_customer(renamed.clone()).await.unwrap();
    assert_eq!(store.customer(ada.id).await.unwrap(), Some(renamed.clone()));
    assert!(store.customers(by_name("Ada"), None, 100, 0).await.unwrap().is_empty());
    assert_eq!(store.customers(by_name("aug"), None, 100, 0).await.unwrap(), vec![renamed.clone()]);
    let old_email = CustomerFilter { identity: Some("c1@example.com".into()), ..Default::default() };
    assert!(store.customers(old_email, None, 100, 0).await.unwrap().is_empty(), "the old identity is gone");

    // The freed identity can go to someone else.
    let heir = Customer { id: CustomerId(Uuid::from_u128(0xC002)), ..customer(1, "Ada", "smb") };
    store.create_customer(heir, None).await.unwrap();
    let missing = customer(9, "Nobody", "smb");
    assert!(matches!(store.update_customer(missing).await, Err(StoreError::NotFound(_))));

    store.delete_customer(ada.id).await.unwrap();
    assert_eq!(store.customer(ada.id).await.unwrap(), None);
    assert!(matches!(store.delete_customer(ada.id).await, Err(StoreError::NotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_time_zone_is_saved_replaced_and_cleared() {
    let (_dir, store) = open_store();
    store.create_team(team(FRONT, "front"), None).await.unwrap();
    store.create_user(user(ANA, "ana", &[FRONT]), None, None).await.unwrap();
    assert_eq!(store.user_time_zone(ANA).await.unwrap(), None, "no choice yet: the browser's");
    store.set_user_time_zone(ANA, Some("America/New_York".into()), at(0)).await.unwrap();
    assert_eq!(store.user_time_zone(ANA).await.unwrap().as_deref(), Some("America/New_York"));
    store.set_user_time_zone(ANA, Some("Europe/Lisbon".into()), at(1)).await.unwrap();
    assert_eq!(store.user_time_zone(ANA).await.unwrap().as_deref(), Some("Europe/Lisbon"));
    store.set_user_time_zone(ANA, None, at(2)).await.unwrap();
    assert_eq!(store.user_time_zone(ANA).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_kept_apart_from_profiles_and_tokens_revoke_by_hash() {
    let (_dir, store) = open_store();
    store.create_team(team(FRONT, "front"), None).await.unwrap();
    let ana = store.create_user(user(ANA, "ana", &[FRONT]), Some("hash-1".into()), None).await.unwrap();
    let credentials = store.user_credentials("ana".into()).await.unwrap().expect("ana signs in");
    assert_eq!((credentials.user, credentials.password_hash.as_deref()), (ana.clone(), Some("hash-1")));
    assert!(store.user_credentials("nobody".into()).await.unwrap().is_none());

    store
        .set_password(ANA, "hash-2".into(), RevokeTokens { named: Some(vec![]), keep_hash: None }, at(0))
        .await
        .unwrap();
    store.update_user(User { display_name: "Ana M.".into(), ..ana }).await.unwrap();
    let credentials = store.user_credentials("ana".into()).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash.as_deref(), Some("hash-2"), "a profile update keeps the password");
    assert_eq!(credentials.user.display_name, "Ana M.");
    let stranger = UserId(Uuid::from_u128(0xFFFF));
    assert!(matches!(
        store.set_password(stranger, "x".into(), RevokeTokens::default(), at(0)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(store.update_user(user(stranger, "x", &[])).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        store.create_user(user(stranger, "x", &[TeamId(Uuid::nil())]), None, None).await,
        Err(StoreError::NotFound(_))
    ));

    let info = TokenInfo {
        id: "t1".into(),
        user_id: ANA,
        name: "laptop".into(),
        created_at: t0(),
        expires_at: None,
        revoked_at: None,
    };
    store.create_token(info, "secret-hash".into()).await.unwrap();
    assert!(store.user_for_token("secret-hash".into(), at(1)).await.unwrap().is_some());
    store.revoke_token_by_hash("secret-hash".into(), at(2)).await.unwrap();
    store.revoke_token_by_hash("secret-hash".into(), at(3)).await.unwrap();
    assert_eq!(store.token("t1".into()).await.unwrap().unwrap().revoked_at, Some(at(2)), "the first revocation");
    assert!(store.user_for_token("secret-hash".into(), at(4)).await.unwrap().is_none());
    assert!(matches!(store.revoke_token_by_hash("other".into(), at(2)).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.tokens(Some(stranger)).await.unwrap(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_tokens_are_revoked_by_name_keeping_the_one_in_use() {
    let (_dir, store) = open_store();
    store.create_team(team(FRONT, "front"), None).await.unwrap();
    store.create_user(user(ANA, "ana", &[FRONT]), Some("hash-1".into()), None).await.unwrap();
    for (id, name) in [("s1", "web session"), ("s2", "web session"), ("api", "laptop")] {
        let info = TokenInfo {
            id: id.into(),
            user_id: ANA,
            name: name.into(),
            created_at: t0(),
            expires_at: None,
            revoked_at: None,
        };
        store.create_token(info, format!("hash-{id}")).await.unwrap();
    }
    let sessions = RevokeTokens { named: Some(vec!["web session".into()]), keep_hash: Some("hash-s1".into()) };
    assert_eq!(store.set_password(ANA, "hash-2".into(), sessions, at(1)).await.unwrap(), 1, "only the other session");
    let live = |id: &'static str| {
        let store = store.clone();
        async move { store.token(id.into()).await.unwrap().unwrap().revoked_at.is_none() }
    };
    assert!(live("s1").await && !live("s2").await && live("api").await);
    assert_eq!(store.revoke_user_tokens(ANA, RevokeTokens::default(), at(2)).await.unwrap(), 2, "all the rest");
    assert!(!live("s1").await && !live("api").await);
    assert_eq!(store.token_by_hash("hash-api".into()).await.unwrap().map(|t| t.name), Some("laptop".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_returns_the_first_entity_until_its_key_expires() {
    let (_dir, store) = open_store();
    let key = |key: &str| Idempotency { scope: "root".into(), key: key.into(), fingerprint: "POST /teams".into() };
    let first = store.create_team(team(FRONT, "front"), Some(key("k1"))).await.unwrap();
    let retry = store.create_team(team(TeamId(Uuid::from_u128(0x7E09)), "other"), Some(key("k1"))).await.unwrap();
    assert_eq!(retry, first, "the retry is answered with the team first created");
    assert_eq!(store.teams().await.unwrap().len(), 1);

    assert_eq!(store.expire_idempotency(Timestamp::now() - SignedDuration::from_hours(1)).await.unwrap(), 0);
    assert_eq!(store.expire_idempotency(Timestamp::now() + SignedDuration::from_secs(1)).await.unwrap(), 1);
    match store.create_team(team(TeamId(Uuid::from_u128(0x7E09)), "front"), Some(key("k1"))).await {
        Err(StoreError::Duplicate(msg)) => assert!(msg.contains("front"), "{msg}"),
        other => panic!("once the key expired the create runs again, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_has_an_available_agent_only_while_a_member_is_available() {
    let (_dir, store) = open_store();
    store.create_team(team(FRONT, "front"), None).await.unwrap();
    store.create_user(user(ANA, "ana", &[FRONT]), None, None).await.unwrap();
    assert!(!store.team_has_available_agent(FRONT).await.unwrap(), "no profile yet");
    store.set_presence(ANA, Presence::Available, at(1)).await.unwrap();
    assert!(store.team_has_available_agent(FRONT).await.unwrap());
    store.set_presence(ANA, Presence::Away, at(2)).await.unwrap();
    assert!(!store.team_has_available_agent(FRONT).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_versions_are_numbered_and_read_back_and_drafts_deleted() {
    let (_dir, store) = open_store();
    assert!(matches!(store.rollback_matrix(None, "root".into(), at(0)).await, Err(StoreError::NotFound(_))));
    let draft =
        MatrixDraft { name: "main".into(), source: "# one".into(), updated_by: "root".into(), updated_at: t0() };
    store.put_matrix_draft(draft.clone()).await.unwrap();
    assert_eq!(store.matrix_draft("main".into()).await.unwrap(), Some(draft));
    store.delete_matrix_draft("main".into()).await.unwrap();
    assert_eq!(store.matrix_draft("main".into()).await.unwrap(), None);
    assert!(matches!(store.delete_matrix_draft("main".into()).await, Err(StoreError::NotFound(_))));

    let v1 = store.activate_matrix("main".into(), "# one".into(), "root".into(), at(1)).await.unwrap();
    assert!(
        matches!(store.rollback_matrix(None, "root".into(), at(2)).await, Err(StoreError::NotFound(_))),
        "nothing earlier to roll back to"
    );
    let v2 = store.activate_matrix("main".into(), "# two".into(), "ana".into(), at(3)).await.unwrap();
    assert_eq!(store.matrix_version(1).await.unwrap(), Some(v1.clone()));
    assert_eq!(store.matrix_version(3).await.unwrap(), None);
    assert_eq!(store.matrix_versions().await.unwrap(), vec![v1.clone(), v2.clone()]);
    assert_eq!(store.active_matrix().await.unwrap(), Some(v2));
    assert_eq!(store.rollback_matrix(Some(1), "root".into(), at(4)).await.unwrap(), v1);
    let activations = store.matrix_activations().await.unwrap();
    assert_eq!((activations[2].version, activations[2].by.as_str(), activations[2].at), (1, "root", at(4)));
}
