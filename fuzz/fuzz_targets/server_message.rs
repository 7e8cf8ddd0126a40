//! Any line decoded as a server message: never a panic, and what decodes survives
//! encoding and decoding again unchanged.
#![no_main]

use classchat_common::ServerMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    classchat_fuzz::round_trip(line, ServerMessage::decode, ServerMessage::to_line);
});
