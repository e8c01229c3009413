import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "./binaries";

export interface TestCertificates {
  /** The CA that signed the server and client certificates. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: the wrong one to trust. */
  otherCa: string;
}

/**
 * Makes, with openssl in `dir`, a CA, a server certificate for 127.0.0.1 / localhost and a client
 * certificate (CN `clientName`), valid two days. Returns the PEM files' paths.
 */
export function makeTestCertificates(dir: string, clientName = "test-client"): TestCertificates {
  const openssl = (args: string[]) => execFileSync(requireBinary("openssl", "openssl"), args, { cwd: dir, stdio: "ignore" });
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt"]);
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const [name, cn] of [
    ["server", "127.0.0.1"],
    ["client", clientName],
  ] as const) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", `${name}.csr`]);
    const extensions = name === "server" ? ["-extfile", "server.ext"] : [];
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", `${name}.crt`, ...extensions]);
  }
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca", "-keyout", "other.key", "-out", "other.crt"]);
  const file = (name: string) => join(dir, name);
  return {
    ca: file("ca.crt"),
    serverCert: file("server.crt"),
    serverKey: file("server.key"),
    clientCert: file("client.crt"),
    clientKey: file("client.key"),
    otherCa: file("other.crt"),
  };
}
