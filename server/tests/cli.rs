//! The real `classchat-server` binary describing itself: `--help` against the
//! README's synopsis, and the shell completions and man page made from the same
//! clap definitions.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::process::{Command, Stdio};

fn server(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_classchat-server"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "classchat-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The long options `--help` lists, without `--help` and `--version`.
fn options(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("--"))
        .filter_map(|l| l.split([' ', ',', '=']).next())
        .map(str::to_owned)
        .filter(|o| o != "--help" && o != "--version")
        .collect()
}

#[test]
fn the_readme_synopsis_and_table_name_every_option_of_the_help() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = &readme[readme.find("## The server").unwrap()..];
    let start = section.find("```\n").unwrap() + 4;
    let synopsis = &section[start..start + section[start..].find("```").unwrap()];
    let table = &section[..section.find("### ").unwrap()];
    let help = server(&["--help"]);
    let options = options(&help);
    assert!(options.len() > 20, "{help}");
    for option in options {
        assert!(
            synopsis.contains(&option),
            "README's synopsis lacks {option}"
        );
        assert!(
            table.contains(&format!("`{option}`")) || table.contains(&format!("`{option} ")),
            "README's table lacks {option}"
        );
    }
}

#[test]
fn completions_for_bash_zsh_and_fish_know_the_commands_and_options() {
    for shell in ["bash", "zsh", "fish"] {
        let script = server(&["completions", shell]);
        for word in [
            "reset-password",
            "completions",
            "man",
            "listen",
            "data-dir",
            "rate-limit",
        ] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
}

#[test]
fn the_man_page_holds_every_option_of_the_help_and_each_command() {
    let page = server(&["man"]);
    assert_eq!(page.matches(".TH classchat-server 1 ").count(), 1, "{page}");
    for option in options(&server(&["--help"])) {
        // roff writes every `-` as `\-`.
        let roff = option.replace('-', "\\-");
        assert!(page.contains(&roff), "the man page lacks {option}");
    }
    for command in ["reset\\-password", "completions", "man"] {
        assert!(
            page.contains(&format!("classchat\\-server {command}")),
            "the man page lacks {command}"
        );
    }
}
