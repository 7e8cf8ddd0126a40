//! Proptest strategies for every protocol type: each message variant, with every field.

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

use crate::error::ErrorCode;
use crate::ids::{MessageId, OfferId, Timestamp};
use crate::limits::MAX_NAME_LEN;
use crate::names::{Conv, GroupName, Username};
use crate::protocol::{
    Access, ChatMessage, ClientMessage, ConvSummary, Counts, FileCounts, FileInfo, FileOutcome,
    FileState, GroupEvent, GroupInfo, Limits, MemberInfo, MemberState, OfferSummary, Posting,
    Quote, Recipient, Role, Secret, ServerMessage,
};

/// Every error code; a test checks this against the ones serde knows.
pub const ERROR_CODES: &[ErrorCode] = &[
    ErrorCode::FrameTooLong,
    ErrorCode::InvalidUtf8,
    ErrorCode::BadJson,
    ErrorCode::UnknownType,
    ErrorCode::BadRequest,
    ErrorCode::InvalidName,
    ErrorCode::UnsupportedVersion,
    ErrorCode::HelloRequired,
    ErrorCode::LoginRequired,
    ErrorCode::AlreadyLoggedIn,
    ErrorCode::LoginTimeout,
    ErrorCode::BadPassword,
    ErrorCode::BadToken,
    ErrorCode::LoginThrottled,
    ErrorCode::SignUpClosed,
    ErrorCode::UnknownUser,
    ErrorCode::UnknownGroup,
    ErrorCode::NotMember,
    ErrorCode::NotOwner,
    ErrorCode::NotModerator,
    ErrorCode::NotAuthor,
    ErrorCode::InviteOnly,
    ErrorCode::Banned,
    ErrorCode::GroupExists,
    ErrorCode::AlreadyMember,
    ErrorCode::BadBody,
    ErrorCode::RateLimited,
    ErrorCode::UnknownMessage,
    ErrorCode::UnknownOffer,
    ErrorCode::NotRecipient,
    ErrorCode::BadChunk,
    ErrorCode::TooMuchData,
    ErrorCode::ChecksumMismatch,
    ErrorCode::FileTooLarge,
    ErrorCode::QuotaExceeded,
    ErrorCode::FileGone,
    ErrorCode::SlowConsumer,
    ErrorCode::IdleTimeout,
    ErrorCode::ServerShutdown,
    ErrorCode::StorageFailed,
    ErrorCode::ServerBusy,
    ErrorCode::Internal,
];

/// Any text, with what JSON must escape (quotes, backslashes, controls,
/// newlines, U+2028) well represented, and any Unicode besides.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<char>(), 0..24).prop_map(String::from_iter),
        "[\\x00-\\x1f\\x7f\"\\\\/\n\r\u{2028}\u{202e}\u{feff}a-z ]{0,16}",
    ]
}

fn name_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_.-]{{1,{MAX_NAME_LEN}}}"))
        .expect("a valid regex")
}

pub fn username() -> impl Strategy<Value = Username> {
    name_text().prop_map(|s| Username::new(&s).expect("a valid name"))
}

pub fn group_name() -> impl Strategy<Value = GroupName> {
    name_text().prop_map(|s| GroupName::new(&s).expect("a valid name"))
}

pub fn conv() -> impl Strategy<Value = Conv> {
    prop_oneof![
        username().prop_map(Conv::User),
        group_name().prop_map(Conv::Group)
    ]
}

pub fn message_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 16]>().prop_map(MessageId::from_bytes)
}

pub fn offer_id() -> impl Strategy<Value = OfferId> {
    any::<[u8; 16]>().prop_map(OfferId::from_bytes)
}

/// 0001-01-01 to 9999-12-31 in UTC: the instants RFC 3339 can write.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (-62_135_596_800_000i64..=253_402_300_799_999).prop_map(Timestamp::from_millis)
}

fn secret() -> impl Strategy<Value = Secret> {
    text().prop_map(Secret)
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    proptest::sample::select(ERROR_CODES)
}

fn req() -> impl Strategy<Value = Option<u64>> {
    of(any::<u64>())
}

fn counts() -> impl Strategy<Value = Counts> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(delivered, read, of)| Counts {
        delivered,
        read,
        of,
    })
}

fn file_state() -> impl Strategy<Value = FileState> {
    proptest::sample::select(vec![
        FileState::Pending,
        FileState::Accepted,
        FileState::Declined,
        FileState::Received,
        FileState::Cancelled,
        FileState::Expired,
    ])
}

fn file_counts() -> impl Strategy<Value = FileCounts> {
    any::<[u32; 4]>().prop_map(|[accepted, declined, received, of]| FileCounts {
        accepted,
        declined,
        received,
        of,
    })
}

fn file_outcome() -> impl Strategy<Value = FileOutcome> {
    (file_counts(), of(file_state()), any::<bool>()).prop_map(|(counts, state, over)| FileOutcome {
        counts,
        state,
        over,
    })
}

fn file_info() -> impl Strategy<Value = FileInfo> {
    (
        offer_id(),
        text(),
        any::<u64>(),
        text(),
        timestamp(),
        of(file_outcome()),
    )
        .prop_map(|(offer, name, size, sha256, expires, outcome)| FileInfo {
            offer,
            name,
            size,
            sha256,
            expires,
            outcome: outcome.map(Box::new),
        })
}

fn group_event() -> impl Strategy<Value = GroupEvent> {
    prop_oneof![
        Just(GroupEvent::Created),
        Just(GroupEvent::Joined),
        Just(GroupEvent::Left),
        username().prop_map(|user| GroupEvent::Added { user }),
        (username(), any::<bool>()).prop_map(|(user, banned)| GroupEvent::Kicked { user, banned }),
        username().prop_map(|user| GroupEvent::Unbanned { user }),
        (username(), role()).prop_map(|(user, role)| GroupEvent::Role { user, role }),
        access().prop_map(|access| GroupEvent::Access { access }),
        posting().prop_map(|posting| GroupEvent::Posting { posting }),
        any::<u64>().prop_map(|seq| GroupEvent::Pinned { seq }),
        any::<u64>().prop_map(|seq| GroupEvent::Unpinned { seq }),
        (group_name(), group_name()).prop_map(|(old, new)| GroupEvent::Renamed { old, new }),
        username().prop_map(|user| GroupEvent::Owner { user }),
        Just(GroupEvent::Deleted),
    ]
}

fn quote() -> impl Strategy<Value = Quote> {
    (any::<u64>(), username(), text(), any::<bool>()).prop_map(|(seq, from, text, deleted)| Quote {
        seq,
        from,
        text,
        deleted,
    })
}

pub fn chat_message() -> impl Strategy<Value = ChatMessage> {
    let changes = (
        of(quote()),
        of(any::<u64>()),
        of(any::<u64>()),
        of(timestamp()),
        any::<bool>(),
    );
    (
        changes,
        conv(),
        any::<u64>(),
        message_id(),
        username(),
        timestamp(),
        text(),
        of(group_event()),
        of(file_info()),
        of(counts()),
    )
        .prop_map(
            |(
                (reply, edit, delete, edited, deleted),
                conv,
                seq,
                id,
                from,
                ts,
                body,
                event,
                file,
                counts,
            )| ChatMessage {
                conv,
                seq,
                id,
                from,
                ts,
                body,
                event,
                file,
                counts,
                reply: reply.map(Box::new),
                edit,
                delete,
                edited,
                deleted,
                react: None,
                unreact: None,
                reactions: Vec::new(),
            },
        )
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        any::<usize>(),
        any::<usize>(),
        any::<usize>(),
        any::<usize>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        any::<usize>(),
        any::<usize>(),
    )
        .prop_map(
            |(
                max_frame,
                max_body,
                max_name,
                min_password,
                history_page,
                rate_per_sec,
                rate_burst,
                ping_secs,
                max_file,
                file_chunk,
                file_window,
            )| Limits {
                max_frame,
                max_body,
                max_name,
                min_password,
                history_page,
                rate_per_sec,
                rate_burst,
                ping_secs,
                max_file,
                file_chunk,
                file_window,
            },
        )
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![Just(Access::Open), Just(Access::Invite)]
}

fn posting() -> impl Strategy<Value = Posting> {
    prop_oneof![Just(Posting::Everyone), Just(Posting::Moderators)]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Owner), Just(Role::Moderator), Just(Role::Member)]
}

fn group_info() -> impl Strategy<Value = GroupInfo> {
    (
        group_name(),
        username(),
        any::<u32>(),
        any::<bool>(),
        timestamp(),
        access(),
        posting(),
        of(role()),
        any::<bool>(),
    )
        .prop_map(
            |(group, owner, members, member, created, access, posting, role, banned)| GroupInfo {
                group,
                owner,
                members,
                member,
                created,
                access,
                posting,
                role,
                banned,
                pinned: vec![created.as_millis().unsigned_abs() % 7],
            },
        )
}

fn member_info() -> impl Strategy<Value = MemberInfo> {
    (
        username(),
        any::<bool>(),
        any::<bool>(),
        of(timestamp()),
        timestamp(),
    )
        .prop_map(|(user, owner, online, last_seen, joined)| MemberInfo {
            user,
            moderator: !owner && online,
            owner,
            online,
            last_seen,
            joined,
        })
}

fn member_state() -> impl Strategy<Value = MemberState> {
    (username(), any::<bool>(), any::<bool>()).prop_map(|(user, delivered, read)| MemberState {
        user,
        delivered,
        read,
    })
}

fn conv_summary() -> impl Strategy<Value = ConvSummary> {
    (
        conv(),
        any::<u64>(),
        of(timestamp()),
        any::<[u64; 3]>(),
        of(any::<bool>()),
        of(timestamp()),
        of(any::<u32>()),
        of(username()),
        of(posting()),
        of(role()),
    )
        .prop_map(
            |(
                conv,
                last_seq,
                last_ts,
                [delivered, read, unread],
                online,
                last_seen,
                members,
                owner,
                posting,
                role,
            )| {
                ConvSummary {
                    conv,
                    last_seq,
                    last_ts,
                    delivered,
                    read,
                    unread,
                    online,
                    last_seen,
                    members,
                    owner,
                    posting,
                    role,
                    pinned: Vec::new(),
                }
            },
        )
}

fn offer_summary() -> impl Strategy<Value = OfferSummary> {
    let recipient = (username(), file_state()).prop_map(|(user, state)| Recipient { user, state });
    (
        file_info(),
        conv(),
        username(),
        of(file_state()),
        vec(recipient, 0..3),
    )
        .prop_map(|(file, conv, from, state, recipients)| OfferSummary {
            file,
            conv,
            from,
            state,
            recipients,
        })
}

pub fn client_message() -> impl Strategy<Value = ClientMessage> {
    use ClientMessage as C;
    prop_oneof![
        (any::<u32>(), of(text())).prop_map(|(version, client)| C::Hello { version, client }),
        (username(), of(secret()), of(secret()), any::<bool>()).prop_map(
            |(user, password, token, create)| C::Login {
                user,
                password,
                token,
                create,
            }
        ),
        (req(), secret(), secret()).prop_map(|(req, old, new)| C::Password { req, old, new }),
        (
            message_id(),
            conv(),
            text(),
            of(any::<u64>()),
            of(any::<u64>()),
            of(any::<u64>())
        )
            .prop_map(|(id, to, body, reply_to, edit, delete)| C::Send {
                id,
                to,
                body,
                reply_to,
                edit,
                delete,
                react: None,
                unreact: None,
            }),
        (conv(), any::<u64>()).prop_map(|(conv, seq)| C::Ack { conv, seq }),
        (req(), conv(), of(any::<u64>())).prop_map(|(req, conv, seq)| C::Read { req, conv, seq }),
        (
            req(),
            conv(),
            of(any::<u64>()),
            of(any::<u64>()),
            of(any::<u32>())
        )
            .prop_map(|(req, conv, before, after, limit)| C::History {
                req,
                conv,
                before,
                after,
                limit
            }),
        (
            req(),
            any::<String>(),
            of(conv()),
            of(any::<String>()),
            of(any::<u32>())
        )
            .prop_map(|(req, words, conv, before, limit)| C::Search {
                req,
                words,
                conv,
                before,
                limit
            }),
        req().prop_map(|req| C::Who { req }),
        (req(), username()).prop_map(|(req, user)| C::Whois { req, user }),
        (req(), message_id()).prop_map(|(req, id)| C::ReadBy { req, id }),
        req().prop_map(|req| C::Conversations { req }),
        (
            req(),
            group_name(),
            vec(username(), 0..4),
            of(access()),
            of(posting())
        )
            .prop_map(|(req, group, members, access, posting)| C::Create {
                req,
                group,
                members,
                access,
                posting
            }),
        (req(), group_name()).prop_map(|(req, group)| C::Join { req, group }),
        (req(), group_name()).prop_map(|(req, group)| C::Leave { req, group }),
        req().prop_map(|req| C::Groups { req }),
        (req(), group_name()).prop_map(|(req, group)| C::Members { req, group }),
        (req(), group_name(), group_name()).prop_map(|(req, group, to)| C::Rename {
            req,
            group,
            to
        }),
        (req(), group_name(), username()).prop_map(|(req, group, user)| C::Add {
            req,
            group,
            user
        }),
        (req(), group_name(), username()).prop_map(|(req, group, user)| C::Kick {
            req,
            group,
            user
        }),
        (req(), group_name(), username()).prop_map(|(req, group, user)| C::Owner {
            req,
            group,
            user
        }),
        (req(), group_name()).prop_map(|(req, group)| C::Delete { req, group }),
        (req(), group_name(), any::<u64>()).prop_map(|(req, group, seq)| C::Pin {
            req,
            group,
            seq
        }),
        (req(), group_name(), any::<u64>()).prop_map(|(req, group, seq)| C::Unpin {
            req,
            group,
            seq
        }),
        (req(), group_name(), username()).prop_map(|(req, group, user)| C::Unban {
            req,
            group,
            user
        }),
        (req(), group_name(), username(), role()).prop_map(|(req, group, user, role)| C::Role {
            req,
            group,
            user,
            role
        }),
        (req(), group_name(), of(access()), of(posting())).prop_map(
            |(req, group, access, posting)| C::Settings {
                req,
                group,
                access,
                posting
            }
        ),
        (req(), conv(), text(), any::<u64>(), text(), any::<bool>()).prop_map(
            |(req, to, name, size, sha256, stream)| C::Offer {
                req,
                to,
                name,
                size,
                sha256,
                stream,
            }
        ),
        (offer_id(), any::<u64>(), text()).prop_map(|(offer, offset, data)| C::Chunk {
            offer,
            offset,
            data
        }),
        (req(), offer_id(), any::<bool>()).prop_map(|(req, offer, bulk)| C::Accept {
            req,
            offer,
            bulk
        }),
        (offer_id(), any::<u64>()).prop_map(|(offer, received)| C::FileAck { offer, received }),
        (req(), offer_id()).prop_map(|(req, offer)| C::Received { req, offer }),
        (req(), offer_id()).prop_map(|(req, offer)| C::Decline { req, offer }),
        (req(), offer_id()).prop_map(|(req, offer)| C::Cancel { req, offer }),
        req().prop_map(|req| C::Files { req }),
        conv().prop_map(|to| C::Typing { to }),
        Just(C::Ping),
        Just(C::Pong),
        Just(C::Bye),
        text().prop_map(|token| C::Put { token }),
        (text(), any::<u64>()).prop_map(|(token, offset)| C::Get { token, offset }),
    ]
}

pub fn server_message() -> impl Strategy<Value = ServerMessage> {
    use ServerMessage as S;
    prop_oneof![
        (any::<u32>(), text(), limits()).prop_map(|(version, server, limits)| S::Welcome {
            version,
            server,
            limits
        }),
        (username(), any::<bool>(), secret(), timestamp()).prop_map(
            |(user, created, token, server_time)| S::LoggedIn {
                user,
                created,
                token,
                server_time
            }
        ),
        req().prop_map(|req| S::PasswordChanged { req }),
        any::<u64>().prop_map(|messages| S::Synced { messages }),
        (
            message_id(),
            conv(),
            any::<u64>(),
            timestamp(),
            any::<[u32; 2]>(),
            of(timestamp()),
            any::<bool>()
        )
            .prop_map(|(id, conv, seq, ts, [of, online], last_seen, duplicate)| {
                S::Stored {
                    id,
                    conv,
                    seq,
                    ts,
                    of,
                    online,
                    last_seen,
                    duplicate,
                }
            }),
        chat_message().prop_map(S::Message),
        (conv(), username(), any::<[u64; 3]>()).prop_map(
            |(conv, user, [joined, delivered, read])| S::Receipt {
                conv,
                user,
                joined,
                delivered,
                read
            }
        ),
        (username(), any::<bool>(), of(timestamp())).prop_map(|(user, online, last_seen)| {
            S::Presence {
                user,
                online,
                last_seen,
            }
        }),
        (req(), conv(), vec(chat_message(), 0..3), any::<bool>()).prop_map(
            |(req, conv, messages, more)| S::History {
                req,
                conv,
                messages,
                more
            }
        ),
        (req(), vec(chat_message(), 0..3), of(any::<String>())).prop_map(
            |(req, messages, next)| S::Search {
                req,
                messages,
                next
            }
        ),
        (req(), vec(username(), 0..4), any::<usize>()).prop_map(|(req, online, total)| S::Who {
            req,
            online,
            total
        }),
        any::<usize>().prop_map(|total| S::Online { total }),
        (conv(), username()).prop_map(|(conv, user)| S::Typing { conv, user }),
        (
            req(),
            username(),
            any::<bool>(),
            of(timestamp()),
            timestamp()
        )
            .prop_map(|(req, user, online, last_seen, since)| S::User {
                req,
                user,
                online,
                last_seen,
                since
            }),
        (
            req(),
            message_id(),
            conv(),
            any::<u64>(),
            counts(),
            vec(member_state(), 0..4)
        )
            .prop_map(|(req, id, conv, seq, counts, members)| S::ReadBy {
                req,
                id,
                conv,
                seq,
                counts,
                members
            }),
        (req(), group_info()).prop_map(|(req, info)| S::Group { req, info }),
        (req(), group_name()).prop_map(|(req, group)| S::GroupDeleted { req, group }),
        (req(), vec(group_info(), 0..3), any::<usize>())
            .prop_map(|(req, groups, total)| { S::Groups { req, groups, total } }),
        (
            req(),
            group_name(),
            username(),
            vec(member_info(), 0..3),
            any::<usize>(),
            vec(username(), 0..3)
        )
            .prop_map(|(req, group, owner, members, total, banned)| S::Members {
                req,
                group,
                owner,
                members,
                total,
                banned
            }),
        (req(), vec(conv_summary(), 0..3), any::<usize>()).prop_map(
            |(req, conversations, total)| S::Conversations {
                req,
                conversations,
                total
            }
        ),
        (
            req(),
            offer_id(),
            text(),
            any::<[usize; 2]>(),
            of(text()),
            any::<bool>()
        )
            .prop_map(|(req, offer, name, [chunk, window], token, stream)| {
                S::UploadReady {
                    req,
                    offer,
                    name,
                    chunk,
                    window,
                    token,
                    stream,
                }
            }),
        (offer_id(), any::<u64>()).prop_map(|(offer, received)| S::ChunkAck { offer, received }),
        (offer_id(), conv(), any::<u64>()).prop_map(|(offer, conv, seq)| S::Uploaded {
            offer,
            conv,
            seq
        }),
        (req(), file_info(), any::<[usize; 2]>(), of(text())).prop_map(
            |(req, file, [chunk, window], token)| S::Download {
                req,
                file,
                chunk,
                window,
                token
            }
        ),
        (offer_id(), any::<u64>(), any::<u64>()).prop_map(|(offer, offset, size)| {
            S::Transfer {
                offer,
                offset,
                size,
            }
        }),
        (offer_id(), any::<u64>()).prop_map(|(offer, size)| S::TransferDone { offer, size }),
        (offer_id(), any::<u64>(), text()).prop_map(|(offer, offset, data)| S::FileChunk {
            offer,
            offset,
            data
        }),
        (
            req(),
            offer_id(),
            conv(),
            text(),
            username(),
            file_state(),
            file_counts()
        )
            .prop_map(
                |(req, offer, conv, name, user, state, counts)| S::FileStatus {
                    req,
                    offer,
                    conv,
                    name,
                    user,
                    state,
                    counts
                }
            ),
        (
            req(),
            vec(offer_summary(), 0..3),
            vec(offer_summary(), 0..3),
            any::<bool>()
        )
            .prop_map(|(req, incoming, outgoing, more)| S::Files {
                req,
                incoming,
                outgoing,
                more
            }),
        (req(), conv(), any::<u64>()).prop_map(|(req, conv, seq)| S::ReadMarked { req, conv, seq }),
        (
            req(),
            of(message_id()),
            of(offer_id()),
            error_code(),
            text(),
            of(any::<u64>())
        )
            .prop_map(|(req, id, offer, code, message, retry_after_ms)| S::Error {
                req,
                id,
                offer,
                code,
                message,
                retry_after_ms
            }),
        Just(S::Ping),
        Just(S::Pong),
        Just(S::Bye),
    ]
}
