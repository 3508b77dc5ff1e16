//! Colour for the human report on a terminal or in a GitLab job log, which renders ANSI colours:
//! the verdict green, yellow or red, reason codes and `Next` in bold, the `Asked` details quiet
//! grey, and in a GitLab job folded into a collapsed section (`section_start`/`section_end`).
//!
//! It paints the plain report line by line, by label, so the text itself (and its snapshots)
//! stays what [`super::human::render`] makes. JSON and dotenv are never painted.

use super::Report;
use crate::reason::{Group, Validity};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const GREY: &str = "\x1b[90m";
/// The width of the label column of the human report.
const LABEL: usize = 9;

/// `--color`: whether to paint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    /// On a terminal or in a GitLab job, unless `NO_COLOR`; `CLICOLOR_FORCE` forces it.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl std::str::FromStr for Choice {
    type Err = String;

    fn from_str(s: &str) -> Result<Choice, String> {
        match s {
            "auto" => Ok(Choice::Auto),
            "always" => Ok(Choice::Always),
            "never" => Ok(Choice::Never),
            _ => Err("expected auto, always or never".to_owned()),
        }
    }
}

/// What decides the colour, read by the CLI.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setting {
    /// `--color`.
    pub choice: Choice,
    /// Standard output is a terminal.
    pub terminal: bool,
    /// `GITLAB_CI=true`: a GitLab job, whose log renders ANSI colours and sections.
    pub gitlab_job: bool,
    /// `NO_COLOR` is set and not empty (<https://no-color.org>).
    pub no_color: bool,
    /// `CLICOLOR_FORCE` is set and not `0`.
    pub force: bool,
}

/// How to paint one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Use ANSI colours.
    pub colour: bool,
    /// Fold the `Asked` details into a collapsed GitLab log section.
    pub sections: bool,
}

impl Setting {
    /// The decision: `--color always`/`never` win; in `auto`, `NO_COLOR` turns colour off,
    /// `CLICOLOR_FORCE` on, and otherwise a terminal or a GitLab job turn it on. Sections go
    /// with colour, in a GitLab job only.
    pub fn style(&self) -> Style {
        let colour = match self.choice {
            Choice::Always => true,
            Choice::Never => false,
            Choice::Auto => !self.no_color && (self.force || self.terminal || self.gitlab_job),
        };
        Style {
            colour,
            sections: colour && self.gitlab_job,
        }
    }
}

/// The plain human report, painted. `now` names the log section's timestamp.
pub fn paint(text: &str, report: &Report, style: Style, now: i64) -> String {
    if !style.colour {
        return text.to_owned();
    }
    let d = &report.diagnosis;
    let verdict = match d.reason.group() {
        Group::Fine => GREEN,
        Group::Invalid => RED,
        Group::Requirement | Group::Undetermined => YELLOW,
    };
    let validity = match d.validity {
        Validity::Valid => GREEN,
        Validity::Invalid => RED,
        Validity::Unknown => YELLOW,
    };
    let mut out = String::with_capacity(text.len() + 256);
    let mut label = "";
    let mut in_section = false;
    for line in text.lines() {
        let at = line.len().min(LABEL);
        let (head, rest) = line.split_at(if line.is_char_boundary(at) { at } else { 0 });
        if !head.trim().is_empty() {
            label = head.trim();
        }
        if style.sections && label != "Asked" && in_section {
            out.push_str(&format!("\x1b[0Ksection_end:{now}:glprobe_asked\r\x1b[0K"));
            in_section = false;
        }
        if style.sections && label == "Asked" && !in_section {
            let count = report.requests.len();
            let plural = if count == 1 { "" } else { "s" };
            out.push_str(&format!(
                "\x1b[0Ksection_start:{now}:glprobe_asked[collapsed=true]\r\x1b[0K{GREY}Asked    \
                 {count} request{plural} (expand for each one){RESET}\n"
            ));
            in_section = true;
        }
        let painted = match label {
            "Valid" => format!("{head}{validity}{rest}{RESET}"),
            "Reason" => format!("{head}{BOLD}{verdict}{rest}{RESET}"),
            "Next" => format!("{head}{BOLD}{rest}{RESET}"),
            "Asked" => format!("{GREY}{line}{RESET}"),
            "Also" if !head.trim().is_empty() => match rest.split_once(':') {
                Some((code, why)) => format!("{head}{BOLD}{YELLOW}{code}{RESET}:{why}"),
                None => line.to_owned(),
            },
            _ => line.to_owned(),
        };
        out.push_str(&painted);
        out.push('\n');
    }
    if in_section {
        out.push_str(&format!("\x1b[0Ksection_end:{now}:glprobe_asked\r\x1b[0K"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_colour_decision() {
        let base = Setting::default();
        let cases = [
            (Setting { ..base }, false, false),
            (
                Setting {
                    terminal: true,
                    ..base
                },
                true,
                false,
            ),
            (
                Setting {
                    gitlab_job: true,
                    ..base
                },
                true,
                true,
            ),
            (
                Setting {
                    force: true,
                    ..base
                },
                true,
                false,
            ),
            (
                Setting {
                    terminal: true,
                    no_color: true,
                    ..base
                },
                false,
                false,
            ),
            (
                Setting {
                    gitlab_job: true,
                    no_color: true,
                    force: true,
                    ..base
                },
                false,
                false,
            ),
            (
                Setting {
                    choice: Choice::Always,
                    no_color: true,
                    ..base
                },
                true,
                false,
            ),
            (
                Setting {
                    choice: Choice::Always,
                    gitlab_job: true,
                    ..base
                },
                true,
                true,
            ),
            (
                Setting {
                    choice: Choice::Never,
                    terminal: true,
                    force: true,
                    ..base
                },
                false,
                false,
            ),
        ];
        for (setting, colour, sections) in cases {
            assert_eq!(setting.style(), Style { colour, sections }, "{setting:?}");
        }
    }
}
