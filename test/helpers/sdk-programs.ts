import { execFile, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { REPO_ROOT } from "./cli.js";
import { tempDir } from "./server.js";
import type { TcpProxy } from "./tcp-proxy.js";

const run = promisify(execFile);

/** Debian's python3: python3-grpcio and python3-protobuf are built for it. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/** The environment without a user PYTHONPATH / PYTHONHOME that could shadow Debian's grpc. */
export function pythonEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { PYTHONPATH: _path, PYTHONHOME: _home, ...env } = process.env;
  return { ...env, ...extra };
}

/** What the Python SDK needs that this machine lacks (empty = it can run); scripts/sdk-toolchain.sh installs it. */
export function missingPython(): string[] {
  const probe = spawnSync(DEBIAN_PYTHON, ["-I", "-c", "import grpc, google.protobuf, venv, ensurepip, setuptools"], {
    env: pythonEnv(),
  });
  const packages = ["python3-grpcio", "python3-protobuf", "python3-venv", "python3-setuptools"];
  return probe.error || probe.status !== 0 ? packages : [];
}

export interface PythonSdk {
  /** The venv's python, with the SDK installed by pip. */
  python: string;
  remove(): void;
}

/**
 * `pip install ./sdk-python` into a fresh venv that sees Debian's grpcio and protobuf (--system-site-packages),
 * offline (--no-index, and --no-build-isolation: setuptools from Debian). From a copy of sdk-python, so the
 * build's scratch files never land in the repository (and concurrent installs do not share them).
 */
export async function installPythonSdk(): Promise<PythonSdk> {
  const dir = tempDir("supervisor-pysdk-");
  const source = join(dir, "sdk-python");
  cpSync(join(REPO_ROOT, "sdk-python"), source, {
    recursive: true,
    filter: (path) => !/(__pycache__|\.egg-info|\/build)$/.test(path),
  });
  const venv = join(dir, "venv");
  await run(DEBIAN_PYTHON, ["-I", "-m", "venv", "--system-site-packages", venv], { env: pythonEnv() });
  const pip = ["-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation", source];
  await run(join(venv, "bin/python"), pip, { env: pythonEnv({ PIP_DISABLE_PIP_VERSION_CHECK: "1" }) });
  return { python: join(venv, "bin/python"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ScenarioRun {
  code: number | null;
  lines: string[];
  stderr: string;
  /** Connections the proxy cut at the program's `drop-now`. */
  cut: number;
}

/**
 * Runs one SDK's scenario program (docs/sdk-conformance.md) against `proxy`: at its `drop-now` line every
 * connection through the proxy is cut, then the program is told `dropped` on stdin.
 */
export function runScenario(command: string, args: string[], proxy: TcpProxy, env: NodeJS.ProcessEnv = {}) {
  return new Promise<ScenarioRun>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...pythonEnv(), SUPERVISOR_ADDR: proxy.address, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    let cut = 0;
    child.stderr.on("data", (chunk) => (stderr += chunk));
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (line === "drop-now") {
        cut = proxy.dropAll();
        child.stdin.write("dropped\n");
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, lines, stderr, cut }));
  });
}

export function goAvailable(): boolean {
  return [
    "/usr/bin/go",
    ...["grpc", "protobuf", "genproto"].map((dir) => `/usr/share/gocode/src/google.golang.org/${dir}`),
  ]
    .map((path) => existsSync(path))
    .every(Boolean);
}

/**
 * The environment of an offline Go build (docs/sdk-go.md): GOPATH mode over a GOPATH holding sdk-go at its
 * module path, then Debian's /usr/share/gocode (golang-google-grpc-dev and friends); no module proxy.
 */
export function goEnv(gopath: string): NodeJS.ProcessEnv {
  const { GOFLAGS: _flags, GOROOT: _root, ...env } = process.env;
  return { ...env, GO111MODULE: "off", GOPROXY: "off", GOTOOLCHAIN: "local", GOPATH: `${gopath}:/usr/share/gocode` };
}

/**
 * Builds `sdk-go/<pkg>` offline into a temp dir; returns the binary and how to remove it. With `mainSource`, builds
 * that main package instead (placed next to sdk-go in the GOPATH, as a user's program importing the SDK).
 */
export async function buildGo(pkg: string, mainSource?: string): Promise<{ binary: string; remove(): void }> {
  const dir = tempDir("supervisor-gosdk-");
  const parent = join(dir, "src/github.com/supervisor/supervisor");
  mkdirSync(parent, { recursive: true });
  symlinkSync(join(REPO_ROOT, "sdk-go"), join(parent, "sdk-go"));
  let importPath = `github.com/supervisor/supervisor/sdk-go/${pkg}`;
  if (mainSource !== undefined) {
    mkdirSync(join(parent, pkg));
    writeFileSync(join(parent, pkg, "main.go"), mainSource);
    importPath = `github.com/supervisor/supervisor/${pkg}`;
  }
  const binary = join(dir, "bin", pkg.split("/").at(-1)!);
  await run("/usr/bin/go", ["build", "-o", binary, importPath], { cwd: parent, env: goEnv(dir) });
  return { binary, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
