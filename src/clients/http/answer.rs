//! What came back: a response, why none came, and how URLs and answers
//! may be shown.

use reqwest::header::HeaderMap;
use reqwest::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoResponseCause {
    MalformedUrl,
    Dns,
    Refused,
    Tls,
    Timeout,
    Broken,
    Other,
}

impl NoResponseCause {
    pub(crate) fn explain(self) -> &'static str {
        match self {
            NoResponseCause::MalformedUrl => "the URL is malformed; check the value for a missing scheme, spaces or newlines",
            NoResponseCause::Dns => "the host name did not resolve (DNS); check the host for typos and the runner's network",
            NoResponseCause::Refused => "the connection was refused; nothing listens at that address",
            NoResponseCause::Tls => "the TLS handshake failed; a proxy or a missing CA bundle may be in the way",
            NoResponseCause::Timeout => "the whole answer did not arrive within the request's deadline; the server or the network is slow, try again later",
            NoResponseCause::Broken => "the connection broke before the whole response arrived; try again later",
            NoResponseCause::Other => "the request failed before a response arrived",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("no response from {url} (HTTP 000): {}", cause.explain())]
    NoResponse { url: String, cause: NoResponseCause },
    #[error("the response from {url} is larger than {limit} bytes; a proxy or error page may be in the way")]
    TooLarge { url: String, limit: usize },
    #[error("{url} answered HTTP {status} with a body that is not the expected JSON ({detail}); Render's side or a proxy may be failing, try again later")]
    BadBody {
        url: String,
        status: u16,
        detail: String,
    },
}

pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: String,
}

impl Response {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::BadBody {
            url: self.url.clone(),
            status: self.status,
            detail: describe_body(&self.headers, &self.body, &e.to_string()),
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// What an API's error answer says: its JSON `message`, else the first
    /// line of a text body; shortened, since a server chooses its length.
    pub(crate) fn error_message(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            message: Option<String>,
        }
        match serde_json::from_slice::<ErrorBody>(&self.body) {
            Ok(ErrorBody {
                message: Some(message),
            }) => Some(crate::output::escape::one_line(&message, 300)),
            _ => Some(self.snippet()).filter(|s| !s.is_empty() && !s.starts_with('<')),
        }
    }

    /// The first line of a text body, for error messages (never the whole
    /// page: HTML error pages are long).
    pub(crate) fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        crate::inputs::shorten(line)
    }
}

fn describe_body(headers: &HeaderMap, body: &[u8], error: &str) -> String {
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type");
    if body.is_empty() {
        format!("empty body, {kind}")
    } else if kind.contains("html") || body.trim_ascii_start().starts_with(b"<") {
        format!("an HTML page of {} bytes", body.len())
    } else {
        format!("{error}, {} bytes, {kind}", body.len())
    }
}

/// A URL as it may appear in messages: scheme, host and path, no query
/// (a deploy hook carries its secret in the query).
pub(crate) fn display_url(url: &Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        match url.port() {
            Some(p) => format!(":{p}{}", url.path()),
            None => url.path().to_string(),
        }
    )
}

/// A service's URL with a health check path after it.
pub(crate) fn health_url(base: &str, path: &str) -> Result<Url, url::ParseError> {
    Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
}

/// A URL from an answer, as it may be shown, linked or requested: http(s)
/// only, no credentials, and the characters that end a Markdown link or
/// table cell percent-encoded.
pub(crate) fn web_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && url.host_str().is_some();
    plain.then(|| {
        url.as_str()
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('|', "%7C")
            .replace('`', "%60")
    })
}

/// The result of one HTTP health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub code: Option<u16>,
    /// Of the last attempt: a late answer after a spin-up shows here.
    pub latency_ms: u64,
    pub error: Option<String>,
    /// Requests made, retries included.
    pub attempts: u32,
}

impl HealthCheck {
    pub fn ok(&self) -> bool {
        self.code.is_some_and(|c| (200..400).contains(&c))
    }

    pub fn describe(&self) -> String {
        let answer = match (self.code, &self.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(e)) => format!("no answer ({e})"),
            (None, None) => "no answer".into(),
        };
        match self.attempts {
            0 | 1 => answer,
            n => format!("{answer}, {n} tries"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_have_no_query() {
        let url = Url::parse("https://api.render.com/deploy/srv-a?key=s3cret").unwrap();
        assert_eq!(display_url(&url), "https://api.render.com/deploy/srv-a");
        let url = Url::parse("http://127.0.0.1:8080/v1/services").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:8080/v1/services");
    }
}
