//! What a newcomer meets first, read as files: the justfile's recipes, the
//! demo script, and the README's screenshot and references.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

fn repo_file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Each recipe's header line and its body, as the justfile writes them.
fn recipes(justfile: &str) -> Vec<(String, String)> {
    let mut recipes: Vec<(String, String)> = Vec::new();
    for line in justfile.lines() {
        let header = !line.starts_with([' ', '\t', '#', '['])
            && !line.starts_with("set ")
            && !line.contains(":=")
            && line.contains(':');
        if header {
            recipes.push((line.to_owned(), String::new()));
        } else if line.starts_with([' ', '\t'])
            && let Some((_, body)) = recipes.last_mut()
        {
            body.push_str(line.trim());
            body.push('\n');
        }
    }
    recipes
}

/// The `cargo build` command lines in `text`.
fn cargo_builds(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo build"))
        .map(str::to_owned)
        .collect()
}

const BUILD: &str = "cargo build --release --workspace --bins";

#[test]
fn every_recipe_that_runs_a_program_runs_one_workspace_build_first() {
    let justfile = repo_file("justfile");
    let demo = repo_file("assets/demo.sh");
    for (name, text) in [("justfile", &justfile), ("assets/demo.sh", &demo)] {
        // `cargo run -p` resolves one package's features: a build of its own.
        let runs = text
            .lines()
            .any(|l| l.contains("cargo run") && !l.trim_start().starts_with('#'));
        assert!(!runs, "{name} runs `cargo run`");
        for build in cargo_builds(text) {
            assert_eq!(build, BUILD, "{name} builds another way");
        }
    }
    assert_eq!(
        cargo_builds(&demo).len(),
        1,
        "the demo builds before it runs"
    );
    let recipes = recipes(&justfile);
    let (_, build) = recipes
        .iter()
        .find(|(h, _)| h.starts_with("build:"))
        .unwrap();
    assert_eq!(cargo_builds(build), [BUILD]);
    let mut runners = 0;
    for (header, body) in &recipes {
        let runs_a_program = body.contains("/classchat");
        if runs_a_program {
            runners += 1;
            let deps = header.split_once(':').unwrap().1;
            assert!(
                deps.split_whitespace().any(|d| d == "build"),
                "{header} runs a program without building it first"
            );
            assert!(body.contains("{{bin}}/classchat"), "{header}");
        }
    }
    assert_eq!(runners, 3, "server, tui and pipe");
    let bin = justfile.lines().find(|l| l.starts_with("bin :=")).unwrap();
    assert!(
        bin.contains("\"target\"") && bin.ends_with("/ \"release\""),
        "{bin}"
    );
}

/// The value `word` stands for in `script`: itself, or the assignment of the
/// variable it names (`$var`, `${var}`), unquoted.
fn resolve(script: &str, word: &str) -> String {
    let word = word.trim_matches(['\'', '"']);
    let Some(var) = word.strip_prefix('$') else {
        return word.to_owned();
    };
    let var = var.trim_matches(['{', '}']);
    let assignment = script
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(&format!("{var}=")))
        .unwrap_or_else(|| panic!("${var} is never set"));
    resolve(script, assignment)
}

#[test]
fn the_demo_server_listens_on_loopback_alone_and_no_password_is_an_argument() {
    let demo = repo_file("assets/demo.sh");
    let listens: Vec<String> = demo
        .split("--listen")
        .skip(1)
        .map(|rest| resolve(&demo, rest.split_whitespace().next().unwrap()))
        .collect();
    assert!(!listens.is_empty(), "the demo names its listen address");
    for addr in &listens {
        assert!(
            addr.starts_with("127.0.0.1:") || addr.starts_with("[::1]:"),
            "the demo listens on {addr}"
        );
    }
    assert!(!demo.contains("--password"), "`ps` shows command lines");
    for line in demo.lines().filter(|l| l.contains("CLASSCHAT_PASSWORD")) {
        let line = line.trim();
        // Only as an assignment before the command, which puts it in the
        // environment; `env VAR=…`, tmux or echo would put it in an argument.
        assert!(
            line.starts_with("CLASSCHAT_PASSWORD=") || line.starts_with('#'),
            "{line}"
        );
    }
}

#[test]
fn the_screenshot_shows_the_conversation_just_demo_starts_with() {
    let readme = repo_file("README.md");
    let start = readme.find("```\n").unwrap() + 4;
    let screenshot = &readme[start..start + readme[start..].find("```").unwrap()];
    assert_eq!(screenshot, repo_file("assets/screenshot.txt"));
    let caption = &readme[start + screenshot.len()..];
    let caption = &caption[..caption.find("\n\n- ").unwrap()];
    assert!(caption.contains("`just demo`"), "{caption}");

    let demo = repo_file("assets/demo.sh");
    let mut messages = 0;
    for line in screenshot.lines() {
        // `│10:55 alice: Hi Bob! Did you get the lab notes?   ●│`
        let Some((_, pane)) = line.split_once("││") else {
            continue;
        };
        let words: Vec<&str> = pane.split_whitespace().collect();
        let is_message = words.len() > 2
            && words[0].len() == 5
            && words[0].as_bytes()[2] == b':'
            && words[1].ends_with(':');
        if !is_message {
            continue;
        }
        messages += 1;
        let text: Vec<&str> = words[2..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with(['●', '✓', '│']))
            .collect();
        let text = text.join(" ");
        assert!(
            demo.contains(&format!(" {text}'")),
            "the demo never sends {text:?}"
        );
    }
    assert!(messages >= 3, "{screenshot}");
    for group in screenshot.split("# ").skip(1) {
        let name = group.split_whitespace().next().unwrap();
        assert!(
            demo.contains(&format!("/create #{name}")),
            "the demo makes no #{name}"
        );
    }
}

#[test]
fn the_docs_refer_to_no_document_outside_the_repository() {
    for path in [
        "README.md",
        "justfile",
        "docs/BENCHMARKS.md",
        "docs/SECURITY.md",
        "docs/PROTOCOL.md",
        "docs/ARCHITECTURE.md",
    ] {
        let text = repo_file(path);
        assert!(
            !text.contains("BRIEF"),
            "{path} names BRIEF, which is not here"
        );
    }
}
