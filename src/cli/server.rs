//! Where GitLab is, and how to reach it: the base URL (`--url`, `$CI_SERVER_URL`,
//! `$CI_API_V4_URL`), and the proxy the environment names for it, with `NO_PROXY` matched as
//! curl and GitLab Runner match it.

use super::{Args, Server, UsageError, refuse_token_shaped};

/// The server from `--url` or the job's variables, else gitlab.com.
pub(super) fn server(
    args: &Args,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Server, UsageError> {
    let nonempty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let (url, from) = match (
        &args.url,
        nonempty("CI_SERVER_URL"),
        nonempty("CI_API_V4_URL"),
    ) {
        (Some(url), _, _) => (url.clone(), "--url"),
        (None, Some(url), _) => (url, "$CI_SERVER_URL"),
        (None, None, Some(api)) => {
            let trimmed = api.trim_end_matches('/');
            let root = trimmed.strip_suffix("/api/v4").unwrap_or(trimmed);
            (root.to_owned(), "$CI_API_V4_URL")
        }
        (None, None, None) => ("https://gitlab.com".to_owned(), "the default"),
    };
    refuse_token_shaped(from, &url)?;
    let mut server =
        parse_server_url(url.trim()).map_err(|why| UsageError(format!("{from}: {why}")))?;
    server.proxy = if server.loopback {
        None
    } else {
        proxy_for(&server, env)
    };
    Ok(server)
}

/// Validates a GitLab base URL: `http(s)://host[:port][/relative/root]`, plain http only for
/// loopback hosts.
pub fn parse_server_url(url: &str) -> Result<Server, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "expected http:// or https:// followed by a host".to_owned())?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err("unsupported scheme: use https".into());
    }
    if rest.contains(['?', '#', '@', ' ']) || rest.chars().any(char::is_control) {
        return Err("give only the scheme, host, port and relative URL root".into());
    }
    let rest = rest.trim_end_matches('/');
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    };
    let port = &authority[host.len()..];
    if host.is_empty()
        || !(port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok()))
    {
        return Err("expected a host and an optional numeric port".into());
    }
    let loopback = is_loopback(&host);
    if scheme == "http" && !loopback {
        return Err(format!(
            "refusing to send a token in clear text to {host}: use https (plain http is only \
             allowed for loopback addresses)"
        ));
    }
    Ok(Server {
        url: format!("{scheme}://{authority}{path}"),
        host: authority.to_owned(),
        loopback,
        plain_http: scheme == "http",
        proxy: None,
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The proxy for this server: `HTTPS_PROXY` (or `https_proxy`, then `ALL_PROXY`) for https,
/// `http_proxy` (then `HTTP_PROXY`, `ALL_PROXY`) for http, unless `NO_PROXY` covers the host.
fn proxy_for(server: &Server, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let names: &[&str] = if server.plain_http {
        &["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    };
    let proxy = names
        .iter()
        .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))?;
    let no_proxy = env("no_proxy")
        .or_else(|| env("NO_PROXY"))
        .unwrap_or_default();
    let (host, port) = split_host_port(&server.host, server.plain_http);
    (!no_proxy_matches(&no_proxy, &host, port)).then(|| proxy.trim().to_owned())
}

fn split_host_port(authority: &str, plain_http: bool) -> (String, u16) {
    let default = if plain_http { 80 } else { 443 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, p.parse().unwrap_or(default))
        }
        _ => (authority, default),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_ascii_lowercase(), port)
}

/// `NO_PROXY` as curl reads it: comma- or space-separated entries, `*` for every host, a
/// domain covering its subdomains (with or without a leading `.` or `*.`), an optional
/// `:port`, case-insensitive.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if !n.contains(':') || n.ends_with(']') => {
                    (n.to_owned(), p.parse::<u16>().ok())
                }
                _ => (entry.clone(), None),
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            let name = name.trim_start_matches('[').trim_end_matches(']');
            !name.is_empty()
                && (host == name
                    || host
                        .strip_suffix(name)
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_like_curl() {
        let yes = [
            ("*", "gitlab.example.com", 443),
            ("example.com", "gitlab.example.com", 443),
            (".example.com", "gitlab.example.com", 443),
            ("*.example.com", "gitlab.example.com", 443),
            ("EXAMPLE.com", "gitlab.example.com", 443),
            ("other, gitlab.example.com:443", "gitlab.example.com", 443),
            ("10.0.0.1", "10.0.0.1", 443),
            ("[::1]:8443", "::1", 8443),
            ("a.org b.org", "x.b.org", 443),
        ];
        for (list, host, port) in yes {
            assert!(no_proxy_matches(list, host, port), "{list} {host}:{port}");
        }
        let no = [
            ("", "gitlab.example.com", 443),
            ("ample.com", "gitlab.example.com", 443),
            ("gitlab.example.com:8443", "gitlab.example.com", 443),
            ("example.org", "gitlab.example.com", 443),
            ("gitlab.example.com.evil", "gitlab.example.com", 443),
        ];
        for (list, host, port) in no {
            assert!(!no_proxy_matches(list, host, port), "{list} {host}:{port}");
        }
    }

    #[test]
    fn proxy_choice_follows_the_scheme_and_no_proxy() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let https = parse_server_url("https://gitlab.example.com").unwrap();
        let env = vars(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("ALL_PROXY", "http://all:1"),
        ]);
        assert_eq!(
            proxy_for(&https, &env).as_deref(),
            Some("http://proxy:3128")
        );
        let env = vars(&[("ALL_PROXY", "http://all:1")]);
        assert_eq!(proxy_for(&https, &env).as_deref(), Some("http://all:1"));
        let env = vars(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "example.com"),
        ]);
        assert_eq!(proxy_for(&https, &env), None);
        let env = vars(&[("HTTP_PROXY", "http://proxy:3128")]);
        assert_eq!(proxy_for(&https, &env), None, "HTTP_PROXY is not for https");
    }
}
