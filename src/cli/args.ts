/** Option parsing shared by the command's groups: `--name value` and `--flag`, nothing else. */
import type { CliIO } from "./io";

/** A mistake in how the command was called: the group prints its usage with it (exit 2). */
export class UsageError extends Error {}

/**
 * The options in `args`. A word that is not an option (audit's flows file) goes to
 * `operands` when the group takes any, and is an unknown option otherwise, so a group
 * without operands still names a stray word as the mistake.
 */
export function options(
  args: string[],
  allowed: Record<string, "value" | "flag">,
  operands?: string[],
): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (operands && !a.startsWith("--")) {
      operands.push(a);
      continue;
    }
    const name = a.startsWith("--") ? a.slice(2) : "";
    const kind = Object.prototype.hasOwnProperty.call(allowed, name) ? allowed[name] : undefined;
    if (!kind) throw new UsageError(`unknown option ${a}`);
    if (kind === "flag") out[name] = true;
    else {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      out[name] = v;
    }
  }
  return out;
}

export function need(opts: Record<string, string | true>, name: string): string {
  const v = opts[name];
  if (typeof v !== "string") throw new UsageError(`--${name} is required`);
  return v;
}

/**
 * A group's answer to an error it caught: a usage mistake prints the message and the
 * usage (exit 2), anything else only its message, with `failed` (1, or 2 for audit,
 * where unreadable input is the caller's mistake too).
 */
export function reportError(e: unknown, usage: string, io: CliIO, failed = 1): number {
  if (e instanceof UsageError) {
    io.err(`${e.message}\n\n${usage}`);
    return 2;
  }
  io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
  return failed;
}
