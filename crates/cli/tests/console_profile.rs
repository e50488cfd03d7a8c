//! The console's profile page over HTTP, as a browser without JavaScript uses it: one's own
//! password (the current one first; the other sessions end) and one's own API tokens (the
//! password again; the secret shown once with its expiry; revoked from the same page).

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::Value;

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The message a form's answer leaves for the profile page: (ok, text).
async fn outcome(web: &Console, session: &str, r: &PageResponse) -> (bool, String) {
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/profile")), "{}", r.body);
    if let Some(error) = error_flash(&r.set_cookies) {
        return (false, error);
    }
    let page = web.follow(Some(session), r).await.body;
    let at = page.find("role=\"status\">").expect("a message") + "role=\"status\">".len();
    (true, page[at..page[at..].find('<').unwrap() + at].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_changes_their_own_password_on_the_profile_with_the_current_one() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let (here, elsewhere) = (web.login("ana", PASSWORD).await, web.login("ana", PASSWORD).await);
    let page = web.get(Some(&here), "/profile").await;
    assert_eq!(page.status, 200);
    for text in ["Your profile", "Change your password", "name=\"current_password\"", "href=\"/profile\""] {
        assert!(page.body.contains(text), "the profile shows {text:?}: {}", page.body);
    }
    let csrf = csrf_of(&page.body);
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        let (web, here, csrf) = (&web, &here, &csrf);
        async move {
            let form = [("csrf", csrf.as_str()), ("current_password", current), ("password", new), ("repeat", repeat)];
            let r = web.post(Some(here), "/profile/password", &form).await;
            outcome(web, here, &r).await
        }
    };
    let new = "a much longer secret";
    for (current, password, repeat, why) in [
        ("not my password", new, new, "current_password is not your current password"),
        (PASSWORD, new, "a much longer secreT", "the two new passwords differ"),
        (PASSWORD, "too short", "too short", "at least 12 characters"),
    ] {
        let (ok, message) = change(current, password, repeat).await;
        assert!(!ok && message.contains(why), "{why}: {message}");
    }
    assert_eq!(web.sign_in("ana", new).await.status, 401, "nothing changed yet");

    let (ok, message) = change(PASSWORD, new, new).await;
    assert!(ok && message.contains("1 other session(s) signed out"), "{message}");
    let r = web.get(Some(&elsewhere), "/queue").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "the other console session ended");
    assert_eq!(web.get(Some(&here), "/profile").await.status, 200, "this session goes on");
    assert_eq!(api.call(&world.tokens["ana"], "GET", "/api/v1/users/me", None).await.0, 200, "API tokens stay");
    assert_eq!(web.sign_in("ana", new).await.status, 303, "the new password signs in");
    assert_eq!(web.sign_in("ana", PASSWORD).await.status, 401, "the old one no longer does");

    // Without the session's CSRF token, nothing happens.
    let form = [("current_password", new), ("password", "yet another secret"), ("repeat", "yet another secret")];
    assert_eq!(web.post(Some(&here), "/profile/password", &form).await.status, 403);
    assert_eq!(web.sign_in("ana", new).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_mints_a_token_shown_once_with_its_expiry_and_revokes_it_on_the_profile() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let ana = web.login("ana", PASSWORD).await;
    let page = web.get(Some(&ana), "/profile").await;
    assert!(page.body.contains("It lives 90 days unless you choose (at most 365)"), "the policy: {}", page.body);
    assert!(page.body.contains("this session"), "the session in use is marked: {}", page.body);
    let csrf = csrf_of(&page.body);
    let mint = |name: &'static str, days: &'static str, password: &'static str| {
        let (web, ana, csrf) = (&web, &ana, &csrf);
        async move {
            let form = [("csrf", csrf.as_str()), ("name", name), ("expires_in_days", days), ("password", password)];
            web.post(Some(ana), "/profile/tokens", &form).await
        }
    };

    // The password is asked again, and the lifetime stays within the server's maximum.
    for (days, password, why) in [
        ("30", "not my password", "password is not your current password"),
        ("400", PASSWORD, "at most 31536000 seconds"),
        ("soon", PASSWORD, "'soon' is not a number of days"),
    ] {
        let r = mint("script", days, password).await;
        let (ok, message) = outcome(&web, &ana, &r).await;
        assert!(!ok && message.contains(why), "{why}: {message}");
    }

    let r = mint("nightly export", "30", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body.find("id=\"new-token\"").expect("the token field");
    let secret = r.body[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(secret.starts_with("ldr_"), "the secret is on the page: {secret}");
    assert!(r.body.contains("shown this once"), "{}", r.body);
    let expires = r.body.split("It expires <time datetime=\"").nth(1).expect("the expiry").split('"').next().unwrap();
    let expires: jiff::Timestamp = expires.parse().unwrap();
    let lifetime = expires.duration_since(jiff::Timestamp::now());
    assert!(lifetime > jiff::SignedDuration::from_hours(30 * 24 - 1), "30 days: {expires}");
    assert!(lifetime <= jiff::SignedDuration::from_hours(30 * 24), "30 days: {expires}");

    // It works on the API, which lists it with the same expiry.
    let (s, me) = api.call(&secret, "GET", "/api/v1/users/me", None).await;
    assert_eq!((s, me["name"].as_str()), (200, Some("ana")), "{me}");
    let (_, tokens) = api.call(&world.tokens["ana"], "GET", "/api/v1/tokens", None).await;
    let token: &Value = tokens.as_array().unwrap().iter().find(|t| t["name"] == "nightly export").expect("listed");
    assert_eq!(token["expires_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(), expires);
    let id = token["id"].as_str().unwrap();

    // The profile lists it with its expiry, never the secret again.
    let page = web.get(Some(&ana), "/profile").await.body;
    assert!(page.contains("nightly export") && page.contains(&expires.strftime("%Y-%m-%d %H:%M UTC").to_string()));
    assert!(!page.contains(&secret), "the secret is shown once only");

    // Revoked from the profile, it stops working at once; another user's is not ana's to revoke.
    let r = web.post(Some(&ana), &format!("/profile/tokens/{id}/revoke"), &[("csrf", &csrf)]).await;
    let (ok, message) = outcome(&web, &ana, &r).await;
    assert!(ok && message.contains("revoked"), "{message}");
    assert_eq!(api.call(&secret, "GET", "/api/v1/users/me", None).await.0, 401);
    let (_, erins) = api.call(&world.tokens["erin"], "GET", "/api/v1/tokens", None).await;
    let erins = erins[0]["id"].as_str().unwrap();
    let r = web.post(Some(&ana), &format!("/profile/tokens/{erins}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(api.call(&world.tokens["erin"], "GET", "/api/v1/users/me", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_chooses_the_time_zone_of_their_console_and_an_unknown_zone_is_refused() {
    let Running { dir: _dir, world: _world, server, api: _api } = Running::start(LADDER);
    let web = Console::new(&server);
    let ana = web.login("ana", PASSWORD).await;
    let page = web.get(Some(&ana), "/profile").await;
    assert!(page.body.contains("name=\"time_zone\"") && !page.body.contains("data-time-zone"), "{}", page.body);
    assert!(page.body.contains("<option value=\"America/New_York\">"), "the zones are suggested");
    let csrf = csrf_of(&page.body);

    let r = web.post(Some(&ana), "/profile/time-zone", &[("csrf", &csrf), ("time_zone", "Mars/Olympus")]).await;
    let (ok, message) = outcome(&web, &ana, &r).await;
    assert!(!ok && message.contains("time_zone") && message.contains("'Mars/Olympus' is not a time zone"), "{message}");

    let r = web.post(Some(&ana), "/profile/time-zone", &[("csrf", &csrf), ("time_zone", " America/New_York ")]).await;
    let (ok, message) = outcome(&web, &ana, &r).await;
    assert!(ok && message.contains("America/New_York"), "{message}");
    let queue = web.get(Some(&ana), "/queue").await;
    assert!(queue.body.contains("data-time-zone=\"America/New_York\""), "every page carries the zone: {}", queue.body);
    let other = web.login("sam", PASSWORD).await;
    assert!(!web.get(Some(&other), "/queue").await.body.contains("data-time-zone"), "another user keeps theirs");

    let r = web.post(Some(&ana), "/profile/time-zone", &[("csrf", &csrf), ("time_zone", "")]).await;
    let (ok, message) = outcome(&web, &ana, &r).await;
    assert!(ok && message.contains("your browser's"), "{message}");
    assert!(!web.get(Some(&ana), "/queue").await.body.contains("data-time-zone"), "back to the browser's zone");
}
