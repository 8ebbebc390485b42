#!/usr/bin/env node
// Regenerates everything derived from proto/: the ts-proto SDK code in
// sdk/src/gen, the descriptor set the server hands to reflection, and the
// Python and Go SDKs' stubs.
// `--check` generates into a temp dir and fails on any difference, so CI
// catches a proto change (or a grpc-health-check / @grpc/reflection upgrade
// that changes a served file) that was not regenerated.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { GO_GENERATED, generateGo } from "./gen-go.mjs";
import { generatePython, PYTHON_GENERATED } from "./gen-python.mjs";
import { ownKeys } from "./own-keys.mjs";
import { pruneUnimported } from "./prune-unimported.mjs";

// The CLI carries its own copy of the descriptor set (for canonical proto JSON): it does not depend on the server.
// The Python and Go SDKs' stubs come from protoc with Debian's plugins (scripts/gen-python.mjs, gen-go.mjs).
const GENERATED = [
  "sdk/src/gen",
  "server/gen/supervisor.binpb",
  "cli/gen/supervisor.binpb",
  ...PYTHON_GENERATED,
  ...GO_GENERATED,
];
const check = process.argv.includes("--check");
const root = new URL("..", import.meta.url).pathname;
const buf = join(root, "node_modules/.bin/buf");

// Services the server serves from its dependencies' own .proto files, keyed by the
// canonical name each file has upstream (grpc/grpc-proto), which is the name other
// servers' reflection uses. Reflection must serve these exact files, so they are
// taken from the installed packages rather than copied into proto/: no copy to drift,
// no lint exemptions, no ts-proto or polyglot output for code we do not own.
const serverRequire = createRequire(join(root, "server/package.json"));
const THIRD_PARTY_PROTOS = {
  // grpc-health-check serves grpc.health.v1.Health from the file it exports as protoPath.
  "grpc/health/v1/health.proto": serverRequire("grpc-health-check").protoPath,
  // @grpc/reflection loads these from its build/ folder (it exports no path for them).
  "grpc/reflection/v1/reflection.proto": serverRequire.resolve(
    "@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto",
  ),
  "grpc/reflection/v1alpha/reflection.proto": serverRequire.resolve(
    "@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto",
  ),
};

/**
 * Builds the descriptor set of every file the server serves: proto/ plus the
 * third-party files, compiled together in a staging tree so buf resolves them
 * as one image (a name clash between them fails the build).
 */
function buildDescriptorSet(out) {
  const stage = mkdtempSync(join(tmpdir(), "supervisor-descriptors-"));
  try {
    cpSync(join(root, "proto"), stage, { recursive: true });
    for (const [name, source] of Object.entries(THIRD_PARTY_PROTOS)) {
      mkdirSync(dirname(join(stage, name)), { recursive: true });
      cpSync(source, join(stage, name), { errorOnExist: true, force: false });
    }
    execFileSync(buf, ["build", stage, "-o", out], { cwd: root, stdio: "inherit" });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function generate(base) {
  for (const path of GENERATED) rmSync(join(base, path), { recursive: true, force: true });
  mkdirSync(join(base, "server/gen"), { recursive: true });
  mkdirSync(join(base, "cli/gen"), { recursive: true });
  execFileSync(buf, ["generate", "--template", "buf.gen.yaml", "-o", base], { cwd: root, stdio: "inherit" });
  ownKeys(join(base, "sdk/src/gen"));
  pruneUnimported(join(base, "sdk/src/gen"));
  buildDescriptorSet(join(base, "server/gen/supervisor.binpb"));
  copyFileSync(join(base, "server/gen/supervisor.binpb"), join(base, "cli/gen/supervisor.binpb"));
  generatePython(root, base);
  generateGo(root, base);
}

function listFiles(path) {
  if (!statSync(path, { throwIfNoEntry: false })) return [];
  if (!statSync(path).isDirectory()) return [path];
  // Python's bytecode caches (gitignored) are not generated code.
  return readdirSync(path)
    .filter((name) => name !== "__pycache__")
    .flatMap((name) => listFiles(join(path, name)));
}

function snapshot(base) {
  const files = new Map();
  for (const path of GENERATED) {
    for (const file of listFiles(join(base, path))) files.set(relative(base, file), readFileSync(file));
  }
  return files;
}

if (!check) {
  generate(root);
  console.log(`generated ${GENERATED.join(", ")}`);
} else {
  const temp = mkdtempSync(join(tmpdir(), "supervisor-gen-"));
  try {
    generate(temp);
    const fresh = snapshot(temp);
    const committed = snapshot(root);
    const drift = [];
    for (const [file, bytes] of fresh) {
      const old = committed.get(file);
      if (!old) drift.push(`missing: ${file}`);
      else if (!old.equals(bytes)) drift.push(`differs: ${file}`);
    }
    for (const file of committed.keys()) if (!fresh.has(file)) drift.push(`stale: ${file}`);
    if (drift.length > 0) {
      console.error("generated code is out of sync with proto/ (run `npm run gen` and commit):");
      for (const line of drift) console.error(`  ${line}`);
      process.exit(1);
    }
    console.log(`gen:check ok (${fresh.size} files in sync)`);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
