//! Bodies that show nothing, and text hidden behind visible text: the server
//! refuses the first and stores the second exactly as sent (making it safe to
//! show is each client's job, with `classchat_common::text`).

use classchat_common::{ErrorCode, ServerMessage};

use crate::support::{ServerOptions, send_to, start_server};

/// `s` spelt in tag characters, which mirror ASCII and draw nothing.
fn in_tags(s: &str) -> String {
    s.chars()
        .map(|c| char::from_u32(0xE0000 + u32::from(c)).expect("ASCII has tag characters"))
        .collect()
}

#[tokio::test]
async fn a_body_of_only_invisible_characters_spaces_and_newlines_is_refused_with_bad_body() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let tags = format!("\u{E0001}{}\u{E007F}", in_tags("NO, AT 6 IN ROOM 9"));
    let bodies = [
        "\u{200B}".to_owned(),
        "\u{FEFF}".to_owned(),
        "\u{3164}\u{3164}".to_owned(),
        "\u{2800}".to_owned(),
        tags.clone(),
        format!(" \u{200B}\n\u{FEFF} \u{3164}\n\n\u{2800}\t{tags}\r\n "),
        "\u{115F}\u{1160}\u{FFA0}\u{34F}\u{AD}\u{2060}".to_owned(),
        "\u{FE0F}\u{200D}\u{FE0F}".to_owned(),
        "\u{A0}\u{3000}\u{2028}\u{202E}".to_owned(),
    ];
    for body in &bodies {
        let (id, send) = send_to("bob", body);
        alice.send(send).await;
        let refused = alice.recv_error(ErrorCode::BadBody).await;
        let message = expect!(
            refused,
            ServerMessage::Error { id: Some(got), message, .. } if got == id => message
        );
        assert!(message.contains("visible"), "{body:?}: {message}");
    }
    // None of them was stored or delivered: the next message is bob's first.
    let (id, _) = alice.send_stored("bob", "hello").await;
    let m = bob.recv_message().await;
    assert_eq!((m.id, m.seq, m.body.as_str()), (id, 1, "hello"));
}

#[tokio::test]
async fn visible_text_with_tag_characters_after_it_is_stored_and_delivered_as_sent() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let body = format!("meet at 5{}", in_tags(" NO, AT 6 IN ROOM 9"));
    let (id, _) = alice.send_stored("bob", &body).await;
    let m = bob.recv_message().await;
    assert_eq!((m.id, m.seq), (id, 1));
    assert_eq!(m.body, body, "the server keeps what was sent");
}
