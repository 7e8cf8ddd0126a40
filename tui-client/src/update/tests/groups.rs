//! Groups an instructor runs: the commands for roles, bans and settings; who
//! may post (announcement groups); roles, bans and rules following the
//! events, replies and lists the server sends; and its refusals.

use classchat_common::protocol::{Access, ConvSummary, GroupEvent, GroupInfo, Posting, Req, Role};
use classchat_common::{ErrorCode, GroupName};
use crossterm::event::KeyCode;

use super::*;
use crate::fixtures::groups::*;
use crate::model::{Asked, Popup};

fn group(name: &str) -> GroupName {
    name.parse().expect("a valid group name")
}

fn notice(model: &Model) -> Option<(String, bool)> {
    model.notice.as_ref().map(|n| (n.text.clone(), n.error))
}

fn hint(model: &Model) -> String {
    model.input().placeholder_text().to_owned()
}

fn sends(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::Send { .. }))
}

/// carol's group event `ev` in #cs101 as its `seq`th message, happening now.
fn in_cs101(model: &mut Model, seq: u64, actor: &str, ev: GroupEvent) -> Vec<Effect> {
    arrives(model, event("#cs101", seq, actor, now(), ev))
}

/// The one request typing `line` asks, after checking that it is asked as a
/// command (so a refusal gives the line back).
fn asks(model: &mut Model, line: &str) -> ClientMessage {
    let fx = submit(model, line);
    let [Effect::Ask(request)] = fx.as_slice() else {
        panic!("{line}: {fx:?}");
    };
    let req = request.req().expect("a request id");
    assert_eq!(model.asked.get(&req), Some(&Asked::Command(line.into())));
    request.clone()
}

/// The server's `group` answering the request in `fx` with `info`.
fn answer_group(model: &mut Model, fx: &[Effect], info: GroupInfo) {
    let req = req_of(fx, |_| true);
    server(model, ServerMessage::Group { req, info });
}

fn banned(model: &Model, conv_name: &str) -> Vec<String> {
    let c = conv_of(model, conv_name);
    c.banned.iter().map(ToString::to_string).collect()
}

fn roster(model: &Model, conv_name: &str) -> Vec<(String, bool, bool)> {
    let c = conv_of(model, conv_name);
    let members = c.roster.as_ref().expect("the members are known");
    members
        .iter()
        .map(|m| (m.user.to_string(), m.owner, m.moderator))
        .collect()
}

// ---- the commands -----------------------------------------------------------

#[test]
fn each_group_command_asks_the_server_for_what_it_says() {
    type Expected = fn(Option<Req>) -> ClientMessage;
    let cases: [(&str, Expected); 7] = [
        ("/mod cs101 bob", |req| ClientMessage::Role {
            req,
            group: group("cs101"),
            user: user("bob"),
            role: Role::Moderator,
        }),
        ("/unmod #cs101 bob", |req| ClientMessage::Role {
            req,
            group: group("cs101"),
            user: user("bob"),
            role: Role::Member,
        }),
        ("/unban cs101 mallory", |req| ClientMessage::Unban {
            req,
            group: group("cs101"),
            user: user("mallory"),
        }),
        ("/access cs101 invite", |req| ClientMessage::Settings {
            req,
            group: group("cs101"),
            access: Some(Access::Invite),
            posting: None,
        }),
        ("/posting cs101 announce", |req| ClientMessage::Settings {
            req,
            group: group("cs101"),
            access: None,
            posting: Some(Posting::Moderators),
        }),
        ("/create lab bob --open --announce", |req| {
            ClientMessage::Create {
                req,
                group: group("lab"),
                members: vec![user("bob")],
                access: Some(Access::Open),
                posting: Some(Posting::Moderators),
            }
        }),
        ("/kick cs101 bob", |req| ClientMessage::Kick {
            req,
            group: group("cs101"),
            user: user("bob"),
        }),
    ];
    let mut model = demo_model(90, 30);
    for (line, expected) in cases {
        let got = asks(&mut model, line);
        assert_eq!(got, expected(got.req()), "{line}");
    }
}

#[test]
fn tab_completes_the_words_settings_take_and_the_options_of_create() {
    for (typed, completed) in [
        ("/access cs101 i", "/access cs101 invite "),
        ("/posting #cs101 mod", "/posting #cs101 moderators "),
        ("/create lab --a", "/create lab --announce "),
        ("/create lab --open ca", "/create lab --open carol "),
        ("/create lab bob --in", "/create lab bob --invite "),
    ] {
        let mut model = demo_model(90, 30);
        type_text(&mut model, typed);
        press(&mut model, plain(KeyCode::Tab));
        assert_eq!(draft(&model), completed, "{typed}");
    }
}

// ---- who may post -----------------------------------------------------------

#[test]
fn a_plain_member_of_an_announcement_group_is_told_instead_of_sending_and_keeps_the_text() {
    let mut model = news_open(90, 30);
    let why = "only the owner and moderators post in #cs101-news; you may read and use commands";

    let fx = submit(&mut model, "hello everyone");
    assert!(!sends(&fx), "{fx:?}");
    assert_eq!(draft(&model), "hello everyone", "nothing typed is lost");
    assert_eq!(notice(&model), Some((why.into(), true)));

    press(&mut model, ctrl('u'));
    let fx = submit(&mut model, "/msg #cs101-news hello");
    assert!(!sends(&fx), "{fx:?}");
    assert_eq!(draft(&model), "/msg #cs101-news hello");

    press(&mut model, ctrl('u'));
    submit(&mut model, "/sendfile");
    assert!(
        model.popup.is_none(),
        "no file picker for a file not to send"
    );

    // Commands still go from the same input.
    press(&mut model, ctrl('u'));
    let request = asks(&mut model, "/members cs101-news");
    assert!(matches!(request, ClientMessage::Members { .. }));
    assert_eq!(draft(&model), "");
}

#[test]
fn the_draft_hint_and_what_may_be_sent_follow_who_may_post_and_your_role() {
    let mut model = demo_model(90, 30);
    assert_eq!(conv_of(&model, "#cs101").role, Some(Role::Member));
    assert!(hint(&model).starts_with("Message #cs101 — "));

    let announcements = GroupEvent::Posting {
        posting: Posting::Moderators,
    };
    in_cs101(&mut model, 10, "carol", announcements);
    assert!(hint(&model).starts_with("Only the owner and moderators post here"));
    assert!(!sends(&submit(&mut model, "anyone there?")));
    press(&mut model, ctrl('u'));

    let promoted = GroupEvent::Role {
        user: user("alice"),
        role: Role::Moderator,
    };
    in_cs101(&mut model, 11, "carol", promoted);
    assert_eq!(
        notice(&model),
        Some(("carol made you a moderator of #cs101".into(), false))
    );
    assert!(hint(&model).starts_with("Message #cs101 — "));
    assert!(sends(&submit(&mut model, "Quiz on Monday")));

    let demoted = GroupEvent::Role {
        user: user("alice"),
        role: Role::Member,
    };
    in_cs101(&mut model, 12, "carol", demoted);
    assert_eq!(
        notice(&model),
        Some(("you are no longer a moderator of #cs101".into(), false))
    );
    assert!(!conv_of(&model, "#cs101").may_post());

    let everyone = GroupEvent::Posting {
        posting: Posting::Everyone,
    };
    in_cs101(&mut model, 13, "carol", everyone);
    assert!(conv_of(&model, "#cs101").may_post());
    assert!(hint(&model).starts_with("Message #cs101 — "));
}

#[test]
fn being_added_to_a_group_asks_who_may_post_there() {
    let mut model = demo_model(90, 30);
    let added = GroupEvent::Added {
        user: user("alice"),
    };
    let fx = arrives(&mut model, event("#news", 5, "carol", now(), added));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Conversations { .. }));
    assert!(req.is_some(), "{fx:?}");
    assert!(conv_of(&model, "#news").may_post(), "not known yet");

    let news = ConvSummary {
        posting: Some(Posting::Moderators),
        role: Some(Role::Member),
        ..summary("#news", 5, 5, 0)
    };
    server(
        &mut model,
        ServerMessage::Conversations {
            req,
            conversations: vec![news],
            total: 6,
        },
    );
    assert!(!conv_of(&model, "#news").may_post());
}

#[test]
fn a_reply_says_who_may_join_and_post_and_so_does_its_notice_while_it_is_true() {
    let mut model = demo_model(100, 30);
    let fx = submit(&mut model, "/create lab bob carol --announce");
    let created = GroupInfo {
        access: Access::Invite,
        posting: Posting::Moderators,
        ..group_info("lab", "alice", 3, true)
    };
    answer_group(&mut model, &fx, created.clone());
    let lab = conv_of(&model, "#lab");
    assert_eq!(
        (lab.access, lab.posting, lab.role),
        (
            Some(Access::Invite),
            Some(Posting::Moderators),
            Some(Role::Owner)
        )
    );
    assert!(lab.may_post(), "the owner posts");
    assert_eq!(
        notice(&model),
        Some((
            "create: #lab · owner alice · 3 members · invite-only · announcements".into(),
            false
        ))
    );

    let fx = submit(&mut model, "/access lab open");
    let opened = GroupInfo {
        access: Access::Open,
        ..created
    };
    answer_group(&mut model, &fx, opened);
    assert_eq!(conv_of(&model, "#lab").access, Some(Access::Open));
    assert_eq!(
        notice(&model),
        Some((
            "access: #lab · owner alice · 3 members · announcements".into(),
            false
        ))
    );

    // Changed again from elsewhere: the notice is no longer true, and goes.
    let closed = GroupEvent::Access {
        access: Access::Invite,
    };
    arrives(&mut model, event("#lab", 4, "bob", now(), closed));
    assert_eq!(conv_of(&model, "#lab").access, Some(Access::Invite));
    assert_eq!(notice(&model), None);
}

// ---- roles and bans -----------------------------------------------------------

#[test]
fn roles_and_ownership_follow_the_events_into_the_roster_and_your_role() {
    let mut model = demo_model(90, 30);
    let bob_moderates = GroupEvent::Role {
        user: user("bob"),
        role: Role::Moderator,
    };
    in_cs101(&mut model, 10, "carol", bob_moderates);
    assert_eq!(
        roster(&model, "#cs101"),
        [
            ("alice".into(), false, false),
            ("bob".into(), false, true),
            ("carol".into(), true, false)
        ]
    );

    let bob_owns = GroupEvent::Owner { user: user("bob") };
    in_cs101(&mut model, 11, "carol", bob_owns);
    assert_eq!(
        roster(&model, "#cs101"),
        [
            ("alice".into(), false, false),
            ("bob".into(), true, false),
            ("carol".into(), false, false)
        ]
    );
    assert_eq!(conv_of(&model, "#cs101").role, Some(Role::Member));

    let alice_owns = GroupEvent::Owner {
        user: user("alice"),
    };
    in_cs101(&mut model, 12, "bob", alice_owns);
    let cs101 = conv_of(&model, "#cs101");
    assert_eq!(
        (cs101.role, cs101.owner.clone()),
        (Some(Role::Owner), Some(user("alice")))
    );
    assert_eq!(
        notice(&model),
        Some(("you are now the owner of #cs101".into(), false))
    );
}

#[test]
fn the_owners_list_of_the_banned_follows_kicks_and_unbans() {
    let mut model = lab_bans_open(90, 30);
    press(&mut model, plain(KeyCode::Esc));
    assert_eq!(banned(&model, "#lab"), ["mallory", "trudy"]);

    // bob, a moderator, removes carol; the owner lifts mallory's ban.
    let carol_kicked = GroupEvent::Kicked {
        user: user("carol"),
        banned: true,
    };
    arrives(&mut model, event("#lab", 1, "bob", now(), carol_kicked));
    assert_eq!(banned(&model, "#lab"), ["carol", "mallory", "trudy"]);
    assert_eq!(conv_of(&model, "#lab").members, Some(3));
    assert!(!roster(&model, "#lab").iter().any(|(u, ..)| u == "carol"));

    let mallory_unbanned = GroupEvent::Unbanned {
        user: user("mallory"),
    };
    arrives(
        &mut model,
        event("#lab", 2, "alice", now(), mallory_unbanned),
    );
    assert_eq!(banned(&model, "#lab"), ["carol", "trudy"]);
}

#[test]
fn a_plain_member_keeps_no_list_of_the_banned() {
    let mut model = demo_model(90, 30);
    let bob_kicked = GroupEvent::Kicked {
        user: user("bob"),
        banned: true,
    };
    in_cs101(&mut model, 10, "carol", bob_kicked);
    assert_eq!(banned(&model, "#cs101"), Vec::<String>::new());
    assert_eq!(roster(&model, "#cs101").len(), 2);
}

#[test]
fn the_members_list_goes_on_through_the_banned_and_enter_messages_one() {
    let mut model = lab_bans_open(90, 30);
    for _ in 0..8 {
        press(&mut model, plain(KeyCode::Down));
    }
    assert!(matches!(
        model.popup,
        Some(Popup::Members { selected: 5, .. })
    ));
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "trudy");
}

// ---- refusals ---------------------------------------------------------------

#[test]
fn refusals_about_roles_and_bans_show_the_servers_reason_and_give_the_command_back() {
    for (line, code, why) in [
        (
            "/kick cs101 bob",
            ErrorCode::NotModerator,
            "only the owner or a moderator of #cs101 can remove members",
        ),
        (
            "/join secret",
            ErrorCode::InviteOnly,
            "#secret is invite-only: its owner or a moderator must add you",
        ),
        (
            "/join lab",
            ErrorCode::Banned,
            "you are banned from #lab until its owner lifts the ban",
        ),
    ] {
        let mut model = demo_model(90, 30);
        command_refused(&mut model, line, code, why);
        assert_eq!(notice(&model), Some((why.into(), true)), "{line}");
        assert_eq!(draft(&model), line);
    }
}

#[test]
fn a_message_the_server_refuses_for_want_of_a_role_stays_failed_with_why() {
    // The group became an announcement group before the client heard of it.
    let mut model = demo_model(90, 30);
    let why = "only the owner and moderators post in #cs101";
    let id = send_refused(&mut model, "#cs101", "hi all", ErrorCode::NotModerator, why);
    let entry = conv_of(&model, "#cs101")
        .entries
        .iter()
        .find(|e| e.id == id)
        .expect("the message stays");
    assert_eq!(entry.failure.as_deref(), Some(why));
    assert_eq!(notice(&model), Some((why.into(), true)));
}

#[test]
fn members_alone_lists_the_open_groups_members_and_elsewhere_asks_which() {
    let mut model = demo_model(90, 30);
    assert_eq!(
        model.current().map(|c| c.conv.to_string()).as_deref(),
        Some("#cs101")
    );
    let fx = submit(&mut model, "/members");
    let asked = fx.iter().find_map(|e| match e {
        Effect::Ask(ClientMessage::Members { group, .. }) => Some(group.to_string()),
        _ => None,
    });
    assert_eq!(asked.as_deref(), Some("cs101"));
    // Up recalls it as typed, for whichever group is open then.
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(draft(&model), "/members");
    press(&mut model, plain(KeyCode::Down));
    assert_eq!(draft(&model), "");

    submit(&mut model, "/msg bob hi");
    assert_eq!(
        model.current().map(|c| c.conv.to_string()).as_deref(),
        Some("bob"),
        "writing to bob opens his conversation"
    );
    let fx = submit(&mut model, "/members");
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Ask(ClientMessage::Members { .. }))),
        "no group is open"
    );
    assert!(notice(&model).is_some_and(|(n, _)| n.contains("say which group")));
}
