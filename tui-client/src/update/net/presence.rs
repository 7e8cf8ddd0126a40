//! Who is online: presence changes, the server's count, `/who`, `/whois`, and
//! saying so when what you send waits for someone offline.

use classchat_common::{Conv, Timestamp, Username};

use crate::model::{Asked, Model, Popup};
use crate::text;

/// `user` came online or went offline (someone you share a conversation with).
pub fn changed(model: &mut Model, user: &Username, online: bool, last_seen: Option<Timestamp>) {
    // The count is not moved here: it comes from the server alone (`total`),
    // which also hears of people this client gets no presence for.
    learned(model, user, online, last_seen);
    for c in &mut model.convs {
        if c.conv == Conv::User(user.clone()) {
            c.online = Some(online);
            c.last_seen = last_seen;
            // Back: the next time they are away is news again.
            c.told_offline &= !online;
        }
    }
}

/// Whether `user` is online, however the client heard it (a presence, a
/// `whois`, a stored message's count of recipients connected): what the
/// group rosters they are in say, and what a roster says of them when they
/// are added to another.
fn learned(model: &mut Model, user: &Username, online: bool, last_seen: Option<Timestamp>) {
    noted(model, user, online);
    for c in &mut model.convs {
        for m in c.roster.iter_mut().flatten().filter(|m| m.user == *user) {
            m.online = online;
            m.last_seen = last_seen.filter(|_| !online);
        }
    }
}

/// The same for who is online alone, when a roster says it.
pub fn noted(model: &mut Model, user: &Username, online: bool) {
    if online {
        model.online.insert(user.clone());
    } else {
        model.online.remove(user);
    }
}

/// The server's count of everyone online (`online`), sent when it changed.
pub fn total(model: &mut Model, total: usize) {
    model.online_total = total;
}

/// `who`: the client's own refresh, or the list `/who` asked for.
pub fn who(model: &mut Model, online: Vec<Username>, total: usize, asked: Option<&Asked>) {
    model.known_users.extend(online.iter().cloned());
    model.online = online.iter().cloned().collect();
    model.online_total = total;
    // Typed `/who`, rather than the client's own refresh: show the list.
    if matches!(asked, Some(Asked::Command(_))) {
        model.popup = Some(Popup::who(online, total));
    }
}

/// `user`: the answer to `/whois`, or to the client's own question about a
/// conversation whose presence it did not know.
pub fn user(
    model: &mut Model,
    user: &Username,
    online: bool,
    last_seen: Option<Timestamp>,
    asked: Option<&Asked>,
) {
    model.known_users.insert(user.clone());
    learned(model, user, online, last_seen);
    let conv = Conv::User(user.clone());
    if let Some(i) = model.find(&conv) {
        model.convs[i].online = Some(online);
        model.convs[i].last_seen = last_seen;
    }
    if asked == Some(&Asked::Quiet) {
        return;
    }
    let name = text::clean_line(user.as_str()).into_owned();
    let text = match (online, last_seen) {
        (true, _) => format!("{name} is online"),
        (false, Some(t)) => {
            format!("{name} was last seen {}", crate::layout::ago(t, model.now))
        }
        (false, None) => format!("{name} is offline"),
    };
    model.notify_state(&conv, text);
}

/// Your message to `conv` is stored: `online` of its recipients are connected
/// now, and for a direct message to someone offline `last_seen` says since when.
pub fn stored(model: &mut Model, conv: &Conv, online: u32, last_seen: Option<Timestamp>) {
    let Conv::User(peer) = conv else { return };
    if model.me.as_ref() != Some(peer) {
        learned(model, peer, online > 0, last_seen);
    }
    let Some(i) = model.find(conv) else { return };
    let c = &mut model.convs[i];
    c.online = Some(online > 0);
    c.last_seen = last_seen.filter(|_| online == 0);
    if online == 0 {
        away(model, i);
    }
}

/// Your file offer to `conv` is made: said as for a message when the other
/// person is offline (as far as presence says; the offer's reply does not).
pub fn offered(model: &mut Model, conv: &Conv) {
    if let Some(i) = model.find(conv)
        && !conv.is_group()
        && model.convs[i].online == Some(false)
    {
        away(model, i);
    }
}

/// What you send to `convs[i]` waits for its offline recipient: said once,
/// and again only after they have been back.
fn away(model: &mut Model, i: usize) {
    let c = &mut model.convs[i];
    if c.told_offline {
        return;
    }
    c.told_offline = true;
    let conv = c.conv.clone();
    let since = c
        .last_seen
        .map(|t| format!(", last seen {}", crate::layout::ago(t, model.now)))
        .unwrap_or_default();
    let name = text::clean_line(&conv.to_string()).into_owned();
    model.notify_state(
        &conv,
        format!("{name} is offline{since} — it waits for them"),
    );
}
