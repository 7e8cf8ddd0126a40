//! BRIEF §6, "Bad input, faults and attacks", item by item: each is sent to the
//! real server (or fed to the real client screen), and the answer checked: a
//! clear error to whoever sent it, nothing lost, everyone else served as
//! before, memory bounded. One module per bullet of §6; tests that live
//! elsewhere are named with their file.
//!
//! **Over-long lines, lines split at every byte boundary, invalid UTF-8,
//! malformed or deeply nested JSON, unknown message types, huge numbers,
//! missing fields** — [`framing`]
//! - over-long lines: `framing::an_over_long_line_gets_frame_too_long_and_a_close_while_others_chat_on`,
//!   `framing::an_over_long_line_before_login_is_refused_the_same_way`,
//!   `framing::a_line_of_exactly_the_frame_limit_is_read_and_answered`
//! - lines split at every byte boundary: `framing::a_line_split_into_single_bytes_is_decoded_like_any_other`;
//!   the codec split at every point: `common/src/codec.rs::tests::splitting_the_stream_anywhere_gives_the_same_lines`
//! - invalid UTF-8, malformed JSON, deeply nested JSON, unknown types, missing
//!   fields: `framing::malformed_lines_get_an_error_naming_the_problem_and_the_connection_stays_open`
//!   (before hello, before login and after), `framing::bad_lines_between_good_ones_in_one_write_lose_none_of_the_good_ones`,
//!   `framing::a_refused_line_names_the_request_it_answers_when_it_can`
//! - huge numbers: `framing::huge_and_negative_numbers_are_refused_or_clamped_without_harm`
//!
//! **A connection that never finishes its `hello`, one that opens and sends
//! nothing, thousands of connections from one address, message floods, a
//! reader that never reads** — [`connections`]
//! - never finishes `hello`: `connections::a_connection_that_never_says_hello_is_closed_after_the_login_timeout`,
//!   `connections::a_connection_that_says_hello_but_never_logs_in_is_closed_after_the_login_timeout`,
//!   `connections::five_hundred_connections_that_never_say_hello_are_all_closed_on_time_while_others_chat`
//!   (half of them half a `hello` line)
//! - opens and sends nothing: the same three, and after login
//!   `connections::a_silent_client_is_pinged_then_closed_and_one_that_answers_stays`
//! - thousands of connections from one address: `connections::a_thousand_idle_connections_from_one_address_do_not_disturb_a_conversation`,
//!   `connections::one_address_cannot_hold_more_connections_than_its_share`,
//!   `connections::connections_beyond_the_limit_are_told_the_server_is_busy`
//! - message floods: `connections::a_flood_is_refused_with_rate_limited_and_a_retry_time_and_others_are_unaffected`;
//!   offers: `server/tests/files/refusals.rs::offers_share_the_senders_rate_limit_and_say_when_to_try_again`;
//!   password guessing: `server/tests/login.rs::password_guessing_is_slowed_per_account_and_per_address`
//! - a reader that never reads: `connections::a_client_that_stops_reading_is_dropped_without_slowing_the_sender_and_loses_nothing`,
//!   `connections::a_group_member_who_never_reads_is_dropped_without_holding_up_the_others`,
//!   `server/tests/shutdown.rs::a_client_that_stopped_reading_does_not_hold_up_a_shutdown`
//!
//! **Posing as another user, sending to groups one is not in, renaming or
//! kicking without owning, reading another conversation's history or receipts,
//! acknowledging someone else's messages** — [`authority`]
//! - posing as another user: `authority::posing_as_another_user_is_refused_and_the_real_one_chats_on_untouched`,
//!   `server/tests/direct.rs::the_sender_and_timestamp_are_the_servers_never_the_clients`,
//!   `server/tests/login.rs::one_users_token_does_not_log_in_as_another`
//! - sending to groups one is not in: `authority::an_outsider_cannot_send_or_offer_to_a_group_and_its_members_see_nothing`,
//!   `server/tests/groups.rs::what_members_and_outsiders_may_not_do_is_refused_with_a_reason`
//! - renaming or kicking without owning: `server/tests/groups.rs::members_and_outsiders_alike_are_refused_what_only_the_owner_may_do`
//!   (rename, add, kick, hand over, delete), `authority::renaming_or_kicking_without_owning_leaves_the_group_and_its_members_alone`
//! - another conversation's history or receipts: `authority::another_conversations_history_and_receipts_stay_private`,
//!   `server/tests/direct.rs::read_by_answers_for_your_own_messages_only`
//! - acknowledging someone else's messages: `authority::acknowledging_someone_elses_messages_moves_only_your_own_cursor`;
//!   someone else's file: `server/tests/files/refusals.rs::data_for_an_unknown_or_declined_offer_is_refused_and_no_one_else_may_take_it`
//!
//! **File names with `/`, `..`, NUL, control characters, bidi overrides, or
//! 300 bytes; files larger than declared or with a wrong checksum; data for an
//! offer that was declined** — `server/tests/files/refusals.rs`
//! - hostile names: `hostile_file_names_are_made_safe_before_anyone_sees_them` (the
//!   server); `tui-client/src/client/transfers.rs::tests::a_hostile_name_is_saved_inside_the_folder`
//!   and `tui-client/tests/files.rs::files_with_hostile_names_land_directly_in_the_chosen_folder` (the client)
//! - larger than declared: `more_bytes_than_declared_are_refused_and_discard_the_upload`
//! - wrong checksum: `a_wrong_checksum_discards_the_upload_and_offers_nothing`
//! - data for a declined offer: `data_for_an_unknown_or_declined_offer_is_refused_and_no_one_else_may_take_it`
//!
//! **Terminal escape sequences (ANSI CSI, OSC title/clipboard), C0/C1
//! controls, bidi and zero-width characters in any text the client displays** —
//! the client's own tests, through the real `update` and view into `TestBackend`
//! - message bodies, group event text, error notices, pasted text; user and
//!   group names (refused where they enter, a server line carrying one does not
//!   decode): `tui-client/src/ui/tests.rs::hostile_text_is_shown_inert`
//! - error messages: the same, and `tui-client/src/ui/tests.rs::hostile_text_in_the_login_error_is_shown_inert`
//! - notices: `tui-client/src/ui/tests.rs::hostile_text_in_connection_notices_is_shown_inert`
//! - file names and transfer failures: `tui-client/src/ui/tests_files.rs::a_hostile_file_name_is_shown_inert_in_the_offer_the_message_and_the_transfers`,
//!   `tui-client/src/ui/tests_files.rs::hostile_names_of_local_files_are_shown_inert_in_the_picker`
//! - pipe mode's output: `tui-client/tests/pipe.rs::hostile_text_reaches_a_script_intact_and_a_terminal_inert`
//! - the cleaning itself: `tui-client/src/text.rs::tests::escape_sequences_and_controls_become_visible_and_inert`,
//!   `tui-client/src/text.rs::tests::bidi_overrides_are_shown_and_invisible_characters_dropped`;
//!   which characters those are, once for both sides: `common/src/text.rs::tests`
//! - text hidden in invisible characters (tag characters, fillers, zero-width
//!   and blank characters) — [`invisible`]: a body with nothing visible is
//!   refused, `invisible::a_body_of_only_invisible_characters_spaces_and_newlines_is_refused_with_bad_body`;
//!   one with text hidden after visible text is stored as sent,
//!   `invisible::visible_text_with_tag_characters_after_it_is_stored_and_delivered_as_sent`,
//!   and shown without it, `tui-client/src/ui/tests.rs::hostile_text_is_shown_inert`
//!   and `tui-client/tests/pipe.rs::hostile_text_reaches_a_script_intact_and_a_terminal_inert`
//!
//! **`kill -9` of the server during load; a full disk; a corrupt or missing
//! database file** — [`faults`], through the real binary
//! - `kill -9` under load: `server/tests/durability.rs::kill_9_under_load_loses_no_message_that_was_answered_stored`
//! - a full disk: `faults::a_full_disk_refuses_what_it_cannot_store_loses_nothing_stored_and_recovers`
//! - a corrupt database: `faults::a_corrupt_database_file_stops_the_server_at_start_with_a_clear_error_and_is_left_alone`
//! - a missing database: `faults::a_missing_database_file_is_never_silently_replaced_while_its_data_is_still_there`

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod authority;
mod connections;
mod faults;
mod floods;
mod framing;
mod invisible;
mod slow_link;
