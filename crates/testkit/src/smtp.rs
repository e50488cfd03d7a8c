//! A local SMTP sink: enough of RFC 5321 for a real client (the server's lettre) to hand
//! over messages, which it keeps whole (headers and body) with their envelope recipients.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One message the sink was handed.
#[derive(Debug, Clone)]
pub struct KeptMail {
    pub recipients: Vec<String>,
    /// The message as sent: headers and body, CRLF line ends, dot-stuffing left in.
    pub data: String,
}

impl KeptMail {
    /// The message with quoted-printable soft line breaks joined, for reading its text.
    pub fn unfolded(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }
}

/// The sink: its port, and the messages it kept so far.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    kept: Arc<Mutex<Vec<KeptMail>>>,
}

impl SmtpSink {
    /// Listens on `127.0.0.1:0` (call inside a tokio runtime).
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the SMTP sink");
        let port = listener.local_addr().expect("the sink's address").port();
        let kept: Arc<Mutex<Vec<KeptMail>>> = Arc::default();
        let store = kept.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, store.clone()));
            }
        });
        SmtpSink { port, kept }
    }

    /// `smtp://127.0.0.1:PORT`, for `LADDER_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message kept so far.
    pub fn messages(&self) -> Vec<KeptMail> {
        self.kept.lock().expect("sink lock").clone()
    }
}

async fn session(socket: tokio::net::TcpStream, kept: Arc<Mutex<Vec<KeptMail>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.to_ascii_uppercase();
        let answer: &[u8] = if command.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if ["HELO", "MAIL FROM", "RSET", "NOOP"].iter().any(|c| command.starts_with(c)) {
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO:") {
            recipients.push(line[8..].trim().trim_matches(['<', '>']).to_string());
            b"250 OK\r\n"
        } else if command.starts_with("DATA") {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            kept.lock().expect("sink lock").push(KeptMail { recipients: std::mem::take(&mut recipients), data });
            b"250 kept\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not here\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}
