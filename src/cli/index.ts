#!/usr/bin/env node
/**
 * `npx @privacy-toolkit/node-red-privacy <group> ...`: the package's command. Each group
 * lives in its own file of this folder; this one only dispatches.
 */
import { run as runContext } from "./context";
import { consoleIO, run as runManifest } from "./manifest";
import { run as runAudit } from "./audit";
import { run as runConsent } from "./consent";

const USAGE = `usage: node-red-privacy <command> ...

  audit <flows.json> [--settings settings.js] [--json]
                                         where personal data leaves unprotected, secrets in
                                         plain sight, unencrypted transports (exit 1 on high)
  manifest keygen|template|sign|verify   make and check signed firmware manifests
  context keygen|rekey|status            keys and re-encryption of the encrypted context store
  consent migrate --from <journal> --to <redis-url>
                                         move a consent store's file journal into Redis
                                         (idempotent, verified line by line)
  consent acknowledge --redis <redis-url>
                                         show, and accept, changes made outside the store
                                         to its Redis stream (evidence kept)

Run a command with --help for its options.`;

function main(argv: string[]): number | Promise<number> {
  const [group] = argv;
  switch (group) {
    case "manifest":
      return runManifest(argv, consoleIO);
    case "audit":
      return runAudit(argv, consoleIO);
    case "context":
      return runContext(argv, consoleIO);
    case "consent":
      return runConsent(argv, consoleIO);
    default:
      if (group === undefined || group === "help" || group === "--help") {
        consoleIO.out(USAGE);
        return group === undefined ? 2 : 0;
      }
      consoleIO.err(`unknown command ${group}\n\n${USAGE}`);
      return 2;
  }
}

// consent migrate is asynchronous (network); the others answer at once.
void Promise.resolve(main(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    consoleIO.err(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  },
);
