//! A WebSocket client for streams (Render's logs), with the promises every
//! request keeps: one deadline for resolving, connecting, TLS and the
//! handshake; a deadline on every read and write, however slowly the
//! server drips its bytes; a cap on what one message may hold. Blocking,
//! like the rest of the client: the caller reads with a deadline of its
//! own choosing and gets nothing when nothing came by then.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Url;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::NoResponseCause;

/// The largest message a stream may send (a log line is far smaller).
const MAX_MESSAGE: usize = 1 << 20;
/// How long a close may take when the stream is dropped.
const CLOSING: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub(crate) enum SocketError {
    #[error("the server answered HTTP {status} instead of opening the stream")]
    Refused {
        status: u16,
        headers: Box<HeaderMap>,
        message: Option<String>,
    },
    #[error("no stream opened: {}", .0.explain())]
    NoResponse(NoResponseCause),
    #[error("the stream was closed")]
    Closed,
    #[error("the stream broke ({0})")]
    Broken(String),
}

/// A TCP connection whose every read and write gives up at `deadline`.
struct Timed {
    tcp: TcpStream,
    deadline: Instant,
}

impl Timed {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(left.max(Duration::from_millis(1)))
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Plain on loopback, TLS elsewhere (rustls, as every request).
enum Conn {
    Plain(Timed),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Timed>>),
}

impl Conn {
    fn timed(&mut self) -> &mut Timed {
        match self {
            Conn::Plain(t) => t,
            Conn::Tls(s) => &mut s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(t) => t.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(t) => t.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(t) => t.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// An open stream.
pub(crate) struct Socket {
    ws: WebSocket<Conn>,
    /// The answer that opened it, for the rate limiter.
    pub headers: HeaderMap,
}

impl Socket {
    /// Opens `url` (`https` becomes `wss`, `http` `ws`) with `headers`,
    /// everything done by `deadline`.
    pub(crate) fn open(
        url: &Url,
        headers: &[(&'static str, String)],
        deadline: Instant,
    ) -> Result<Socket, SocketError> {
        let malformed = || SocketError::NoResponse(NoResponseCause::MalformedUrl);
        let host = url.host_str().ok_or_else(malformed)?.to_string();
        let port = url.port_or_known_default().ok_or_else(malformed)?;
        let tcp = connect(&host, port, deadline)?;
        let _ = tcp.set_nodelay(true);
        let timed = Timed { tcp, deadline };
        let (conn, scheme) = match url.scheme() {
            "https" => (Conn::Tls(Box::new(tls(&host, timed)?)), "wss"),
            "http" => (Conn::Plain(timed), "ws"),
            _ => return Err(malformed()),
        };
        let mut ws_url = url.clone();
        ws_url.set_scheme(scheme).map_err(|()| malformed())?;
        let mut request = ws_url
            .as_str()
            .into_client_request()
            .map_err(|_| malformed())?;
        for (name, value) in headers {
            let value = value.parse().map_err(|_| malformed())?;
            request.headers_mut().insert(*name, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        match tungstenite::client::client_with_config(request, conn, Some(config)) {
            Ok((ws, answer)) => Ok(Socket {
                ws,
                headers: answer.headers().clone(),
            }),
            Err(HandshakeError::Failure(tungstenite::Error::Http(answer))) => {
                Err(SocketError::Refused {
                    status: answer.status().as_u16(),
                    headers: Box::new(answer.headers().clone()),
                    message: answer.body().as_deref().and_then(error_message),
                })
            }
            Err(HandshakeError::Interrupted(_)) => {
                Err(SocketError::NoResponse(NoResponseCause::Timeout))
            }
            Err(HandshakeError::Failure(e)) => Err(SocketError::NoResponse(cause(&e))),
        }
    }

    /// The next message if one arrives by `until`; `None` when none did.
    /// A message cut off at `until` is kept for the next call.
    pub(crate) fn next_text(&mut self, until: Instant) -> Result<Option<String>, SocketError> {
        self.ws.get_mut().timed().deadline = until;
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => return Ok(Some(text.as_str().to_string())),
                Ok(Message::Binary(bytes)) => {
                    return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                Ok(Message::Close(_)) => return Err(SocketError::Closed),
                // Pings are answered by the next read or write.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(tungstenite::Error::Io(e)) if waited(&e) => return Ok(None),
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(SocketError::Closed)
                }
                Err(e) => return Err(SocketError::Broken(e.to_string())),
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.get_mut().timed().deadline = Instant::now() + CLOSING;
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// A read that ended because its time was up, not because of the server.
fn waited(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn cause(e: &tungstenite::Error) -> NoResponseCause {
    match e {
        tungstenite::Error::Io(io) if waited(io) => NoResponseCause::Timeout,
        tungstenite::Error::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
            NoResponseCause::Tls
        }
        tungstenite::Error::Io(_) | tungstenite::Error::ConnectionClosed => NoResponseCause::Broken,
        _ => NoResponseCause::Other,
    }
}

/// `message` from an error body such as Render's `{"id", "message"}`.
fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("message")?.as_str().map(String::from)
}

/// Resolves and connects by `deadline`. The system resolver has no timeout
/// of its own, so it runs on a thread that is left behind when it is late.
fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, SocketError> {
    let (sender, receiver) = mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::spawn(move || {
        let found: io::Result<Vec<SocketAddr>> = target.to_socket_addrs().map(Iterator::collect);
        let _ = sender.send(found);
    });
    let left = deadline.saturating_duration_since(Instant::now());
    let addresses = match receiver.recv_timeout(left) {
        Ok(Ok(found)) if !found.is_empty() => found,
        Ok(_) => return Err(SocketError::NoResponse(NoResponseCause::Dns)),
        Err(_) => return Err(SocketError::NoResponse(NoResponseCause::Timeout)),
    };
    let mut cause = NoResponseCause::Refused;
    for address in addresses {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(SocketError::NoResponse(NoResponseCause::Timeout));
        }
        match TcpStream::connect_timeout(&address, left) {
            Ok(tcp) => return Ok(tcp),
            Err(e) if waited(&e) => cause = NoResponseCause::Timeout,
            Err(_) => {}
        }
    }
    Err(SocketError::NoResponse(cause))
}

/// TLS as reqwest does it: rustls on ring, webpki's roots.
fn tls(
    host: &str,
    timed: Timed,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, Timed>, SocketError> {
    let failed = |_| SocketError::NoResponse(NoResponseCause::Tls);
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| SocketError::NoResponse(NoResponseCause::MalformedUrl))?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(failed)?;
    Ok(rustls::StreamOwned::new(connection, timed))
}
