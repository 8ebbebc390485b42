// ts-proto writes code for every file a generated file imports. The service files import
// google/api/annotations.proto only for their google.api.http options, which the server's HTTP
// transcoder reads from the descriptor set; the generated code never uses them, and with them would
// come google/protobuf/descriptor.ts (270 KB) into the SDK. This deletes those files, and fails
// `npm run gen` if any file left still imports one of them (then they are needed after all).
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** Generated files (or folders), relative to the output, that exist only for the HTTP annotations. */
const UNUSED = ["google/api", "google/protobuf/descriptor.ts"];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

export function pruneUnimported(out) {
  for (const path of UNUSED) {
    if (!statSync(join(out, path), { throwIfNoEntry: false })) {
      throw new Error(
        `prune-unimported: ${path} was not generated (a ts-proto change?): update scripts/prune-unimported.mjs`,
      );
    }
    rmSync(join(out, path), { recursive: true });
  }
  const gone = UNUSED.map((path) => path.replace(/\.ts$/, ""));
  for (const file of files(out)) {
    const text = readFileSync(file, "utf8");
    for (const path of gone) {
      if (new RegExp(`from "[./]*${path.replace(/[/.]/g, "\\$&")}[/.]`).test(text)) {
        throw new Error(`prune-unimported: ${relative(out, file)} imports ${path}, which was deleted as unused`);
      }
    }
  }
}
