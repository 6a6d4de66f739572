//! The C ABI, tested from C: the programs under `tests/c/` are compiled with the system C and C++
//! compilers (`cc`, `c++`, or `$CC`, `$CXX`) against the `libwspc.a` of this very build, run, and
//! must exit with status 0. One more test installs the library with `scripts/install-capi.sh`
//! into a temporary prefix and builds a program against it with `pkg-config`.
//!
//! Where the library comes from: `cargo test` builds the library target, with every crate type of
//! `core/capi/Cargo.toml` (`lib`, `cdylib`, `staticlib`), before the test binaries, into the `deps`
//! directory this test binary runs from. If it is not there (a different cargo layout), or if
//! `WSPC_CAPI_REBUILD` is set, the test builds it with `cargo build --lib` into a target directory
//! of its own.
#![cfg(target_os = "linux")]

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// What Rust's standard library needs when `libwspc.a` is linked into a C program on Linux
/// (`rustc --print native-static-libs`); also the `Libs.private` of `wspc.pc`.
const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

const WARNINGS: &[&str] = &["-Wall", "-Wextra", "-Werror"];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn c_dir() -> PathBuf {
    crate_dir().join("tests/c")
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The `libwspc.a` of this build.
fn static_lib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let exe = env::current_exe().unwrap();
        let beside = exe.parent().unwrap().join("libwspc.a");
        if beside.is_file() && env::var_os("WSPC_CAPI_REBUILD").is_none() {
            return beside;
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi-lib");
        let out = Command::new(cargo())
            .args(["build", "--lib", "--manifest-path"])
            .arg(crate_dir().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("run cargo build");
        assert!(out.status.success(), "cargo build failed:\n{}", text(&out));
        target.join("debug/libwspc.a")
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[derive(Clone, Copy, Debug)]
enum Lang {
    C11,
    Cxx17,
    /// C99 with `-pedantic-errors`: a second `typedef` of a name is an error there.
    C99Pedantic,
}

impl Lang {
    fn compiler(self) -> String {
        match self {
            Self::C11 | Self::C99Pedantic => env::var("CC").unwrap_or_else(|_| "cc".into()),
            Self::Cxx17 => env::var("CXX").unwrap_or_else(|_| "c++".into()),
        }
    }

    fn flags(self) -> &'static [&'static str] {
        match self {
            Self::C11 => &["-std=c11"],
            Self::Cxx17 => &["-std=c++17", "-x", "c++"],
            Self::C99Pedantic => &["-std=c99", "-pedantic-errors"],
        }
    }
}

/// Runs a compiler command; panics with its output on failure.
fn compiler(lang: Lang, args: &[&str], extra: &[PathBuf]) {
    let mut cmd = Command::new(lang.compiler());
    cmd.args(lang.flags()).args(WARNINGS).args(args).args(extra);
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} (a C/C++ compiler is needed): {e}",
            lang.compiler()
        )
    });
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
}

/// Compiles `tests/c/<source>` with the header, the tests' own windows.h and `common.h` on the
/// include path, and links it with `libwspc.a`.
fn build(source: &str, lang: Lang, name: &str) -> PathBuf {
    let exe = out_dir().join(name);
    let include = crate_dir().join("include");
    let c = c_dir();
    let src = c.join(source);
    let mut args: Vec<PathBuf> = vec![
        "-g".into(),
        "-pthread".into(),
        format!("-I{}", include.display()).into(),
        format!("-I{}", c.join("win").display()).into(),
        format!("-I{}", c.display()).into(),
        src,
    ];
    if matches!(lang, Lang::Cxx17) {
        args.extend(["-x".into(), "none".into()]);
    }
    args.extend(["-o".into(), exe.clone()]);
    args.push(static_lib().to_path_buf());
    args.extend(NATIVE_LIBS.iter().map(PathBuf::from));
    compiler(lang, &[], &args);
    exe
}

/// Runs a program without the `LD_LIBRARY_PATH` that `cargo test` sets (it points at this build's
/// `target/` and would shadow an installed `libwspc.so`).
fn run(exe: &Path) -> String {
    let out = Command::new(exe)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} exited with {}:\n{}",
        exe.display(),
        out.status,
        text(&out)
    );
    text(&out)
}

fn build_and_run(source: &str, lang: Lang) -> String {
    let name = format!("{}-{lang:?}", source.trim_end_matches(".c"));
    run(&build(source, lang, &name))
}

#[test]
fn header_compiles_alone_and_after_a_windows_h() {
    let include = format!("-I{}", crate_dir().join("include").display());
    let win = format!("-I{}", c_dir().join("win").display());
    let src = c_dir().join("header_check.c");
    for lang in [Lang::C11, Lang::Cxx17] {
        for windows_h in [false, true] {
            let obj = out_dir().join(format!("header-{lang:?}-{windows_h}.o"));
            let mut args = vec![include.as_str(), win.as_str(), "-c"];
            if windows_h {
                args.push("-DWITH_WINDOWS_H");
            }
            compiler(lang, &args, &[src.clone(), "-o".into(), obj]);
        }
    }
    // After a windows.h, the header must declare none of the base types again.
    let obj = out_dir().join("header-c99.o");
    compiler(
        Lang::C99Pedantic,
        &[&include, &win, "-c", "-DWITH_WINDOWS_H"],
        &[src, "-o".into(), obj],
    );
}

#[test]
fn layout_in_c_and_cxx() {
    for lang in [Lang::C11, Lang::Cxx17] {
        assert!(build_and_run("layout.c", lang).contains("layout: ok"));
    }
}

#[test]
fn sdk_sample_flow_in_c_and_cxx() {
    for lang in [Lang::C11, Lang::Cxx17] {
        assert!(build_and_run("sample_flow.c", lang).contains("sample flow: ok"));
    }
}

#[test]
fn error_paths() {
    assert!(build_and_run("errors.c", Lang::C11).contains("errors: ok"));
}

#[test]
fn allocated_buffer_containment() {
    assert!(build_and_run("allocated.c", Lang::C11).contains("allocated: ok"));
}

#[test]
fn permessage_deflate_property() {
    assert!(build_and_run("deflate.c", Lang::C11).contains("deflate: ok"));
}

#[test]
fn two_threads_on_one_handle() {
    let exe = build("threads.c", Lang::C11, "threads");
    for _ in 0..5 {
        assert!(run(&exe).contains("threads: ok"));
    }
}

/// `scripts/install-capi.sh PREFIX` installs the library, the header and `wspc.pc`; a C program
/// builds against them with `pkg-config`, dynamically and statically, and runs.
#[test]
fn install_script_and_pkg_config() {
    let prefix = out_dir().join("prefix");
    let _ = std::fs::remove_dir_all(&prefix);
    let script = crate_dir().join("../../scripts/install-capi.sh");
    let out = Command::new("sh")
        .arg(&script)
        .arg(&prefix)
        // A target directory of its own, so this never waits on the lock of the outer build.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi-install"),
        )
        .output()
        .expect("run scripts/install-capi.sh");
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    for file in [
        "lib/libwspc.so",
        "lib/libwspc.a",
        "include/websocket.h",
        "lib/pkgconfig/wspc.pc",
    ] {
        assert!(prefix.join(file).is_file(), "{file} not installed");
    }

    let pkg_config = |args: &[&str]| -> Vec<String> {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("wspc")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .expect("run pkg-config");
        assert!(out.status.success(), "pkg-config failed:\n{}", text(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let cflags = pkg_config(&["--cflags"]);
    assert!(cflags.contains(&format!("-I{}", prefix.join("include").display())));
    let src = c_dir().join("sample_flow.c");
    let win = format!("-I{}", c_dir().join("win").display());
    let tests_c = format!("-I{}", c_dir().display());

    // Shared: `pkg-config --cflags --libs wspc`; the loader finds it through the rpath.
    let libs = pkg_config(&["--cflags", "--libs"]);
    let exe = out_dir().join("installed-shared");
    let rpath = format!("-Wl,-rpath,{}", prefix.join("lib").display());
    let mut args: Vec<PathBuf> = vec![win.clone().into(), tests_c.clone().into(), src.clone()];
    args.extend(libs.iter().map(PathBuf::from));
    args.extend([rpath.into(), "-o".into(), exe.clone()]);
    compiler(Lang::C11, &[], &args);
    assert!(run(&exe).contains("sample flow: ok"));
    let ldd = Command::new("ldd")
        .arg(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(
        text(&ldd).contains(&prefix.join("lib/libwspc.so").display().to_string()),
        "not linked to the installed libwspc.so:\n{}",
        text(&ldd)
    );

    // Static: the archive plus the `Libs.private` of `pkg-config --static --libs wspc`.
    let libs = pkg_config(&["--static", "--libs"]);
    assert!(NATIVE_LIBS.iter().all(|l| libs.iter().any(|a| a == l)));
    let exe = out_dir().join("installed-static");
    let mut args: Vec<PathBuf> = vec![win.into(), tests_c.into(), src];
    args.extend(cflags.iter().map(PathBuf::from));
    args.extend(libs.iter().map(|a| match a.as_str() {
        "-lwspc" => prefix.join("lib/libwspc.a"),
        other => PathBuf::from(other),
    }));
    args.extend(["-o".into(), exe.clone()]);
    compiler(Lang::C11, &[], &args);
    assert!(run(&exe).contains("sample flow: ok"));
}
