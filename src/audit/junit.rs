//! The JUnit XML report for GitLab's Tests tab (`artifacts:reports:junit`): one test suite per
//! scope, one test case per place read, failing with the place's findings at or above
//! `--fail-on` (one `<failure>` listing them all: GitLab shows one failure per test case).

use super::findings::{Finding, Scope};
use super::report::Audit;

/// XML text: the five entities, and control characters (not allowed in XML 1.0) as `?`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Renders the JUnit document.
pub fn render(audit: &Audit) -> String {
    let mut suites = Vec::new();
    let mut total = 0;
    let mut failed = 0;
    for scope in [Scope::Instance, Scope::Group, Scope::Project] {
        let places: Vec<_> = audit.places.iter().filter(|p| p.scope == scope).collect();
        // Findings of this scope that belong to no place read (the audit token, a place
        // that could not be listed) get a test case of their own.
        let mut cases = Vec::new();
        let mut suite_failures = 0;
        for place in &places {
            let mine: Vec<&Finding> = audit
                .findings
                .iter()
                .filter(|f| f.place.scope == scope && f.place.path == place.path)
                .collect();
            let name = if scope == Scope::Instance {
                "instance"
            } else {
                &place.path
            };
            let (case, fails) = case(audit, scope.name(), name, &mine);
            suite_failures += usize::from(fails);
            cases.push(case);
        }
        let orphans: Vec<&Finding> = audit
            .findings
            .iter()
            .filter(|f| f.place.scope == scope && !places.iter().any(|p| p.path == f.place.path))
            .collect();
        if !orphans.is_empty() {
            let name = if scope == Scope::Instance {
                "audit".to_owned()
            } else {
                orphans[0].place.path.clone()
            };
            let (case, fails) = case(audit, scope.name(), &name, &orphans);
            suite_failures += usize::from(fails);
            cases.push(case);
        }
        if cases.is_empty() {
            continue;
        }
        total += cases.len();
        failed += suite_failures;
        suites.push(format!(
            "  <testsuite name=\"glprobe audit: {}s\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"0\" skipped=\"0\">\n{}  </testsuite>\n",
            scope.name(),
            cases.len(),
            cases.concat()
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"glprobe audit\" tests=\"{total}\" failures=\"{failed}\" errors=\"0\" time=\"{}.{:03}\">\n{}</testsuites>\n",
        audit.elapsed.as_millis() / 1000,
        audit.elapsed.as_millis() % 1000,
        suites.concat()
    )
}

/// One test case and whether it fails.
fn case(audit: &Audit, class: &str, name: &str, findings: &[&Finding]) -> (String, bool) {
    let failing: Vec<&&Finding> = findings.iter().filter(|f| audit.fails(f)).collect();
    let head = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
        escape(class),
        escape(name)
    );
    let others: Vec<String> = findings
        .iter()
        .filter(|f| !audit.fails(f))
        .map(|f| line(f))
        .collect();
    let out = if others.is_empty() {
        String::new()
    } else {
        format!(
            "      <system-out>Below --fail-on {}:\n{}</system-out>\n",
            audit.fail_on.name(),
            escape(&others.concat())
        )
    };
    if failing.is_empty() {
        if out.is_empty() {
            return (format!("{head}/>\n"), false);
        }
        return (format!("{head}>\n{out}    </testcase>\n"), false);
    }
    let codes: Vec<&str> = failing.iter().map(|f| f.code.name()).collect();
    let text: String = failing.iter().map(|f| line(f)).collect();
    (
        format!(
            "{head}>\n      <failure type=\"{}\" message=\"{} finding{}: {}\">{}</failure>\n{out}    </testcase>\n",
            escape(failing[0].severity.name()),
            failing.len(),
            if failing.len() == 1 { "" } else { "s" },
            escape(&codes.join(", ")),
            escape(&text)
        ),
        true,
    )
}

fn line(f: &Finding) -> String {
    let token = match (&f.kind, &f.fingerprint) {
        (Some(k), Some(p)) => format!(" [{k} {p}]"),
        (Some(k), None) => format!(" [{k}]"),
        _ => String::new(),
    };
    format!(
        "{} {} at {}{token}: {}\n",
        f.severity.name(),
        f.code.name(),
        f.place.describe(),
        f.message
    )
}
