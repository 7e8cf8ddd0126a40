//! Any text as a user, group or conversation name, and as a file name to save.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    classchat_fuzz::names(text);
    classchat_fuzz::file_name(text);
});
