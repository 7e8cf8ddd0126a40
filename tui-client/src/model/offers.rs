//! File offers as the UI knows them: offers to you (who sent what, and where you
//! stand with each), and how your own offers stand with their recipients.

use std::collections::{HashMap, HashSet};

use classchat_common::protocol::{FileCounts, FileInfo, FileState, OfferSummary};
use classchat_common::{Conv, OfferId, Timestamp, Username};

use super::Transfer;
use crate::client::TransferState;

/// An offer made to you.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub file: FileInfo,
    pub conv: Conv,
    pub from: Username,
    /// Where you stand, as last heard or decided here.
    pub state: FileState,
    /// Accepted here in this run: its download is on its way.
    pub asked: bool,
}

/// One of your offers: how its recipients stand, as last heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent {
    pub counts: Option<FileCounts>,
    /// You withdrew it (here, or elsewhere while this client was away).
    pub withdrawn: bool,
    /// It ran out before everyone answered.
    pub expired: bool,
}

#[derive(Debug, Default)]
pub struct Offers {
    /// Oldest first: `Ctrl+O` answers them in the order they came.
    pub incoming: Vec<Incoming>,
    pub sent: HashMap<OfferId, Sent>,
    /// The open offers to you that the `files` reply of this connection listed,
    /// once it came: an offer caught up on afterwards that it did not list was
    /// answered meanwhile (on another device) and is not asked about again.
    pub listed: Option<HashSet<OfferId>>,
}

impl Offers {
    pub fn get(&self, offer: OfferId) -> Option<&Incoming> {
        self.incoming.iter().find(|o| o.file.offer == offer)
    }

    pub fn get_mut(&mut self, offer: OfferId) -> Option<&mut Incoming> {
        self.incoming.iter_mut().find(|o| o.file.offer == offer)
    }

    /// Records an offer that just arrived; `false` if it was known already (its
    /// state, answered or not, is kept).
    pub fn arrived(&mut self, file: &FileInfo, conv: &Conv, from: &Username) -> bool {
        if self.get(file.offer).is_some() {
            return false;
        }
        self.incoming.push(Incoming {
            file: file.clone(),
            conv: conv.clone(),
            from: from.clone(),
            state: FileState::Pending,
            asked: false,
        });
        true
    }

    /// Where you stand with an offer to you, as `history` says it stands now:
    /// also for one this client never heard of (it came while it was away,
    /// and another of your devices answered it).
    pub fn outcome(&mut self, file: &FileInfo, conv: &Conv, from: &Username, state: FileState) {
        match self.get_mut(file.offer) {
            Some(known) => known.state = state,
            None => self.incoming.push(Incoming {
                file: FileInfo {
                    outcome: None,
                    ..file.clone()
                },
                conv: conv.clone(),
                from: from.clone(),
                state,
                asked: false,
            }),
        }
    }

    /// Takes in a `files` reply: it is the truth about which offers are open.
    pub fn listing(&mut self, incoming: Vec<OfferSummary>, outgoing: &[OfferSummary]) {
        let open: HashSet<OfferId> = incoming.iter().map(|s| s.file.offer).collect();
        // Open here but not there: answered elsewhere, withdrawn or expired.
        self.incoming.retain(|o| {
            open.contains(&o.file.offer)
                || !matches!(o.state, FileState::Pending | FileState::Accepted)
        });
        for s in incoming {
            let state = s.state.unwrap_or(FileState::Pending);
            match self.get_mut(s.file.offer) {
                Some(known) => known.state = state,
                None => self.incoming.push(Incoming {
                    file: s.file,
                    conv: s.conv,
                    from: s.from,
                    state,
                    asked: false,
                }),
            }
        }
        for s in outgoing {
            let mut counts = FileCounts {
                of: s.recipients.len() as u32,
                ..FileCounts::default()
            };
            for r in &s.recipients {
                match r.state {
                    FileState::Accepted => counts.accepted += 1,
                    FileState::Declined => counts.declined += 1,
                    FileState::Received => {
                        counts.accepted += 1;
                        counts.received += 1;
                    }
                    _ => {}
                }
            }
            self.sent.entry(s.file.offer).or_default().counts = Some(counts);
        }
        self.listed = Some(open);
    }

    /// Whether `offer` waits for you to accept or decline it: never answered,
    /// or accepted but its download in this run failed or was stopped.
    pub fn needs_answer(&self, offer: &Incoming, transfers: &[Transfer], now: Timestamp) -> bool {
        if offer.file.expires <= now {
            return false;
        }
        let download = last_download(transfers, offer.file.offer).map(|t| &t.progress.state);
        match (offer.state, download) {
            (FileState::Pending | FileState::Accepted, None) => !offer.asked,
            (
                FileState::Pending | FileState::Accepted,
                Some(TransferState::Failed { .. } | TransferState::Cancelled),
            ) => true,
            _ => false,
        }
    }

    /// The offers waiting for an answer, oldest first.
    pub fn waiting<'a>(
        &'a self,
        transfers: &'a [Transfer],
        now: Timestamp,
    ) -> impl Iterator<Item = &'a Incoming> + 'a {
        self.incoming
            .iter()
            .filter(move |o| self.needs_answer(o, transfers, now))
    }
}

/// This run's download of `offer`, if there was one.
pub fn last_download(transfers: &[Transfer], offer: OfferId) -> Option<&Transfer> {
    transfers
        .iter()
        .rev()
        .find(|t| !t.progress.upload && t.progress.offer == Some(offer))
}
