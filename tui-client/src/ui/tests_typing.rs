//! Someone typing, on screen: said in the status line right after the open
//! conversation's name, never among the messages; at a wide and a narrow
//! size, where the online count gives way to it.

use crate::fixtures::pins::typing;
use crate::fixtures::*;

fn status_line(shown: &str) -> &str {
    shown.lines().last().unwrap_or_default()
}

#[test]
fn someone_typing_shows_in_the_status_line_and_not_among_the_messages() {
    let mut model = demo_model(90, 30);
    server(&mut model, typing("#cs101", "bob"));
    server(&mut model, typing("#cs101", "carol"));
    let shown = screen(&model);
    assert!(
        status_line(&shown).contains("#cs101 · bob and carol are typing… · 2/3 online"),
        "{shown}"
    );
    assert_eq!(
        shown.matches("typing").count(),
        1,
        "only the status line says it: {shown}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_who_is_typing_comes_before_the_online_count() {
    let mut model = demo_model(50, 20);
    server(&mut model, typing("#cs101", "bob"));
    let shown = screen(&model);
    let line = status_line(&shown);
    assert!(
        line.starts_with(" ● connected · #cs101 · bob is typing… · "),
        "{line}"
    );
    snapshot!(model);
}
