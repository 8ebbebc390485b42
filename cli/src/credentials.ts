import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TOKEN_ROLES as ROLES } from "@supervisor/sdk";
import { type Command, Option } from "commander";

/** `supervisor token` and `supervisor keygen`: make credentials without hand-rolled crypto. */
export function registerCredentialCommands(program: Command): void {
  program
    .command("token")
    .description("make a new bearer token and print the config entry that accepts it (only its SHA-256 is stored)")
    .requiredOption("--name <name>", "who will hold it")
    .addOption(new Option("--role <role>", "what it may call").choices(ROLES).makeOptionMandatory())
    .action((options: { name: string; role: string }) => {
      const token = randomBytes(32).toString("base64url");
      const sha256 = createHash("sha256").update(token).digest("hex");
      process.stdout.write(`token (give it to ${options.name}; it is not stored anywhere): ${token}\n`);
      process.stdout.write(
        `config entry for "tokens": ${JSON.stringify({ name: options.name, role: options.role, sha256 })}\n`,
      );
    });

  program
    .command("keygen")
    .description("make an ed25519 key pair for signing task specs")
    .requiredOption("--out <prefix>", "writes <prefix>.key (private, mode 600) and <prefix>.pub (public)")
    .action((options: { out: string }) => {
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      writeFileSync(`${options.out}.key`, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
      writeFileSync(`${options.out}.pub`, publicKey.export({ type: "spki", format: "pem" }));
      process.stdout.write(`wrote ${join(options.out)}.key and ${options.out}.pub\n`);
    });
}
