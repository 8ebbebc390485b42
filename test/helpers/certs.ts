import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { tempDir } from "./server.js";

export interface Certificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
}

const openssl = (dir: string, ...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

function issue(dir: string, name: string, subject: string, caName: string, extensions: string): void {
  openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  );
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${caName}.crt`,
    "-CAkey",
    `${caName}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    `${name}.crt`,
    "-extfile",
    "ext.cnf",
    "-extensions",
    extensions,
  );
}

/** A throwaway CA, a server certificate for 127.0.0.1/localhost, and client certificates (real openssl). */
export function makeCertificates(): Certificates {
  const dir = tempDir("supervisor-certs-");
  execFileSync(
    "sh",
    [
      "-c",
      `cat > ext.cnf <<'EOF'
[server]
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
[client]
extendedKeyUsage = clientAuth
EOF`,
    ],
    { cwd: dir },
  );
  for (const ca of ["ca", "stranger-ca"]) {
    openssl(
      dir,
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${ca}`,
    );
  }
  issue(dir, "server", "/CN=localhost", "ca", "server");
  issue(dir, "client", "/CN=client", "ca", "client");
  issue(dir, "stranger", "/CN=stranger", "stranger-ca", "client");
  const at = (file: string) => join(dir, file);
  return {
    dir,
    ca: at("ca.crt"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
    clientCert: at("client.crt"),
    clientKey: at("client.key"),
    strangerCert: at("stranger.crt"),
    strangerKey: at("stranger.key"),
  };
}
