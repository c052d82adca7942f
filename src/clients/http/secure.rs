//! Which URLs may carry a secret: https, or plain http to a loopback host
//! (the tests' and the simulator's). Every URL an input gives is checked
//! here before any request.

use reqwest::Url;

use crate::inputs::InputError;

/// Hook and API URLs must be https, except on loopback hosts, which tests
/// and the simulator use.
pub(crate) fn check_host(input: &str, url: &Url) -> Result<(), InputError> {
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InputError::new(input, "has no host; use an https:// URL"));
    }
    // Never echoed: the part before `@` is a credential.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InputError::new(
            input,
            "carries credentials before the host (user:password@); remove them, the key goes in its own input",
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(InputError::new(
            input,
            "uses plain http:// on a public host; secrets would travel unencrypted. Use https://",
        )),
        other => Err(InputError::new(
            input,
            format!(
                "uses the scheme {}:, not https://",
                crate::inputs::shorten(other)
            ),
        )),
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
