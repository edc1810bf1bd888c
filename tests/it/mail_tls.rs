//! E-mail over TLS, against a local fake relay: what the mailer puts on the
//! wire for `smtps://` (a TLS ClientHello first) and `?tls=starttls`
//! (STARTTLS, then a ClientHello; nothing sent in clear when the relay does
//! not offer it).

use std::sync::{Arc, Mutex};

use maillage::mail::Mailer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A relay that speaks just enough SMTP and records the raw bytes it got.
/// `offer_starttls`: advertise STARTTLS and accept it (then the client
/// starts TLS, which this relay cannot finish).
async fn relay(offer_starttls: bool) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let _ = sock.write_all(b"220 relay ESMTP\r\n").await;
                let mut buf = [0u8; 4096];
                loop {
                    let n = match tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        sock.read(&mut buf),
                    )
                    .await
                    {
                        Ok(Ok(n)) if n > 0 => n,
                        _ => return,
                    };
                    store.lock().unwrap().extend_from_slice(&buf[..n]);
                    let line = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                    let reply: &[u8] = if line.starts_with("EHLO") {
                        if offer_starttls {
                            b"250-relay\r\n250 STARTTLS\r\n"
                        } else {
                            b"250-relay\r\n250 8BITMIME\r\n"
                        }
                    } else if line.starts_with("STARTTLS") {
                        b"220 go ahead\r\n"
                    } else if line.starts_with("QUIT") {
                        let _ = sock.write_all(b"221 bye\r\n").await;
                        return;
                    } else if buf[0] == 0x16 {
                        // A TLS handshake: this relay has no certificate.
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    if sock.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

fn seen(bytes: &Arc<Mutex<Vec<u8>>>) -> Vec<u8> {
    bytes.lock().unwrap().clone()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_uppercase()
}

#[tokio::test]
async fn smtps_starts_with_a_tls_handshake() {
    let (port, got) = relay(false).await;
    let m = Mailer::new(&format!("smtps://localhost:{port}"), "a@maillage.test").unwrap();
    assert!(m.send("b@exemple.test", "Objet", "Texte").await.is_err());
    let bytes = seen(&got);
    assert_eq!(
        bytes.first(),
        Some(&0x16),
        "TLS ClientHello first: {bytes:?}"
    );
    assert!(!text(&bytes).contains("MAIL FROM"));
    assert_eq!(m.stats().failed, 1);
    assert_eq!(m.stats().queued, 0);
}

#[tokio::test]
async fn starttls_required_upgrades_before_anything_else() {
    let (port, got) = relay(true).await;
    let m = Mailer::new(
        &format!("smtp://u:p@localhost:{port}?tls=starttls"),
        "a@maillage.test",
    )
    .unwrap();
    assert!(m.send("b@exemple.test", "Objet", "Texte").await.is_err());
    let bytes = seen(&got);
    let t = text(&bytes);
    let at = t.find("STARTTLS").expect("STARTTLS sent");
    let after = &bytes[at + "STARTTLS\r\n".len()..];
    assert_eq!(after.first(), Some(&0x16), "ClientHello after STARTTLS");
    assert!(!t.contains("AUTH") && !t.contains("MAIL FROM"), "{t}");
}

#[tokio::test]
async fn starttls_required_sends_nothing_to_a_relay_without_it() {
    let (port, got) = relay(false).await;
    let m = Mailer::new(
        &format!("smtp://u:p@localhost:{port}?tls=starttls"),
        "a@maillage.test",
    )
    .unwrap();
    assert!(m.send("b@exemple.test", "Objet", "Texte").await.is_err());
    let t = text(&seen(&got));
    assert!(t.starts_with("EHLO"), "{t}");
    assert!(!t.contains("AUTH") && !t.contains("MAIL FROM"), "{t}");
}

#[tokio::test]
async fn plain_smtp_still_delivers() {
    let (port, got) = relay(false).await;
    let m = Mailer::new(&format!("smtp://127.0.0.1:{port}"), "a@maillage.test").unwrap();
    // The relay records but never ends DATA: just check the envelope went out.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        m.send("b@exemple.test", "Objet", "Texte"),
    )
    .await;
    assert!(text(&seen(&got)).contains("MAIL FROM:<A@MAILLAGE.TEST>"));
}
