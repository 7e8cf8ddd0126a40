//! Any line decoded as a client message: never a panic, and what decodes survives
//! encoding and decoding again unchanged.
#![no_main]

use classchat_common::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    classchat_fuzz::round_trip(line, ClientMessage::decode, ClientMessage::to_line);
});
