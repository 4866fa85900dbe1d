//! Which URLs the functions may fetch (SSRF protection).
//!
//! The status and download URLs come from the reporting API, so they are
//! outside input: a compromised or buggy API could point the function at the
//! instance metadata service (169.254.169.254) or at a private network. A URL
//! is fetched only when its scheme is https (plain http in local mode), its
//! host is the API's own or an allowed one, and it is not an internal
//! address. The same check runs on every redirect hop, and the DNS resolver
//! drops internal addresses a public name resolves to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::config::{self, ConfigError, Lookup};

#[derive(Debug, Clone, PartialEq)]
pub struct UrlPolicy {
    /// Hosts allowed; an entry starting with `.` allows every subdomain.
    pub allowed_hosts: Vec<String>,
    /// Local development: plain http and loopback/private addresses are allowed.
    pub local_mode: bool,
}

impl UrlPolicy {
    /// The API's own host plus `DOWNLOAD_ALLOWED_HOSTS`; `LOCAL_MODE` relaxes the rest.
    pub fn from_lookup(env: &dyn Lookup, api_base_url: &str) -> Result<Self, ConfigError> {
        let mut allowed_hosts: Vec<String> = config::list_or(env, "DOWNLOAD_ALLOWED_HOSTS", &[])
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if let Some(host) = reqwest::Url::parse(api_base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        {
            allowed_hosts.push(host);
        }
        Ok(UrlPolicy {
            allowed_hosts,
            local_mode: config::parse_or(env, "LOCAL_MODE", false)?,
        })
    }

    fn is_permissive(&self) -> bool {
        self.local_mode && self.allowed_hosts.is_empty()
    }

    /// Checks a URL, saying why it is refused.
    pub fn check(&self, raw: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(raw)
            .map_err(|e| format!("{} is not a URL ({e})", redact_url(raw)))?;
        self.check_url(&url)?;
        Ok(url)
    }

    pub(crate) fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        match url.scheme() {
            "https" => {}
            "http" if self.local_mode => {}
            other => return Err(format!("{host}: the scheme must be https, not {other}")),
        }
        if self.is_permissive() {
            return Ok(());
        }
        if !self.local_mode && is_internal_host(&host) {
            return Err(format!("{host} is an internal address"));
        }
        let allowed = self
            .allowed_hosts
            .iter()
            .any(|h| match h.strip_prefix('.') {
                Some(domain) => host == domain || host.ends_with(&format!(".{domain}")),
                None => &host == h,
            });
        if !allowed {
            return Err(format!(
                "host {host} is not allowed (allowed: {}; see DOWNLOAD_ALLOWED_HOSTS)",
                self.allowed_hosts.join(", ")
            ));
        }
        Ok(())
    }

    /// A reqwest redirect policy that applies [`UrlPolicy::check_url`] to every hop.
    pub(crate) fn redirect_policy(&self) -> reqwest::redirect::Policy {
        let policy = self.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("more than 5 redirects");
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(format!("redirect refused: {why}")),
            }
        })
    }

    /// A DNS resolver that refuses internal addresses outside local mode.
    pub(crate) fn resolver(&self) -> Arc<PublicResolver> {
        Arc::new(PublicResolver {
            local_mode: self.local_mode,
        })
    }
}

/// True for loopback, private, link-local (169.254.0.0/16, the metadata
/// service), unspecified and unique-local addresses, and internal names.
pub(crate) fn is_internal_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(is_internal_ip)
}

pub(crate) fn is_internal_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
        }
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_internal_ip(IpAddr::V4(v4)),
            None => {
                ip.is_loopback()
                    || ip.is_unspecified()
                    || (ip.segments()[0] & 0xfe00) == 0xfc00
                    || (ip.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// Resolves with the system resolver and drops internal addresses, so a
/// public name that resolves to 169.254.169.254 is refused too.
pub(crate) struct PublicResolver {
    local_mode: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let local_mode = self.local_mode;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| local_mode || !is_internal_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> UrlPolicy {
        UrlPolicy {
            allowed_hosts: vec!["api.example.com".into()],
            local_mode: false,
        }
    }

    #[test]
    fn other_hosts_plain_http_and_other_schemes_are_refused() {
        let p = policy();
        assert!(p.check("https://api.example.com/f.csv").is_ok());
        assert!(p.check("https://evil.example.net/f.csv").is_err());
        assert!(p.check("http://api.example.com/f.csv").is_err());
        assert!(p.check("file:///etc/passwd").is_err());
        assert!(p.check("gopher://api.example.com/").is_err());
    }

    #[test]
    fn internal_addresses_are_refused_even_when_listed() {
        let p = UrlPolicy {
            allowed_hosts: vec![
                "169.254.169.254".into(),
                "10.0.0.1".into(),
                "[::ffff:127.0.0.1]".into(),
            ],
            local_mode: false,
        };
        assert!(p.check("https://169.254.169.254/latest/meta-data").is_err());
        assert!(p.check("https://10.0.0.1/x").is_err());
        assert!(is_internal_host("[::ffff:127.0.0.1]"));
        assert!(is_internal_host("100.100.100.200"));
        assert!(!is_internal_host("93.184.216.34"));
    }

    #[test]
    fn local_mode_allows_the_loopback_simulator() {
        let p = UrlPolicy {
            allowed_hosts: vec!["127.0.0.1".into()],
            local_mode: true,
        };
        assert!(p.check("http://127.0.0.1:9100/files/r.csv").is_ok());
    }

    #[test]
    fn a_leading_dot_allows_subdomains_only_of_that_domain() {
        let p = UrlPolicy {
            allowed_hosts: vec![".files.example.com".into()],
            local_mode: false,
        };
        assert!(p.check("https://eu.files.example.com/r.csv").is_ok());
        assert!(p.check("https://files.example.com.evil.net/r.csv").is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_internal_addresses_outside_local_mode() {
        use reqwest::dns::Resolve;
        let strict = PublicResolver { local_mode: false };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(strict.resolve(name).await.is_err());
        let local = PublicResolver { local_mode: true };
        assert!(local.resolve("localhost".parse().unwrap()).await.is_ok());
    }
}
