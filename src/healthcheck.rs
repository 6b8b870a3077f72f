//! `visitord healthcheck [--url U]`: asks a running server's `/health` (for container health
//! checks). Exit 0 on a 200; otherwise exit 1 with one line on standard error saying why.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long the whole check may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// `http://<bind>/health`, where an unspecified address (`0.0.0.0`, `::`) becomes the loopback
/// address of its family. A host name is kept as it is.
pub fn default_url(bind: &str) -> Result<String, String> {
    match bind.parse::<SocketAddr>() {
        Ok(addr) if addr.port() == 0 => Err(format!(
            "server.bind {bind} has port 0 (a random port): give the server's address with --url"
        )),
        Ok(mut addr) => {
            if addr.ip().is_unspecified() {
                addr.set_ip(match addr.ip() {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
                });
            }
            Ok(format!("http://{addr}/health"))
        }
        Err(_) => Ok(format!("http://{bind}/health")),
    }
}

/// GETs `url`: `Ok` on a 200, else why not.
pub fn check(url: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    match agent.get(url).call() {
        Ok(resp) if resp.status().as_u16() == 200 => Ok(()),
        Ok(resp) => Err(format!(
            "unhealthy: {url} answered {}",
            resp.status().as_u16()
        )),
        Err(e) => Err(format!("unhealthy: cannot reach {url}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_is_the_bind_address_with_unspecified_made_loopback() {
        for (bind, url) in [
            ("127.0.0.1:3000", "http://127.0.0.1:3000/health"),
            ("0.0.0.0:8080", "http://127.0.0.1:8080/health"),
            ("[::]:3000", "http://[::1]:3000/health"),
            ("localhost:3000", "http://localhost:3000/health"),
        ] {
            assert_eq!(default_url(bind).unwrap(), url, "{bind}");
        }
        assert_eq!(
            default_url("127.0.0.1:0").unwrap_err(),
            "server.bind 127.0.0.1:0 has port 0 (a random port): give the server's address with --url"
        );
    }
}
