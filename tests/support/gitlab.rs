//! A fake GitLab: real HTTP/1.1 over TCP on a loopback address (and TLS with a CA made for the
//! test), answering with GitLab's exact statuses, bodies and headers, and recording every
//! request it receives.
//!
//! Each test builds its routes with [`Routes`]; anything not routed answers as Grape does for
//! a route that does not exist (`404 {"error":"404 Not Found"}`). Replies can also misbehave
//! on purpose: hang, drop the connection mid-body, send a huge or broken body.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

/// A request as the fake server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When the request arrived.
    #[allow(dead_code)] // read by the benchmark's fake GitLab (tests/bench), not by the tests
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field of the body (`application/x-www-form-urlencoded`), decoded.
    pub fn form(&self, name: &str) -> Option<String> {
        decode_pairs(&self.body).remove(name)
    }

    /// A query parameter, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        decode_pairs(&self.query).remove(name)
    }

    /// The full text of the request, every header and the body: for leak checks.
    pub fn everything(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!(
            "{} {}?{}\n{}\n{}",
            self.method,
            self.path,
            self.query,
            headers.join("\n"),
            self.body
        )
    }
}

/// The (method, path) of each request, sorted: concurrent requests arrive in any order.
pub fn method_paths(requests: &[Recorded]) -> Vec<(String, String)> {
    sorted_pairs(
        requests
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str())),
    )
}

/// (method, path) pairs as owned strings, sorted.
pub fn sorted_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        pairs.map(|(m, p)| (m.to_owned(), p.to_owned())).collect();
    pairs.sort();
    pairs
}

fn decode_pairs(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the fake server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal response.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
    },
    /// Accept the request and never answer.
    Hang,
    /// Send headers with a Content-Length, part of the body, then close.
    DropMidBody,
    /// Bytes that are not HTTP.
    Garbage,
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    /// A response with a body and a content type of its own.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// The same reply with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    // GitLab's own answers, as in its source (reference note, section 4).

    /// `401 {"message":"401 Unauthorized"}`: unknown token, no WWW-Authenticate.
    pub fn unauthorized() -> Reply {
        Reply::json(401, json!({"message": "401 Unauthorized"}))
    }

    fn invalid_token(description: &str) -> Reply {
        Reply::json(
            401,
            json!({"error": "invalid_token", "error_description": description}),
        )
        .header(
            "WWW-Authenticate",
            &format!(
                "Bearer realm=\"Protected by OAuth 2.0\", error=\"invalid_token\", \
                 error_description=\"{description}\""
            ),
        )
    }

    /// 401 for an expired personal or OAuth token.
    pub fn expired() -> Reply {
        Reply::invalid_token(
            "Token is expired. You can either do re-authorization or token refresh.",
        )
    }

    /// 401 for a revoked personal or OAuth token.
    pub fn revoked() -> Reply {
        Reply::invalid_token("Token was revoked. You have to re-authorize from the user.")
    }

    /// `403 {"message":"403 Forbidden - <reason>"}`.
    pub fn forbidden(reason: &str) -> Reply {
        Reply::json(403, json!({"message": format!("403 Forbidden - {reason}")}))
    }

    /// `403 {"message":"403 Forbidden"}`, as the runner routes answer an unknown token.
    pub fn forbidden_bare() -> Reply {
        Reply::json(403, json!({"message": "403 Forbidden"}))
    }

    /// 403 `insufficient_scope` naming the scopes the endpoint accepts (no WWW-Authenticate).
    pub fn insufficient_scope(scope: &str) -> Reply {
        Reply::json(
            403,
            json!({
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided by the access token.",
                "scope": scope
            }),
        )
    }

    /// Grape's answer for a route that does not exist.
    pub fn no_route() -> Reply {
        Reply::json(404, json!({"error": "404 Not Found"}))
    }
}

type Handler = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// The routing table: `(method, path) → reply`, first match wins.
#[derive(Default)]
pub struct Routes {
    routes: Vec<(String, String, Handler)>,
    fallback: Option<Handler>,
}

impl Routes {
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Answers `method path` with a fixed reply.
    pub fn on(self, method: &str, path: &str, reply: Reply) -> Routes {
        self.on_fn(method, path, move |_| reply.clone())
    }

    /// Answers `method path` with a reply computed from the request.
    pub fn on_fn(
        mut self,
        method: &str,
        path: &str,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Routes {
        self.routes
            .push((method.into(), path.into(), Box::new(handler)));
        self
    }

    /// Answers every request no route matches.
    pub fn otherwise(
        mut self,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Routes {
        self.fallback = Some(Box::new(handler));
        self
    }

    fn reply(&self, request: &Recorded) -> Reply {
        self.routes
            .iter()
            .find(|(m, p, _)| *m == request.method && *p == request.path)
            .map(|(_, _, h)| h(request))
            .or_else(|| self.fallback.as_ref().map(|h| h(request)))
            .unwrap_or_else(Reply::no_route)
    }
}

/// A TLS identity for the fake server: its certificate chain and key, in PEM.
#[derive(Clone)]
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A running fake GitLab.
pub struct FakeGitLab {
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
}

impl FakeGitLab {
    /// Starts an HTTP server on 127.0.0.1.
    pub fn start(routes: Routes) -> FakeGitLab {
        FakeGitLab::start_on("127.0.0.1", routes, None, Duration::ZERO)
    }

    /// Starts an HTTPS server on 127.0.0.1 with this identity.
    pub fn start_tls(routes: Routes, identity: &Identity) -> FakeGitLab {
        FakeGitLab::start_on("127.0.0.1", routes, Some(identity), Duration::ZERO)
    }

    /// Starts a server on a loopback address, with TLS if an identity is given, adding a fixed
    /// latency to every reply.
    pub fn start_on(
        ip: &str,
        routes: Routes,
        identity: Option<&Identity>,
        latency: Duration,
    ) -> FakeGitLab {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let tls = identity.map(server_config);
        let routes = Arc::new(routes);
        {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            let tls = tls.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let routes = Arc::clone(&routes);
                    let requests = Arc::clone(&requests);
                    let tls = tls.clone();
                    thread::spawn(move || {
                        let _ = serve(stream, tls, &routes, &requests, latency);
                    });
                }
            });
        }
        FakeGitLab {
            addr,
            tls: identity.is_some(),
            requests,
            stop,
        }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The base URL with `localhost` as the host name (for certificates issued to it).
    pub fn url_as(&self, host: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.addr.port())
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Forgets the requests received so far.
    #[allow(dead_code)] // used by the benchmark's fake GitLab (tests/bench), not by the tests
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

impl Drop for FakeGitLab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

fn server_config(identity: &Identity) -> Arc<rustls::ServerConfig> {
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls::pki_types::pem::PemObject::pem_slice_iter(identity.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("certificate PEM");
    let key = rustls::pki_types::pem::PemObject::from_pem_slice(identity.key_pem.as_bytes())
        .expect("key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate"),
    )
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn serve(
    tcp: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    routes: &Routes,
    requests: &Mutex<Vec<Recorded>>,
    latency: Duration,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut stream: Box<dyn Stream> = match tls {
        Some(config) => {
            let conn = rustls::ServerConnection::new(config)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
        None => Box::new(tcp),
    };
    let request = read_request(&mut stream)?;
    requests.lock().unwrap().push(request.clone());
    let reply = routes.reply(&request);
    thread::sleep(latency);
    match reply {
        Reply::Http {
            status,
            headers,
            body,
            delay,
        } => {
            thread::sleep(delay);
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body)?;
            stream.flush()?;
        }
        Reply::Hang => thread::sleep(Duration::from_secs(60)),
        Reply::DropMidBody => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Content-Length: 1000\r\nConnection: close\r\n\r\n{\"id\":";
            stream.write_all(head.as_bytes())?;
            stream.flush()?;
        }
        Reply::Garbage => {
            stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n")?;
            stream.flush()?;
        }
    }
    Ok(())
}

fn read_request(stream: &mut dyn Stream) -> std::io::Result<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((k, v)) = header.trim_end().split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Recorded {
        at: std::time::Instant::now(),
        method,
        path,
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// A certificate authority made for one test, and server identities it signs.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pub cert_pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "glprobe test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            cert_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server identity for these names (DNS names or IP addresses), valid now or expired.
    pub fn identity(&self, names: &[&str], expired: bool) -> Identity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            cert_pem: format!("{}{}", cert.pem(), self.cert_pem),
            key_pem: key.serialize_pem(),
        }
    }
}
