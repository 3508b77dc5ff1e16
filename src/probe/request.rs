//! Sending a `--request` once, with the token in its kind's own carrier. Only GET and HEAD can
//! be sent: [`http::Method`](super::http::Method) has nothing else.

use super::http::{Client, Credential, Exchange, Method, Request};
use crate::request::routes::{self, Via};
use crate::request::{self, Parsed};
use crate::token::{Kind, Token};

/// How a token of this kind travels on GitLab's REST API, if glprobe sends requests for it:
/// `JOB-TOKEN` for job tokens (GitLab's API job-token routes do not read basic auth),
/// `Authorization: Bearer` for OAuth tokens, `PRIVATE-TOKEN` for personal, project and group
/// access tokens.
pub fn credential(kind: Kind, token: &Token) -> Option<Credential<'_>> {
    match kind {
        Kind::JobToken => Some(Credential::Header {
            name: "JOB-TOKEN",
            token,
        }),
        Kind::OauthAccessToken => Some(Credential::Bearer(token)),
        kind if kind.is_access_token() => Some(Credential::Header {
            name: "PRIVATE-TOKEN",
            token,
        }),
        _ => None,
    }
}

/// The request as it would be sent, or `None` when it may not be (a method other than GET or
/// HEAD, a path outside the REST API, a kind glprobe sends nothing for).
pub fn build<'t>(kind: Kind, token: &'t Token, parsed: &Parsed) -> Option<Request<'t>> {
    let method = match parsed.method {
        request::Method::Get => Method::Get,
        request::Method::Head => Method::Head,
        _ => return None,
    };
    if !parsed.is_rest() {
        return None;
    }
    let via = routes::find(parsed.method, parsed.api_path()).and_then(|m| m.route.via);
    let credential = match (kind, via) {
        // NuGet reads a job token from basic auth only.
        (Kind::JobToken, Some(Via::BasicAuth)) => Credential::Basic {
            username: "gitlab-ci-token",
            token,
        },
        _ => credential(kind, token)?,
    };
    Some(Request {
        method,
        path: parsed.wire(),
        query: Vec::new(),
        form: Vec::new(),
        credential,
    })
}

/// Sends it once (the client still retries 429 and 502-504 within the deadline).
pub fn send(client: &Client, kind: Kind, token: &Token, parsed: &Parsed) -> Option<Exchange> {
    build(kind, token, parsed).map(|request| client.send(&request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_of_the_rest_api_are_built() {
        let token = Token::new("glpat-abcdefghijkmnpqrstuv");
        let parse = |text: &str| crate::request::parse(text, None).unwrap();
        let get = build(
            Kind::PersonalAccessToken,
            &token,
            &parse("GET /projects/1?a=b"),
        )
        .unwrap();
        assert_eq!(get.path, "/api/v4/projects/1?a=b");
        assert_eq!(get.credential.carrier(), "PRIVATE-TOKEN header");
        let head = build(Kind::JobToken, &token, &parse("HEAD /projects/1/packages")).unwrap();
        assert_eq!(head.credential.carrier(), "JOB-TOKEN header");
        let bearer = build(Kind::OauthAccessToken, &token, &parse("GET /user")).unwrap();
        assert_eq!(bearer.credential.carrier(), "Authorization: Bearer");
        for text in [
            "POST /projects/1/issues",
            "PUT /projects/1",
            "PATCH /projects/1",
            "DELETE /projects/1/releases/v1",
            "GET /jwt/auth?service=container_registry",
        ] {
            assert!(
                build(Kind::JobToken, &token, &parse(text)).is_none(),
                "{text}"
            );
        }
        assert!(build(Kind::DeployToken, &token, &parse("GET /projects/1")).is_none());
        let nuget = parse("GET /projects/1/packages/nuget/index.json");
        let basic = build(Kind::JobToken, &token, &nuget).unwrap();
        assert_eq!(basic.credential.carrier(), "basic auth as gitlab-ci-token");
    }
}
