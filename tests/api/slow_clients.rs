//! Clients that send their body slowly, or far too much of it, cannot hold a worker: the
//! body must arrive within `REQUEST_BODY_TIMEOUT` (408), and after a 413 the connection is
//! closed rather than drained. Raw TCP, since an HTTP client would not misbehave like this.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{Db, TestApp};

fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the peer closes the connection (or the read timeout): everything received.
fn read_all(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

async fn a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(db: Db) {
    let app = TestApp::spawn_with(db, &[("REQUEST_BODY_TIMEOUT", "1s")]).await;
    let mut stream = connect(&app);
    let (answer, waited) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        stream
            .write_all(
                b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                  Content-Length: 100\r\n\r\n{\"email\":",
            )
            .unwrap();
        // …and nothing more.
        let answer = read_all(&mut stream);
        (answer, started.elapsed())
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // Answered and closed by the server (not by our 10 s read timeout).
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
}

async fn after_a_413_the_rest_of_a_huge_chunked_body_is_not_read(db: Db) {
    const HUGE: usize = 256 * 1024 * 1024;
    let app = TestApp::spawn(db).await;
    let mut writer = connect(&app);
    let mut reader = writer.try_clone().unwrap();
    let written = tokio::task::spawn_blocking(move || {
        writer
            .write_all(
                b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                  Transfer-Encoding: chunked\r\n\r\n",
            )
            .unwrap();
        let chunk = vec![b' '; 16 * 1024];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        let mut written = 0;
        while written < HUGE {
            if writer.write_all(&framed).is_err() {
                break;
            }
            written += framed.len();
        }
        written
    });
    let answer = tokio::task::spawn_blocking(move || read_all(&mut reader))
        .await
        .unwrap();
    let written = written.await.unwrap();
    eprintln!("{written} bytes of a {HUGE}-byte body were sent before the server hung up");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"code\":\"payload_too_large\""),
        "{answer}"
    );
    // The server hung up: far less than the whole stream could be sent.
    assert!(
        written < HUGE / 4,
        "{written} bytes were accepted after the 413"
    );
}

crate::on_both_databases!(
    a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes,
    after_a_413_the_rest_of_a_huge_chunked_body_is_not_read,
);
