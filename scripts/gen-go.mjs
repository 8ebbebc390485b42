// Go stubs for sdk-go, from proto/ with Debian's protoc 3.21, protoc-gen-go 1.28 (golang-goprotobuf-dev /
// protoc-gen-go) and protoc-gen-go-grpc 1.33 (protoc-gen-go-grpc): the versions of the
// google.golang.org/protobuf and grpc packages the module builds against (/usr/share/gocode).
// Only supervisor/v1 is generated, into the module's own path: the google/rpc and google/api files
// name googleapis' go_package, and Go code imports those (google.golang.org/genproto) instead, so
// grpc's status.Details() decodes ErrorInfo and BadRequest into the types every Go gRPC user knows.
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { protoFiles, requireTool } from "./gen-python.mjs";

export const GO_MODULE = "github.com/supervisor/supervisor/sdk-go";
export const GO_GENERATED = ["sdk-go/gen"];

export function generateGo(root, base) {
  const protoc = "/usr/bin/protoc";
  const goPlugin = "/usr/bin/protoc-gen-go";
  const grpcPlugin = "/usr/bin/protoc-gen-go-grpc";
  requireTool(protoc, "protobuf-compiler");
  requireTool(goPlugin, "protoc-gen-go");
  requireTool(grpcPlugin, "protoc-gen-go-grpc");
  const protoDir = join(root, "proto");
  const ours = protoFiles(protoDir).filter((file) => file.startsWith("supervisor/"));
  const mapping = ours.map((file) => `M${file}=${GO_MODULE}/gen/supervisor/v1;supervisorv1`).join(",");
  const out = mkdtempSync(join(tmpdir(), "supervisor-go-gen-"));
  try {
    execFileSync(
      protoc,
      [
        "-I",
        ".",
        `--plugin=protoc-gen-go=${goPlugin}`,
        `--plugin=protoc-gen-go-grpc=${grpcPlugin}`,
        `--go_out=${out}`,
        `--go_opt=module=${GO_MODULE},${mapping}`,
        `--go-grpc_out=${out}`,
        `--go-grpc_opt=module=${GO_MODULE},${mapping}`,
        ...ours,
      ],
      { cwd: protoDir, stdio: "inherit" },
    );
    rmSync(join(base, "sdk-go/gen"), { recursive: true, force: true });
    execFileSync("mkdir", ["-p", join(base, "sdk-go")]);
    renameSync(join(out, "gen"), join(base, "sdk-go/gen"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
