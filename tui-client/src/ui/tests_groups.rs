//! Groups an instructor runs, as two people see them: an announcement group
//! to a plain member of it, and a group's members to its owner, with a
//! moderator and the banned; each at a wide and a narrow size.

use crate::fixtures::groups::*;
use crate::fixtures::*;

#[test]
fn an_announcement_group_says_so_in_its_title_and_the_input_says_who_posts() {
    let model = news_open(90, 30);
    let shown = screen(&model);
    assert!(
        shown.contains("#cs101-news · announcements · 4 members · owner carol"),
        "{shown}"
    );
    assert!(
        shown.contains("Only the owner and moderators post here — commands still work"),
        "{shown}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_an_announcement_group_keeps_its_marker_and_says_who_posts() {
    let model = news_open(50, 20);
    let shown = screen(&model);
    assert!(shown.contains("#cs101-news · announcements"), "{shown}");
    assert!(
        !shown.contains("owner car"),
        "the owner goes whole: {shown}"
    );
    assert!(
        shown.contains("│ Only the owner and moderators post here   "),
        "{shown}"
    );
    snapshot!(model);
}

#[test]
fn the_members_popup_marks_the_owner_and_moderators_and_lists_the_banned() {
    let model = lab_bans_open(90, 30);
    let shown = screen(&model);
    assert!(shown.contains("#lab · 4 members · 2 banned"), "{shown}");
    assert!(shown.contains("bob (moderator)"), "{shown}");
    snapshot!(model);
}

#[test]
fn at_fifty_columns_the_members_popup_still_shows_roles_and_the_banned() {
    let model = lab_bans_open(50, 20);
    let shown = screen(&model);
    for name in ["alice (owner)", "bob (moderator)", "mallory", "trudy"] {
        assert!(shown.contains(name), "{name}: {shown}");
    }
    snapshot!(model);
}

#[test]
fn in_the_help_a_usage_too_long_for_its_column_has_a_line_of_its_own() {
    let model = demo_model(60, 24);
    let theme = crate::theme::Theme::new(false);
    let lines: Vec<String> = crate::layout::help::help_lines(&model, &theme, 56)
        .iter()
        .map(ToString::to_string)
        .collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("  /posting "))
        .expect("/posting is in the help");
    assert_eq!(lines[at], "  /posting <group> everyone|moderators");
    assert!(
        lines[at + 1].starts_with(&format!("{}owner: let every member", " ".repeat(32))),
        "{:?}",
        &lines[at..at + 3]
    );
}

#[test]
fn the_groups_popup_says_where_you_are_banned_and_which_groups_are_invite_only() {
    let mut model = demo_model(90, 30);
    let mut groups = three_groups();
    groups[1].banned = true;
    groups[2].access = classchat_common::protocol::Access::Invite;
    open_groups(&mut model, groups);
    let shown = screen(&model);
    let row = |name: &str| {
        shown
            .lines()
            .find(|l| l.contains(&format!("│#{name}")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row("cs101").contains("3 members   joined"), "{shown}");
    assert!(row("lab-b").contains("1 member    banned"), "{shown}");
    assert!(row("networking").contains("12 members  invite"), "{shown}");
}
