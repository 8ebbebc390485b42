// ts-proto writes map entries and Struct fields with plain assignment (`obj[key] = value`). For the key
// "__proto__" that sets the object's prototype instead of adding an entry, so a payload such as
// {"__proto__": []} or an env var named __proto__ is silently lost between the wire and the handler.
// This rewrites those assignments in the generated code as own-property definitions. Each rule must
// match at least once: a ts-proto upgrade that changes the code fails `npm run gen` loudly.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const own = (target, key, value) =>
  `globalThis.Object.defineProperty(${target}, ${key}, { value: ${value}, enumerable: true, configurable: true, writable: true });`;

/** [what the generated code says, how it is rewritten]; every target is a plain object the code just made. */
const RULES = [
  // decode: message.labels[entry3.key] = entry3.value;
  [/\b(message\.\w+)\[(entry\d+\.key)\] = (entry\d+\.value);/g, (_, target, key, value) => own(target, key, value)],
  // toJSON: obj.labels[k] = v;
  [/\b(obj\.\w+)\[k\] = v;/g, (_, target) => own(target, "k", "v")],
  // fromPartial: acc[key] = globalThis.String(value);
  [/\bacc\[key\] = ([^;]+);/g, (_, value) => own("acc", "key", value)],
  // Struct.wrap / Struct.unwrap
  [/\bstruct\.fields\[key\] = object\[key\];/g, () => own("struct.fields", "key", "object[key]")],
  [/\bobject\[key\] = message\.fields\[key\];/g, () => own("object", "key", "message.fields[key]")],
];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Rewrites the generated TypeScript under `dir` in place. */
export function ownKeys(dir) {
  const hits = RULES.map(() => 0);
  for (const file of files(dir)) {
    const text = readFileSync(file, "utf8");
    let next = text;
    RULES.forEach(([pattern, replace], index) => {
      next = next.replace(pattern, (...match) => {
        hits[index]++;
        return replace(...match);
      });
    });
    if (next !== text) writeFileSync(file, next);
  }
  const unused = RULES.filter((_, index) => hits[index] === 0).map(([pattern]) => pattern.source);
  if (unused.length > 0)
    throw new Error(`own-keys: rules matched nothing (did ts-proto change?): ${unused.join(", ")}`);
}
