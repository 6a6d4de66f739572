//! The conformance gate over the Autobahn|Testsuite reports.
//!
//! `gate [--roles server,client,tokio-server,tokio-client] [--reports DIR] [--expected DIR]
//! [--update-expected]`
//!
//! The roles (all four by default) are the two testees on the two socket drivers:
//!
//! | role | testee | driver | agent | expected results |
//! |---|---|---|---|---|
//! | `server` | `server`, driven by the fuzzingclient | blocking `wspc::io` | `wspc` | `expected-server.json` |
//! | `client` | `client`, driving the fuzzingserver | blocking `wspc::io` | `wspc` | `expected-client.json` |
//! | `tokio-server` | `server --tokio` | `wspc::tokio` | `wspc-tokio` | `expected-server.json` |
//! | `tokio-client` | `client --tokio` | `wspc::tokio` | `wspc-tokio` | `expected-client.json` |
//!
//! For each role it reads `DIR/<role>/index.json` (default `reports/autobahn`) and fails unless
//! 1. the report holds exactly one agent, the role's;
//! 2. every case has `behavior` and `behaviorClose` in {OK, INFORMATIONAL} (UNIMPLEMENTED
//!    fails like any other outcome: sections 12 and 13, permessage-deflate, run with it on), and
//! 3. the results equal the committed expected results `autobahn/expected-<twin>.json`
//!    (behavior, behaviorClose and remoteCloseCode of every case; durations are ignored), so
//!    that any change, even OK → NON-STRICT or a new or missing case, fails. A tokio role has no
//!    file of its own: it is held to its blocking twin's, as both drivers must behave the same.
//!
//! `--update-expected` rewrites `expected-server.json` and `expected-client.json` from the
//! blocking roles only (rules 1 and 2 are still enforced); the tokio roles in `--roles` are then
//! compared against the files just written. It refuses a `--roles` list without a blocking role,
//! since there would be nothing to write.
//! It always writes `DIR/SUMMARY.md`: counts per section and role, driver, run time, testsuite
//! version.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Outcomes in the order the summary lists them (best first).
const OUTCOMES: [&str; 8] = [
    "OK",
    "INFORMATIONAL",
    "UNIMPLEMENTED",
    "NON-STRICT",
    "WRONG CODE",
    "UNCLEAN",
    "FAILED BY CLIENT",
    "FAILED",
];

/// One testee on one driver.
#[derive(Debug, PartialEq, Eq)]
struct Role {
    /// The `--roles` name and the report directory under `DIR`.
    name: &'static str,
    /// The role whose expected file (`expected-<twin>.json`) this role is held to: itself for a
    /// blocking role, its blocking twin for a tokio role.
    twin: &'static str,
    /// The agent name the report must hold.
    agent: &'static str,
    /// The driver, as the summary names it.
    driver: &'static str,
    /// The testee and its part, as the summary names them.
    testee: &'static str,
}

impl Role {
    /// Whether this role's results are the source of its expected file.
    fn owns_expected(&self) -> bool {
        self.twin == self.name
    }

    fn expected_file(&self) -> String {
        format!("expected-{}.json", self.twin)
    }
}

/// The roles, blocking ones first (`--update-expected` writes their files before the tokio roles
/// are compared against them).
const ROLES: [Role; 4] = [
    Role {
        name: "server",
        twin: "server",
        agent: "wspc",
        driver: "blocking driver `wspc::io`",
        testee: "testee `server`, driven by the testsuite's fuzzingclient",
    },
    Role {
        name: "client",
        twin: "client",
        agent: "wspc",
        driver: "blocking driver `wspc::io`",
        testee: "testee `client`, driving the testsuite's fuzzingserver",
    },
    Role {
        name: "tokio-server",
        twin: "server",
        agent: "wspc-tokio",
        driver: "tokio driver `wspc::tokio`",
        testee: "testee `server --tokio`, driven by the testsuite's fuzzingclient",
    },
    Role {
        name: "tokio-client",
        twin: "client",
        agent: "wspc-tokio",
        driver: "tokio driver `wspc::tokio`",
        testee: "testee `client --tokio`, driving the testsuite's fuzzingserver",
    },
];

fn role_named(name: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.name == name)
}

/// The `--roles` value: known roles, each once, in the order of `ROLES`.
fn parse_roles(list: &str) -> Result<Vec<&'static Role>, String> {
    let mut wanted = Vec::new();
    for r in list.split(',').filter(|r| !r.is_empty()) {
        let role = role_named(r).ok_or_else(|| {
            let known: Vec<&str> = ROLES.iter().map(|r| r.name).collect();
            format!("unknown role {r:?} (known: {})", known.join(", "))
        })?;
        wanted.push(role);
    }
    if wanted.is_empty() {
        return Err("--roles names no role".into());
    }
    Ok(ROLES.iter().filter(|r| wanted.contains(r)).collect())
}

/// A case id such as `9.1.10`, ordered numerically.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CaseId(Vec<u32>);

impl CaseId {
    fn parse(s: &str) -> Option<Self> {
        s.split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<Vec<u32>>>()
            .filter(|v| !v.is_empty())
            .map(Self)
    }

    fn section(&self) -> u32 {
        self.0[0]
    }
}

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// What is compared for one case.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CaseResult {
    behavior: String,
    behavior_close: String,
    remote_close_code: Option<u64>,
    duration_ms: u64,
}

impl CaseResult {
    fn same_as(&self, other: &Self) -> bool {
        self.behavior == other.behavior
            && self.behavior_close == other.behavior_close
            && self.remote_close_code == other.remote_close_code
    }

    /// The worse of the two behaviors, for the tallies.
    fn outcome(&self) -> &str {
        let rank = |b: &str| {
            OUTCOMES
                .iter()
                .position(|o| *o == b)
                .unwrap_or(OUTCOMES.len())
        };
        if rank(&self.behavior_close) > rank(&self.behavior) {
            &self.behavior_close
        } else {
            &self.behavior
        }
    }

    fn describe(&self) -> String {
        let code = self
            .remote_close_code
            .map_or_else(|| "none".to_owned(), |c| c.to_string());
        format!(
            "behavior {}, behaviorClose {}, remoteCloseCode {code}",
            self.behavior, self.behavior_close
        )
    }
}

type Results = BTreeMap<CaseId, CaseResult>;

fn parse_result(v: &Value) -> Result<CaseResult, String> {
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no \"{key}\""))
    };
    Ok(CaseResult {
        behavior: text("behavior")?,
        behavior_close: text("behaviorClose")?,
        remote_close_code: v.get("remoteCloseCode").and_then(Value::as_u64),
        duration_ms: v.get("duration").and_then(Value::as_u64).unwrap_or(0),
    })
}

fn parse_cases(map: &serde_json::Map<String, Value>, what: &str) -> Result<Results, String> {
    let mut out = Results::new();
    for (id, v) in map {
        let case = CaseId::parse(id).ok_or_else(|| format!("{what}: bad case id {id:?}"))?;
        let r = parse_result(v).map_err(|e| format!("{what}: case {id}: {e}"))?;
        out.insert(case, r);
    }
    Ok(out)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The testsuite's `index.json`: `{agent: {case: {behavior, behaviorClose, ...}}}`.
fn read_index(path: &Path) -> Result<(String, Results), String> {
    let v = read_json(path)?;
    let agents = v
        .as_object()
        .ok_or_else(|| format!("{}: not an object", path.display()))?;
    let mut it = agents.iter();
    let (Some((agent, cases)), None) = (it.next(), it.next()) else {
        return Err(format!(
            "{}: expected exactly one agent, found {}",
            path.display(),
            agents.len()
        ));
    };
    let cases = cases
        .as_object()
        .ok_or_else(|| format!("{}: agent {agent}: not an object", path.display()))?;
    Ok((
        agent.clone(),
        parse_cases(cases, &path.display().to_string())?,
    ))
}

fn read_expected(path: &Path) -> Result<Results, String> {
    let v = read_json(path)?;
    let cases = v
        .as_object()
        .ok_or_else(|| format!("{}: not an object", path.display()))?;
    parse_cases(cases, &path.display().to_string())
}

/// One line per case, in case order, so diffs of the file read well.
fn write_expected(path: &Path, results: &Results) -> Result<(), String> {
    let mut out = String::from("{\n");
    for (i, (case, r)) in results.iter().enumerate() {
        let code = r
            .remote_close_code
            .map_or_else(|| "null".to_owned(), |c| c.to_string());
        let _ = write!(
            out,
            "  \"{case}\": {{\"behavior\": {}, \"behaviorClose\": {}, \"remoteCloseCode\": {code}}}",
            Value::from(r.behavior.as_str()),
            Value::from(r.behavior_close.as_str()),
        );
        out.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A problem with one case.
type Finding = (CaseId, String);

/// Rule 1: every case OK or INFORMATIONAL.
fn rule_violations(results: &Results) -> Vec<Finding> {
    let allowed = |b: &str| matches!(b, "OK" | "INFORMATIONAL");
    results
        .iter()
        .filter(|(_, r)| !allowed(&r.behavior) || !allowed(&r.behavior_close))
        .map(|(case, r)| (case.clone(), format!("case {case}: {}", r.describe())))
        .collect()
}

/// Rule 2: the results equal the expected results.
fn differences(results: &Results, expected: &Results) -> Vec<Finding> {
    let mut out = Vec::new();
    for (case, want) in expected {
        let why = match results.get(case) {
            None => format!("case {case}: missing (expected {})", want.describe()),
            Some(got) if !got.same_as(want) => format!(
                "case {case}: {} (expected {})",
                got.describe(),
                want.describe()
            ),
            Some(_) => continue,
        };
        out.push((case.clone(), why));
    }
    for (case, got) in results {
        if !expected.contains_key(case) {
            let why = format!("case {case}: not expected ({})", got.describe());
            out.push((case.clone(), why));
        }
    }
    out
}

fn section_name(section: u32) -> &'static str {
    match section {
        1 => "Framing",
        2 => "Pings/Pongs",
        3 => "Reserved Bits",
        4 => "Opcodes",
        5 => "Fragmentation",
        6 => "UTF-8 Handling",
        7 => "Close Handling",
        9 => "Limits/Performance",
        10 => "Misc",
        12 => "WebSocket Compression (different payloads)",
        13 => "WebSocket Compression (different parameters)",
        _ => "",
    }
}

/// Counts of outcomes, keyed by the outcome's index in `OUTCOMES` (or past it for unknown ones).
#[derive(Default)]
struct Tally {
    cases: usize,
    by_outcome: BTreeMap<String, usize>,
    duration_ms: u64,
}

impl Tally {
    fn add(&mut self, r: &CaseResult) {
        self.cases += 1;
        *self.by_outcome.entry(r.outcome().to_owned()).or_default() += 1;
        self.duration_ms += r.duration_ms;
    }
}

struct RoleReport {
    role: &'static Role,
    agent: String,
    results: Results,
    meta: Option<Value>,
    checked: bool,
    problems: Vec<String>,
    compression: Option<Compression>,
}

/// The testsuite's own measure of compression over the cases of 12.1 (1000 messages of one
/// payload kind at each size from 16 B to 256 KiB, default offer), from the per-case reports'
/// `trafficStats`: application bytes and compressed payload bytes of the messages wspc sent
/// (the testsuite's "incoming"), and of those the testsuite sent.
#[derive(Debug, Default, PartialEq)]
struct Compression {
    cases: usize,
    wspc: (u64, u64),
    testsuite: (u64, u64),
}

impl Compression {
    /// From the report directory `dir` (its `index.json` and the per-case files it names);
    /// `None` when the per-case reports are not on disk (only `index.json` is committed).
    fn read(dir: &Path) -> Option<Self> {
        let index = read_json(&dir.join("index.json")).ok()?;
        let (_, cases) = index.as_object()?.iter().next()?;
        let mut c = Self::default();
        for (id, case) in cases.as_object()? {
            if !id.starts_with("12.1.") {
                continue;
            }
            let file = case.get("reportfile")?.as_str()?;
            let report = read_json(&dir.join(file)).ok()?;
            let stats = report.get("trafficStats")?;
            let n = |k: &str| stats.get(k).and_then(Value::as_u64).unwrap_or(0);
            c.cases += 1;
            c.wspc.0 += n("incomingOctetsAppLevel");
            c.wspc.1 += n("incomingOctetsWebSocketLevel");
            c.testsuite.0 += n("outgoingOctetsAppLevel");
            c.testsuite.1 += n("outgoingOctetsWebSocketLevel");
        }
        (c.cases > 0).then_some(c)
    }

    fn describe(&self) -> String {
        let pct = |(app, ws): (u64, u64)| 100.0 * ws as f64 / app.max(1) as f64;
        format!(
            "Compression in 12.1.* ({} cases, the testsuite's `trafficStats`): wspc sent {} bytes \
             of messages as {} bytes of compressed payload, {:.1}% of their size; the \
             testsuite's own compressor {:.1}%.",
            self.cases,
            self.wspc.0,
            self.wspc.1,
            pct(self.wspc),
            pct(self.testsuite)
        )
    }
}

fn columns(reports: &[RoleReport]) -> Vec<String> {
    let mut cols: Vec<String> = OUTCOMES.iter().map(|s| (*s).to_owned()).collect();
    for r in reports {
        for res in r.results.values() {
            let o = res.outcome().to_owned();
            if !cols.contains(&o) {
                cols.push(o);
            }
        }
    }
    cols
}

fn row(label: &str, t: &Tally, cols: &[String], extra: &str) -> String {
    let mut line = format!("| {label} | {}", t.cases);
    for c in cols {
        let n = t.by_outcome.get(c).copied().unwrap_or(0);
        let _ = write!(line, " | {n}");
    }
    let _ = write!(line, " |{extra}");
    line.push('\n');
    line
}

fn summary(reports: &[RoleReport], passed: bool) -> String {
    let cols = columns(reports);
    let header = |first: &str, extra: &str| {
        let mut h = format!("| {first} | cases");
        // `first` may be several label columns ("a | b").
        let mut sep = "|---".repeat(first.matches(" | ").count() + 1) + "|---:";
        for c in &cols {
            let _ = write!(h, " | {c}");
            sep.push_str("|---:");
        }
        if !extra.is_empty() {
            let _ = write!(h, " | {extra}");
            sep.push_str("|---:");
        }
        format!("{h} |\n{sep}|\n")
    };
    let meta_str = |m: &Option<Value>, key: &str| {
        m.as_ref()
            .and_then(|m| m.get(key))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "?".to_owned())
    };

    let mut out = String::from("# Autobahn|Testsuite results for wspc\n\n");
    out.push_str(
        "Generated by `scripts/autobahn.sh` (the gate: `cargo run -p wspc-autobahn --bin gate`). \
         Rules: every case OK or INFORMATIONAL (UNIMPLEMENTED fails: sections 12 and 13 run \
         with permessage-deflate offered and accepted), and every result equal to \
         `autobahn/expected-server.json` (roles `server` and `tokio-server`) or \
         `autobahn/expected-client.json` (roles `client` and `tokio-client`): the blocking and \
         the tokio driver are held to the same expected results.\n\n",
    );
    let _ = writeln!(
        out,
        "Gate: **{}**\n",
        if passed { "PASSED" } else { "FAILED" }
    );
    if let Some(m) = reports.iter().find_map(|r| r.meta.as_ref()) {
        let _ = writeln!(
            out,
            "Testsuite: {}\n",
            meta_str(&Some(m.clone()), "testsuite")
        );
    }
    let commits: BTreeSet<String> = reports
        .iter()
        .map(|r| meta_str(&r.meta, "commit"))
        .collect();
    let commits: Vec<String> = commits.into_iter().map(|c| format!("`{c}`")).collect();
    let _ = writeln!(out, "wspc commit: {}\n", commits.join(", "));
    out.push_str(&header("role | driver | expected", "wall time"));
    for r in reports {
        let mut t = Tally::default();
        r.results.values().for_each(|res| t.add(res));
        let wall = r
            .meta
            .as_ref()
            .and_then(|m| m.get("wall_seconds"))
            .and_then(Value::as_u64)
            .map_or_else(|| "?".to_owned(), |s| format!("{s} s"));
        let label = format!(
            "{} | {} | `{}`",
            r.role.name,
            r.role.driver.split(' ').next().unwrap_or_default(),
            r.role.expected_file()
        );
        out.push_str(&row(&label, &t, &cols, &format!(" {wall} |")));
    }
    for r in reports {
        let role = r.role;
        let _ = writeln!(
            out,
            "\n## {} ({}, {}; agent `{}`)\n",
            role.name, role.driver, role.testee, r.agent
        );
        let command = r
            .meta
            .as_ref()
            .and_then(|m| m.get("testee"))
            .and_then(Value::as_str)
            .map_or_else(String::new, |c| format!(" Testee command: `{c}`."));
        let _ = writeln!(
            out,
            "Held to `autobahn/{}`. Run finished {} with the {} testsuite, testee built from \
             commit `{}`; wall time {} s.{command}\n",
            role.expected_file(),
            meta_str(&r.meta, "finished"),
            meta_str(&r.meta, "runner"),
            meta_str(&r.meta, "commit"),
            meta_str(&r.meta, "wall_seconds"),
        );
        let mut sections: BTreeMap<u32, Tally> = BTreeMap::new();
        for (case, res) in &r.results {
            sections.entry(case.section()).or_default().add(res);
        }
        out.push_str(&header("section", "case time"));
        for (s, t) in &sections {
            let label = format!("{s} {}", section_name(*s));
            let secs = format!(" {:.1} s |", t.duration_ms as f64 / 1000.0);
            out.push_str(&row(&label, t, &cols, &secs));
        }
        let notable: Vec<String> = r
            .results
            .iter()
            .filter(|(_, res)| res.outcome() != "OK")
            .map(|(case, res)| format!("{case} ({})", res.describe()))
            .collect();
        if !notable.is_empty() {
            let _ = writeln!(out, "\nCases not OK: {}.", notable.join("; "));
        }
        if let Some(c) = &r.compression {
            let _ = writeln!(out, "\n{}", c.describe());
        }
        if !r.checked {
            out.push_str("\n(Not checked in this gate run: the reports on disk are shown.)\n");
        }
        if !r.problems.is_empty() {
            out.push_str("\nProblems:\n\n");
            for p in &r.problems {
                let _ = writeln!(out, "- {p}");
            }
        }
    }
    out
}

struct Args {
    roles: Vec<&'static Role>,
    reports: PathBuf,
    expected: PathBuf,
    update: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        roles: ROLES.iter().collect(),
        reports: PathBuf::from("reports/autobahn"),
        expected: PathBuf::from("autobahn"),
        update: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--roles" => args.roles = parse_roles(&value("--roles")?)?,
            "--reports" => args.reports = value("--reports")?.into(),
            "--expected" => args.expected = value("--expected")?.into(),
            "--update-expected" => args.update = true,
            "-h" | "--help" => {
                return Err(
                    "usage: gate [--roles server,client,tokio-server,tokio-client] \
                     [--reports DIR] [--expected DIR] [--update-expected]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    check_update(&args.roles, args.update)?;
    Ok(args)
}

/// `--update-expected` writes only from blocking roles: refuse a role list without one.
fn check_update(roles: &[&Role], update: bool) -> Result<(), String> {
    if update && !roles.iter().any(|r| r.owns_expected()) {
        return Err(
            "--update-expected writes the expected files from the blocking roles only \
                    (server, client); the tokio roles are compared against them: name a \
                    blocking role in --roles"
                .into(),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gate: {e}");
            return ExitCode::from(2);
        }
    };
    let mut reports = Vec::new();
    let mut passed = true;
    // Case counts over the checked roles, for the closing "N passed, M failed" line.
    let (mut cases_passed, mut cases_failed) = (0usize, 0usize);
    for role in &ROLES {
        let checked = args.roles.contains(&role);
        let dir = args.reports.join(role.name);
        let index = dir.join("index.json");
        let (agent, results) = match read_index(&index) {
            Ok(r) => r,
            Err(e) if checked => {
                eprintln!("gate: {}: {e}", role.name);
                passed = false;
                cases_failed += 1;
                continue;
            }
            Err(_) => continue,
        };
        let meta = read_json(&dir.join("meta.json")).ok();
        let mut problems = Vec::new();
        if checked {
            if agent != role.agent {
                problems.push(format!(
                    "the report is for agent {agent:?}, not {:?}",
                    role.agent
                ));
            }
            let mut findings = rule_violations(&results);
            let expected_path = args.expected.join(role.expected_file());
            if args.update && role.owns_expected() {
                match write_expected(&expected_path, &results) {
                    Ok(()) => eprintln!("gate: {}: wrote {}", role.name, expected_path.display()),
                    Err(e) => problems.push(e),
                }
            } else {
                match read_expected(&expected_path) {
                    Ok(expected) => findings.extend(differences(&results, &expected)),
                    Err(e) => problems.push(format!(
                        "{e} (after a reviewed run, create it with --update-expected)"
                    )),
                }
            }
            let bad: BTreeSet<&CaseId> = findings.iter().map(|(c, _)| c).collect();
            let bad_present = bad.iter().filter(|c| results.contains_key(c)).count();
            cases_passed += results.len() - bad_present;
            // A problem that is not about a case (no expected file) counts as one failure.
            cases_failed += bad.len() + usize::from(!problems.is_empty());
            problems.splice(0..0, findings.into_iter().map(|(_, why)| why));
            for p in &problems {
                eprintln!("gate: {}: {p}", role.name);
            }
            passed &= problems.is_empty();
            eprintln!(
                "gate: {} ({}, held to {}): {} cases, {}",
                role.name,
                role.driver,
                role.expected_file(),
                results.len(),
                if problems.is_empty() {
                    "passed".to_owned()
                } else {
                    format!("{} problems", problems.len())
                }
            );
        }
        reports.push(RoleReport {
            role,
            agent,
            results,
            meta,
            checked,
            problems,
            compression: Compression::read(&dir),
        });
    }
    let text = summary(&reports, passed);
    let path = args.reports.join("SUMMARY.md");
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("gate: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    print!("{text}");
    eprintln!("gate: {}", if passed { "PASSED" } else { "FAILED" });
    println!("gate: {cases_passed} passed, {cases_failed} failed");
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(behavior: &str, close: &str, code: Option<u64>) -> CaseResult {
        CaseResult {
            behavior: behavior.into(),
            behavior_close: close.into(),
            remote_close_code: code,
            duration_ms: 7,
        }
    }

    fn results(list: &[(&str, CaseResult)]) -> Results {
        list.iter()
            .map(|(id, r)| (CaseId::parse(id).unwrap(), r.clone()))
            .collect()
    }

    #[test]
    fn case_ids_sort_numerically() {
        let mut ids: Vec<CaseId> = ["9.1.10", "9.1.2", "10.1.1", "1.1.1"]
            .iter()
            .map(|s| CaseId::parse(s).unwrap())
            .collect();
        ids.sort();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["1.1.1", "9.1.2", "9.1.10", "10.1.1"]);
        assert!(CaseId::parse("1.x").is_none());
    }

    #[test]
    fn only_ok_and_informational_pass_unimplemented_included() {
        let r = results(&[
            ("12.1.1", result("UNIMPLEMENTED", "UNIMPLEMENTED", None)),
            ("13.7.18", result("UNIMPLEMENTED", "UNIMPLEMENTED", None)),
            (
                "7.1.6",
                result("INFORMATIONAL", "INFORMATIONAL", Some(1000)),
            ),
            ("9.1.1", result("UNIMPLEMENTED", "OK", Some(1000))),
            ("6.4.1", result("OK", "WRONG CODE", Some(1002))),
            ("5.1", result("NON-STRICT", "OK", Some(1000))),
        ]);
        let v = rule_violations(&r);
        assert_eq!(v.len(), 5, "{v:?}");
        let ids: Vec<String> = v.iter().map(|(id, _)| id.to_string()).collect();
        assert_eq!(ids, ["5.1", "6.4.1", "9.1.1", "12.1.1", "13.7.18"]);
        assert!(v[0].1.starts_with("case 5.1: behavior NON-STRICT"));
    }

    #[test]
    fn any_change_from_the_expected_results_is_a_difference() {
        let expected = results(&[
            ("1.1.1", result("OK", "OK", Some(1000))),
            ("1.1.2", result("OK", "OK", Some(1000))),
        ]);
        let mut got = expected.clone();
        // Durations are ignored.
        got.values_mut().for_each(|r| r.duration_ms = 99);
        assert!(differences(&got, &expected).is_empty());
        got.insert(
            CaseId::parse("1.1.2").unwrap(),
            result("NON-STRICT", "OK", Some(1000)),
        );
        got.insert(CaseId::parse("1.1.3").unwrap(), result("OK", "OK", None));
        let d = differences(&got, &expected);
        assert_eq!(d.len(), 2, "{d:?}");
        got.remove(&CaseId::parse("1.1.1").unwrap());
        assert_eq!(differences(&got, &expected).len(), 3);
    }

    #[test]
    fn expected_files_round_trip() {
        let r = results(&[
            ("1.1.1", result("OK", "OK", Some(1000))),
            ("12.1.1", result("UNIMPLEMENTED", "UNIMPLEMENTED", None)),
        ]);
        let path = std::env::temp_dir().join(format!("wspc-gate-{}.json", std::process::id()));
        write_expected(&path, &r).unwrap();
        let back = read_expected(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(differences(&back, &r).is_empty());
    }

    #[test]
    fn tokio_roles_are_held_to_their_blocking_twins_files() {
        let names: Vec<&str> = ROLES.iter().map(|r| r.name).collect();
        assert_eq!(names, ["server", "client", "tokio-server", "tokio-client"]);
        let file = |name: &str| role_named(name).unwrap().expected_file();
        assert_eq!(file("server"), "expected-server.json");
        assert_eq!(file("tokio-server"), "expected-server.json");
        assert_eq!(file("client"), "expected-client.json");
        assert_eq!(file("tokio-client"), "expected-client.json");
        for r in &ROLES {
            // Every twin is a blocking role that owns its file, listed before the tokio role.
            let twin = role_named(r.twin).unwrap();
            assert!(twin.owns_expected(), "{}", r.name);
            let pos = |x: &Role| ROLES.iter().position(|y| y == x).unwrap();
            assert!(pos(twin) <= pos(r), "{}", r.name);
            assert_eq!(
                r.owns_expected(),
                !r.name.starts_with("tokio-"),
                "{}",
                r.name
            );
            assert_eq!(
                r.agent == "wspc-tokio",
                r.name.starts_with("tokio-"),
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn roles_parse_in_canonical_order() {
        let names = |list: &str| -> Result<Vec<&str>, String> {
            parse_roles(list).map(|v| v.iter().map(|r| r.name).collect())
        };
        assert_eq!(
            names("tokio-client,server,tokio-client,").unwrap(),
            ["server", "tokio-client"]
        );
        assert_eq!(
            names("server,client,tokio-server,tokio-client").unwrap(),
            ["server", "client", "tokio-server", "tokio-client"]
        );
        assert!(names("tokio").unwrap_err().contains("unknown role"));
        assert!(names(",").is_err());
    }

    #[test]
    fn update_expected_needs_a_blocking_role() {
        let roles = |list: &str| parse_roles(list).unwrap();
        assert!(check_update(&roles("tokio-server,tokio-client"), true).is_err());
        assert!(check_update(&roles("tokio-server,tokio-client"), false).is_ok());
        assert!(check_update(&roles("client,tokio-server"), true).is_ok());
    }

    #[test]
    fn compression_is_summed_over_the_12_1_cases_from_the_per_case_reports() {
        let dir = std::env::temp_dir().join(format!("wspc-gate-ratio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let case = |file: &str| serde_json::json!({"behavior": "OK", "reportfile": file});
        let index = serde_json::json!({"wspc": {
            "12.1.1": case("a.json"), "12.1.2": case("b.json"), "12.2.1": case("c.json"),
            "1.1.1": case("d.json")}});
        std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
        let stats = |app: u64, ours: u64| {
            serde_json::json!({"trafficStats": {
                "incomingOctetsAppLevel": app, "incomingOctetsWebSocketLevel": ours,
                "outgoingOctetsAppLevel": app, "outgoingOctetsWebSocketLevel": 2 * ours}})
            .to_string()
        };
        std::fs::write(dir.join("a.json"), stats(1000, 40)).unwrap();
        std::fs::write(dir.join("b.json"), stats(3000, 60)).unwrap();
        // 12.2.1 and 1.1.1 are not read: their files do not even exist.
        let c = Compression::read(&dir).unwrap();
        assert_eq!(
            c,
            Compression {
                cases: 2,
                wspc: (4000, 100),
                testsuite: (4000, 200)
            }
        );
        assert!(c
            .describe()
            .contains("2.5% of their size; the testsuite's own compressor 5.0%"));
        // Without the per-case files (as committed), there is nothing to say.
        std::fs::remove_file(dir.join("b.json")).unwrap();
        assert_eq!(Compression::read(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn summary_names_every_role_and_its_driver() {
        let r = results(&[("1.1.1", result("OK", "OK", Some(1000)))]);
        let reports: Vec<RoleReport> = ROLES
            .iter()
            .map(|role| RoleReport {
                role,
                agent: role.agent.to_owned(),
                results: r.clone(),
                meta: None,
                checked: true,
                problems: Vec::new(),
                compression: None,
            })
            .collect();
        let text = summary(&reports, true);
        assert!(text.contains("| tokio-server | tokio | `expected-server.json` | 1 | 1 |"));
        assert!(text.contains("| client | blocking | `expected-client.json` | 1 | 1 |"));
        assert!(
            text.contains("## tokio-client (tokio driver `wspc::tokio`, testee `client --tokio`")
        );
        assert!(text.contains("## server (blocking driver `wspc::io`, testee `server`"));
    }

    #[test]
    fn outcome_is_the_worse_behavior() {
        assert_eq!(result("OK", "UNCLEAN", None).outcome(), "UNCLEAN");
        assert_eq!(result("FAILED", "OK", None).outcome(), "FAILED");
        assert_eq!(
            result("INFORMATIONAL", "OK", None).outcome(),
            "INFORMATIONAL"
        );
    }
}
