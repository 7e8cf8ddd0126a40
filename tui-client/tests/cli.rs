//! The real `classchat` binary describing itself: `--help` against what the
//! README says, and the shell completions and man page made from the same
//! clap definitions.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::process::{Command, Stdio};

fn classchat(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_classchat"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "classchat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

/// The long options `--help` lists, without `--help` and `--version`.
fn options(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("--") || l.starts_with("-h") || l.starts_with("-V"))
        .filter_map(|l| l.split([' ', ',', '=']).find(|w| w.starts_with("--")))
        .map(str::to_owned)
        .filter(|o| o != "--help" && o != "--version")
        .collect()
}

/// The README's code block right after `heading`.
fn block_after<'a>(readme: &'a str, heading: &str) -> &'a str {
    let section = &readme[readme.find(heading).unwrap()..];
    let start = section.find("```\n").unwrap() + 4;
    &section[start..start + section[start..].find("```").unwrap()]
}

#[test]
fn the_readme_synopsis_names_every_option_and_command_of_the_client() {
    let readme = readme();
    let synopsis = block_after(&readme, "## The terminal client");
    let help = classchat(&["--help"]);
    let missing: Vec<_> = options(&help)
        .into_iter()
        .chain(options(&classchat(&["pipe", "--help"])))
        .filter(|o| !synopsis.contains(o.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README's synopsis lacks {missing:?}:\n{synopsis}"
    );
    for command in ["pipe", "completions", "man"] {
        assert!(help.contains(&format!("  {command} ")), "{help}");
        assert!(
            synopsis.split_whitespace().any(|w| w == command),
            "README's synopsis lacks {command}:\n{synopsis}"
        );
    }
}

#[test]
fn help_and_readme_give_the_same_download_folder_with_its_fallback() {
    let help = classchat(&["--help"]);
    let entry = &help[help.find("--download-dir").unwrap()..];
    let entry = &entry[..entry.find("\n\n").unwrap()];
    let default = &entry[entry.find("[default: ").unwrap()..];
    let readme = readme().replace('`', "");
    let sentence = &readme[readme.find("Files go to the download folder:").unwrap()..];
    let sentence = &sentence[..sentence.find(".\n").unwrap()].replace('\n', " ");
    for said in [
        "~/Downloads/ClassChat",
        "downloads in the data directory where there is no ~/Downloads",
    ] {
        assert!(default.contains(said), "--help: {default}");
        assert!(sentence.contains(said), "README: {sentence}");
    }
}

#[test]
fn help_and_readme_say_that_the_client_writes_its_config_file_itself() {
    let help = classchat(&["--help"]).replace('\n', " ");
    let readme = readme().replace('\n', " ");
    let configuration = &readme[readme.find("## Configuration").unwrap()..];
    for text in [help.as_str(), configuration] {
        assert!(
            text.contains("saves the server and the user name there"),
            "{text}"
        );
    }
}

#[test]
fn completions_for_bash_zsh_and_fish_know_the_commands_and_options() {
    for shell in ["bash", "zsh", "fish"] {
        let script = classchat(&["completions", shell]);
        for word in [
            "pipe",
            "completions",
            "man",
            "wait",
            "server",
            "tls-ca",
            "download-dir",
        ] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
}

#[test]
fn the_bash_completions_register_for_classchat_in_a_real_bash() {
    if Command::new("bash").arg("--version").output().is_err() {
        return eprintln!("no bash here; skipped");
    }
    let script = classchat(&["completions", "bash"]);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{script}\ncomplete -p classchat"))
        .output()
        .unwrap();
    let registered = String::from_utf8_lossy(&out.stdout);
    assert!(registered.contains("classchat"), "{registered}");
}

#[test]
fn the_man_page_holds_every_option_of_the_help_and_each_command() {
    let page = classchat(&["man"]);
    assert_eq!(page.matches(".TH classchat 1 ").count(), 1, "{page}");
    let help = classchat(&["--help"]);
    let all = options(&help)
        .into_iter()
        .chain(options(&classchat(&["pipe", "--help"])));
    for option in all {
        // roff writes every `-` as `\-`.
        let roff = option.replace('-', "\\-");
        assert!(page.contains(&roff), "the man page lacks {option}");
    }
    for command in ["classchat pipe", "classchat completions", "classchat man"] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
    assert!(page.contains("CLASSCHAT_PASSWORD"));
}
