//! A real SMTP server for tests (feature `testing`): it listens on 127.0.0.1, speaks the
//! minimal RFC 5321 dialogue over TCP (220, EHLO/HELO, MAIL FROM, RCPT TO, DATA … `.`, QUIT)
//! and keeps what it receives. Not a mock: the SMTP adapter talks to it through lettre's real
//! transport.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The reverse path of `MAIL FROM:<…>`.
    pub mail_from: String,
    /// The forward paths of every `RCPT TO:<…>`.
    pub rcpt_to: Vec<String>,
    /// The DATA, dot-unstuffed, with CRLF line ends, without the final `.` line.
    pub data: String,
}

/// How the sink answers `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkMode {
    Accept,
    /// `550 no such user` to every recipient: a permanent failure.
    RejectRecipients,
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// A sink on a free port.
    pub async fn start() -> Self {
        Self::start_on(0, SinkMode::Accept)
            .await
            .expect("bind the SMTP sink")
    }

    /// A sink on `port` (0: a free one).
    pub async fn start_on(port: u16, mode: SinkMode) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (store, signal) = (received.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, signal) = (store.clone(), signal.clone());
                tokio::spawn(async move {
                    let _ = converse(stream, mode, store, signal).await;
                });
            }
        });
        Ok(Self {
            address,
            received,
            arrived,
            task,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `smtp://127.0.0.1:PORT`, as `SMTP_URL` takes it.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages arrived; `None` after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Option<Vec<ReceivedMail>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return Some(received);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let received = self.received();
                return (received.len() >= count).then_some(received);
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn path_of(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |at| at + 1);
    let end = argument.rfind('>').unwrap_or(argument.len());
    argument.get(start..end).unwrap_or_default().to_owned()
}

async fn converse(
    stream: TcpStream,
    mode: SinkMode,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = path_of(command);
                to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" if mode == SinkMode::RejectRecipients => b"550 5.1.1 no such user\r\n",
            "RCPT" => {
                to.push(path_of(command));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().unwrap().push(ReceivedMail {
                    mail_from: from.clone(),
                    rcpt_to: to.clone(),
                    data,
                });
                arrived.notify_waiters();
                b"250 2.0.0 OK queued\r\n"
            }
            "RSET" | "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
