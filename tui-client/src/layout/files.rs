//! How files read on screen: a file message and the line under it saying where
//! it stands, progress bars, rates and time left, and paths shown with `~`. The
//! message list and the transfers view both word things through here.

use std::path::{Path, PathBuf};

use classchat_common::files::{human_size, safe_name};
use classchat_common::protocol::{FileInfo, FileState};

use super::Ctx;
use crate::client::{Progress, TransferState};
use crate::model::offers::last_download;
use crate::model::{Entry, Sent};
use crate::text;

/// `📎 notes.pdf (1.2 MB)`, or `[file] notes.pdf (1.2 MB)` in ASCII.
pub fn label(file: &FileInfo, ascii: bool) -> String {
    let clip = if ascii { "[file]" } else { "📎" };
    format!(
        "{clip} {} ({})",
        text::clean_line(&safe_name(&file.name)),
        human_size(file.size)
    )
}

/// `path` for people: under the home folder as `~/…`, nothing a terminal would act on.
pub fn shown_path(path: &Path, home: Option<&Path>) -> String {
    let shown = match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    };
    text::clean_line(&shown).into_owned()
}

/// A typed path, with a leading `~` meaning the home folder.
pub fn typed_path(typed: &str, home: Option<&Path>) -> PathBuf {
    let typed = typed.trim();
    match (typed.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_path_buf(),
        (Some(rest), Some(home)) if rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(typed),
    }
}

/// Whole percent done (100 for an empty file that is done).
pub fn percent(p: &Progress) -> u64 {
    if p.size == 0 {
        return if p.state.is_over() { 100 } else { 0 };
    }
    p.bytes.min(p.size).saturating_mul(100) / p.size
}

/// A bar `width` cells wide, brackets included: `[█████░░░░░]`, `[#####-----]`.
pub fn bar(p: &Progress, width: usize, ascii: bool) -> String {
    let inner = width.saturating_sub(2);
    let filled = if p.size == 0 {
        if p.state.is_over() { inner } else { 0 }
    } else {
        usize::try_from(u128::from(p.bytes.min(p.size)) * inner as u128 / u128::from(p.size))
            .unwrap_or(inner)
    };
    let (full, empty) = if ascii { ("#", "-") } else { ("█", "░") };
    format!(
        "[{}{}]",
        full.repeat(filled),
        empty.repeat(inner.saturating_sub(filled))
    )
}

/// `<1s`, `45s`, `3m 05s`, `1h 02m`.
pub fn duration(secs: u64) -> String {
    match secs {
        0 => "<1s".into(),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// What a transfer is doing, in words.
pub fn state_text(p: &Progress, home: Option<&Path>) -> String {
    match &p.state {
        TransferState::Hashing => "hashing…".into(),
        TransferState::Offering => "waiting for the server".into(),
        TransferState::Uploading => "uploading".into(),
        TransferState::Uploaded => "sent — waiting for answers".into(),
        TransferState::Downloading => "downloading".into(),
        TransferState::Saved { path } => format!("saved to {}", shown_path(path, home)),
        TransferState::Failed { reason } => format!("failed: {}", text::clean_line(reason)),
        TransferState::Cancelled => "cancelled".into(),
    }
}

/// How the recipients of one of your offers stand: `waiting for answers`,
/// `1/2 received, 1 declined`; with one recipient just `received` and the like.
pub fn answers(sent: &Sent) -> String {
    if sent.withdrawn {
        return "withdrawn".into();
    }
    let Some(c) = sent.counts.filter(|c| c.accepted + c.declined > 0) else {
        return if sent.expired {
            "expired".into()
        } else {
            "waiting for answers".into()
        };
    };
    let downloading = c.accepted.saturating_sub(c.received);
    if c.of == 1 {
        return match (c.received, downloading) {
            (1, _) => "received".into(),
            (_, 1) => "accepted, downloading".into(),
            _ => "declined".into(),
        };
    }
    let mut parts = vec![format!("{}/{} received", c.received, c.of)];
    if downloading > 0 {
        parts.push(format!("{downloading} downloading"));
    }
    if c.declined > 0 {
        parts.push(format!("{} declined", c.declined));
    }
    let silent = c.of.saturating_sub(c.accepted + c.declined);
    if sent.expired && silent > 0 {
        parts.push(format!("{silent} did not answer in time"));
    }
    parts.join(", ")
}

/// The line under a message: why the server refused it, or, under a file
/// message, where the offer stands, for its sender or for you. `None` when
/// there is nothing to say.
pub fn note(e: &Entry, ctx: &Ctx<'_>) -> Option<String> {
    if let Some(why) = &e.failure {
        return Some(format!("not sent: {why}"));
    }
    let file = e.file.as_ref()?;
    if e.mine {
        let sent = ctx.offers.sent.get(&file.offer)?;
        // A streaming offer shows before its upload is over: say both.
        let uploading = ctx.transfers.iter().rev().find(|t| {
            t.progress.upload
                && t.progress.offer == Some(file.offer)
                && t.progress.state == TransferState::Uploading
        });
        return Some(match uploading {
            Some(t) => format!("uploading {}% — {}", percent(&t.progress), answers(sent)),
            None => format!("offered — {}", answers(sent)),
        });
    }
    let key = ctx
        .answer_key
        .map_or_else(|| "/files".to_owned(), |k| k.to_string());
    let offer = ctx.offers.get(file.offer);
    let open = offer.is_some_and(|o| ctx.offers.needs_answer(o, ctx.transfers, ctx.now));
    let again = |what: &str| {
        if open {
            format!(" — {key} to {what}")
        } else {
            String::new()
        }
    };
    // An answer given after a download stopped outranks the stopped download.
    let decided = offer.is_some_and(|o| {
        matches!(
            o.state,
            FileState::Declined | FileState::Cancelled | FileState::Expired
        )
    });
    if let Some(t) = last_download(ctx.transfers, file.offer).filter(|t| {
        !decided
            || matches!(
                t.progress.state,
                TransferState::Downloading | TransferState::Saved { .. }
            )
    }) {
        let p = &t.progress;
        return Some(match &p.state {
            TransferState::Downloading => format!("downloading {}%", percent(p)),
            TransferState::Failed { .. } => {
                format!("{}{}", state_text(p, ctx.home), again("try again"))
            }
            TransferState::Cancelled => format!("download stopped{}", again("accept it again")),
            _ => state_text(p, ctx.home),
        });
    }
    let Some(offer) = offer else {
        return (file.expires <= ctx.now).then(|| "expired".into());
    };
    Some(match offer.state {
        FileState::Pending | FileState::Accepted if offer.asked => {
            "accepted — starting the download".into()
        }
        FileState::Pending if open => format!("{key} to accept or decline"),
        FileState::Accepted if open => {
            format!("accepted, not downloaded yet{}", again("download it"))
        }
        FileState::Pending | FileState::Accepted | FileState::Expired => "expired".into(),
        FileState::Declined => "declined".into(),
        FileState::Received => "received".into(),
        FileState::Cancelled => format!("withdrawn by {}", text::clean_line(offer.from.as_str())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_left_read_naturally() {
        assert_eq!(duration(7), "7s");
        assert_eq!(duration(185), "3m 05s");
        assert_eq!(duration(3720), "1h 02m");
    }

    #[test]
    fn paths_under_home_show_with_a_tilde_and_typed_tildes_mean_home() {
        let home = Path::new("/home/bob");
        assert_eq!(
            shown_path(Path::new("/home/bob/Downloads/x.pdf"), Some(home)),
            "~/Downloads/x.pdf"
        );
        assert_eq!(shown_path(Path::new("/tmp/x"), Some(home)), "/tmp/x");
        assert_eq!(
            typed_path("~/in box", Some(home)),
            PathBuf::from("/home/bob/in box")
        );
        assert_eq!(typed_path("~", Some(home)), PathBuf::from("/home/bob"));
        assert_eq!(typed_path("rel/dir", Some(home)), PathBuf::from("rel/dir"));
    }
}
