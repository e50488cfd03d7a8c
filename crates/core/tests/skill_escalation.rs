//! Escalation by skill as data: teams (level, kind, skills) × their staffing now (members,
//! available with room, free slots) × the skills asked → the team chosen with its reasons,
//! or the refusal naming the missing skill.

use std::collections::BTreeMap;

use ladder_core::LevelId;
use ladder_core::command::{
    SkillsWanted, TargetTeam, TeamStaffing, TeamsNow, functional_target, inferred_target, target_team,
};
use ladder_core::directory::{Team, TeamKind};
use ladder_core::event::EscalationKind;
use ladder_core::ids::TeamId;
use ladder_testkit::directory;

/// Members, available with room, free slots.
type Staffed = (u32, u32, u32);

/// A team: slug, level, kind, skills, and its staffing.
type Row = (&'static str, &'static str, TeamKind, &'static [&'static str], Staffed);

const FRONT: TeamKind = TeamKind::FrontLine;
const BACK: TeamKind = TeamKind::BackOffice;
const SPEC: TeamKind = TeamKind::Specialist;
const MGMT: TeamKind = TeamKind::Management;

struct World {
    teams: Vec<Team>,
    listed: BTreeMap<LevelId, Vec<String>>,
    staffing: BTreeMap<TeamId, TeamStaffing>,
}

impl World {
    fn new(rows: &[Row]) -> World {
        let mut teams = Vec::new();
        let mut staffing = BTreeMap::new();
        for (i, (slug, level, kind, skills, (members, available, spare))) in rows.iter().enumerate() {
            let id = TeamId(uuid::Uuid::from_u128(i as u128 + 1));
            let created = jiff::Timestamp::UNIX_EPOCH;
            teams.push(Team {
                kind: *kind,
                skills: skills.iter().map(|s| s.to_string()).collect(),
                ..directory::team(id, slug, level, created)
            });
            staffing.insert(id, TeamStaffing { members: *members, available: *available, spare: *spare });
        }
        World { teams, listed: BTreeMap::new(), staffing }
    }

    fn now(&self) -> TeamsNow<'_> {
        TeamsNow { teams: &self.teams, listed: &self.listed, staffing: &self.staffing }
    }

    fn id(&self, slug: &str) -> TeamId {
        self.teams.iter().find(|t| t.slug == slug).unwrap().id
    }
}

fn levels(names: &[&str]) -> Vec<LevelId> {
    names.iter().map(|l| LevelId::new(*l)).collect()
}

fn asked(skills: &[&str]) -> SkillsWanted {
    SkillsWanted::asked("skills", skills.iter().map(|s| s.to_string()).collect())
}

/// A functional escalation by `skills` from a case of team `from` searching `search`
/// (levels in order): `Ok(slug)` chosen, or `Err(text)` the refusal contains.
fn check(rows: &[Row], from: Option<&str>, search: &[&str], skills: &[&str], expected: Result<&str, &str>) {
    let world = World::new(rows);
    let current = from.map(|s| world.id(s));
    let got = functional_target(&world.now(), &levels(search), current, &asked(skills));
    match (got, expected) {
        (Ok((team, chosen)), Ok(slug)) => {
            assert_eq!(team.slug, slug, "{skills:?} over {rows:?}: {chosen:?}");
            assert_eq!(chosen.team, slug);
            assert_eq!(chosen.source, "asked");
            assert_eq!(chosen.skills, skills.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert!(chosen.candidates[0].covers && chosen.candidates[0].team == slug, "{chosen:?}");
        }
        (Err(e), Err(text)) => {
            let shown = e.to_string();
            assert!(shown.contains(text), "{skills:?}: expected '{text}' in '{shown}'");
            assert!(shown.starts_with("skills:"), "names the field: {shown}");
        }
        (got, expected) => panic!("{skills:?} over {rows:?}: got {got:?}, expected {expected:?}"),
    }
}

const CENTER: &[Row] = &[
    ("frontline", "L1", FRONT, &["general", "account"], (3, 2, 20)),
    ("billing", "L2", BACK, &["billing", "refunds"], (2, 1, 5)),
    ("tech", "L2", SPEC, &["technical", "networking"], (2, 2, 12)),
    ("supervisors", "L2", MGMT, &["complaints"], (2, 1, 3)),
    ("management", "L3", MGMT, &["complaints", "legal"], (1, 0, 0)),
];

#[test]
fn the_team_whose_skills_cover_every_skill_asked() {
    let up = ["L2", "L3", "L1"];
    check(CENTER, Some("frontline"), &up, &["billing"], Ok("billing"));
    check(CENTER, Some("frontline"), &up, &["billing", "refunds"], Ok("billing"));
    check(CENTER, Some("frontline"), &up, &["networking"], Ok("tech"));
    // The first level (lowest above the case's) with a team that offers it.
    check(CENTER, Some("frontline"), &up, &["complaints"], Ok("supervisors"));
    check(CENTER, Some("frontline"), &up, &["legal"], Ok("management"));
    check(CENTER, Some("frontline"), &up, &["complaints", "legal"], Ok("management"));
    // Not the case's own team: at the top, a lateral move to another team of the level.
    check(CENTER, Some("billing"), &["L3", "L2"], &["technical"], Ok("tech"));
    // A level asked for: only its teams.
    check(CENTER, Some("frontline"), &["L3"], &["complaints"], Ok("management"));
}

#[test]
fn no_team_with_the_skill_is_refused_naming_it() {
    let up = ["L2", "L3", "L1"];
    check(CENTER, Some("frontline"), &up, &["origami"], Err("no team at L2 or L3 or L1 offers the skill 'origami'"));
    check(CENTER, Some("frontline"), &up, &["billing", "origami"], Err("offers the skill 'origami'"));
    check(CENTER, Some("frontline"), &up, &["origami", "knitting"], Err("the skills 'origami', 'knitting'"));
    // Each offered, but by different teams.
    check(
        CENTER,
        Some("frontline"),
        &up,
        &["billing", "technical"],
        Err("no one team at L2 or L3 or L1 offers all of 'billing', 'technical' together"),
    );
    // The only team with it is the case's own.
    check(CENTER, Some("billing"), &["L3", "L2"], &["refunds"], Err("offers the skill 'refunds'"));
    // Offered, but not at the level asked for.
    check(CENTER, Some("frontline"), &["L3"], &["billing"], Err("no team at L3 offers the skill 'billing'"));
}

#[test]
fn among_teams_with_the_skill_presence_and_capacity_decide() {
    // Two billing teams at L2: people available with room count 10 each, free slots 1 each.
    let two = |a: Staffed, b: Staffed| -> Vec<Row> {
        vec![
            ("frontline", "L1", FRONT, &["general"], (3, 3, 30)),
            ("billing-east", "L2", BACK, &["billing"], a),
            ("billing-west", "L2", BACK, &["billing"], b),
        ]
    };
    let up = ["L2", "L1"];
    let cases: &[(Staffed, Staffed, &str)] = &[
        // More people available wins over more free slots.
        ((3, 2, 2), (3, 1, 9), "billing-east"),
        ((3, 1, 9), (3, 2, 2), "billing-west"),
        // Same people available: more room wins.
        ((3, 1, 2), (3, 1, 5), "billing-west"),
        // Nobody available at one: the other, even with less room.
        ((5, 0, 0), (1, 1, 1), "billing-west"),
        // Nobody available anywhere: still a team (the case waits in its queue), by name.
        ((2, 0, 0), (2, 0, 0), "billing-east"),
        // Free slots count up to 50.
        ((9, 1, 80), (9, 1, 50), "billing-east"),
    ];
    for (east, west, chosen) in cases {
        check(&two(*east, *west), Some("frontline"), &up, &["billing"], Ok(chosen));
    }
}

#[test]
fn a_tie_goes_to_the_most_specialised_team_and_the_reasons_are_recorded() {
    let rows: &[Row] = &[
        ("frontline", "L1", FRONT, &["general"], (3, 3, 30)),
        ("all-rounders", "L2", SPEC, &["billing", "technical", "shipping"], (2, 1, 4)),
        ("billing", "L2", BACK, &["billing"], (2, 1, 4)),
        ("tech", "L2", SPEC, &["technical"], (4, 4, 40)),
    ];
    check(rows, Some("frontline"), &["L2"], &["billing"], Ok("billing"));
    let world = World::new(rows);
    let (_, chosen) = functional_target(&world.now(), &levels(&["L2"]), None, &asked(&["billing"])).unwrap();
    assert_eq!(chosen.reason, "2 teams at L2 offer 'billing', tied on availability (score 14): the most specialised");
    let weighed: Vec<(&str, bool, u32, &str)> =
        chosen.candidates.iter().map(|c| (c.team.as_str(), c.covers, c.score, c.reason.as_str())).collect();
    assert_eq!(
        weighed,
        [
            ("billing", true, 14, "1 of 2 available with room, 4 free slots"),
            ("all-rounders", true, 14, "1 of 2 available with room, 4 free slots"),
            ("tech", false, 0, "lacks 'billing'"),
        ]
    );
    let (_, chosen) = functional_target(&world.now(), &levels(&["L2"]), None, &asked(&["technical"])).unwrap();
    assert_eq!(chosen.team, "tech");
    assert_eq!(
        chosen.reason,
        "2 teams at L2 offer 'technical': the most available (4 of 4 available with room, 40 free slots, score 80)"
    );
    let (_, chosen) = functional_target(&world.now(), &levels(&["L2"]), None, &asked(&["shipping"])).unwrap();
    assert_eq!(chosen.reason, "the only team at L2 that offers 'shipping'");
}

#[test]
fn the_matrix_lists_which_teams_work_a_level() {
    let mut world = World::new(CENTER);
    world.listed.insert(LevelId::new("L2"), vec!["tech".into(), "supervisors".into()]);
    let got = functional_target(&world.now(), &levels(&["L2"]), None, &asked(&["billing"]));
    assert!(got.unwrap_err().to_string().contains("no team at L2 offers the skill 'billing'"));
}

#[test]
fn with_no_skill_asked_the_matrix_route_then_the_category_decide() {
    let world = World::new(CENTER);
    let now = world.now();
    let up = levels(&["L2", "L3", "L1"]);
    let front = Some(world.id("frontline"));
    // The matrix's route for the case comes first.
    let (team, chosen) =
        inferred_target(&now, &up, front, Some(("Disputes", "billing")), Some("technical")).unwrap().unwrap();
    assert_eq!((team.slug.as_str(), chosen.source.as_str()), ("billing", "rule \"Disputes\""));
    // A route to the case's own team, or to a team off the levels searched, does not count.
    let (team, chosen) =
        inferred_target(&now, &up, Some(world.id("billing")), Some(("x", "billing")), Some("technical"))
            .unwrap()
            .unwrap();
    assert_eq!((team.slug.as_str(), chosen.source.as_str()), ("tech", "category"));
    // Else the case's category, as a skill.
    let (team, chosen) = inferred_target(&now, &up, front, None, Some("refunds")).unwrap().unwrap();
    assert_eq!((team.slug.as_str(), chosen.skills.as_slice()), ("billing", &["refunds".to_string()][..]));
    // Nothing to go by.
    assert!(inferred_target(&now, &up, front, None, Some("origami")).is_none());
    assert!(inferred_target(&now, &up, front, None, None).is_none());
}

#[test]
fn hierarchical_routes_use_skills_then_authority_then_the_category() {
    let world = World::new(CENTER);
    let now = world.now();
    let l2 = LevelId::new("L2");
    let route = |skills: &[&str], category: Option<&str>| {
        let wanted = asked(skills);
        target_team(&now, &l2, EscalationKind::Hierarchical, Some(&wanted), category)
    };
    // No skill: the management team of the level (authority).
    match route(&[], None).unwrap() {
        TargetTeam::One(t, None) => assert_eq!(t.slug, "supervisors"),
        other => panic!("{other:?}"),
    }
    // A skill asked chooses, with its reasons.
    match route(&["refunds"], None).unwrap() {
        TargetTeam::One(t, Some(chosen)) => assert_eq!((t.slug.as_str(), chosen.team.as_str()), ("billing", "billing")),
        other => panic!("{other:?}"),
    }
    let refused = route(&["origami"], None).unwrap_err().to_string();
    assert!(refused.contains("no team at L2 offers the skill 'origami'"), "{refused}");
    // Two management teams: the category tells them apart, else they are the candidates.
    let rows: Vec<Row> = [CENTER, &[("desk", "L2", MGMT, &["legal"], (1, 1, 1))]].concat();
    let world = World::new(&rows);
    let now = world.now();
    match target_team(&now, &l2, EscalationKind::Hierarchical, None, Some("legal")).unwrap() {
        TargetTeam::One(t, None) => assert_eq!(t.slug, "desk"),
        other => panic!("{other:?}"),
    }
    match target_team(&now, &l2, EscalationKind::Hierarchical, None, None).unwrap() {
        TargetTeam::Several(c) => {
            assert_eq!(c.iter().map(|c| c.team.as_str()).collect::<Vec<_>>(), ["supervisors", "desk"])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        target_team(&now, &LevelId::new("L9"), EscalationKind::Hierarchical, None, None).unwrap(),
        TargetTeam::NoTeam
    );
}

#[test]
fn the_score_counts_people_available_then_room() {
    let s = |members, available, spare| TeamStaffing { members, available, spare }.score();
    assert_eq!(s(0, 0, 0), 0);
    assert_eq!(s(3, 1, 2), 12);
    assert_eq!(s(3, 2, 0), 20);
    assert_eq!(s(9, 1, 500), 60);
}
