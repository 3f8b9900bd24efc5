/** Option parsing shared by the command's groups: `--name value` and `--flag`, nothing else. */

/** A mistake in how the command was called: the group prints its usage with it (exit 2). */
export class UsageError extends Error {}

export function options(args: string[], allowed: Record<string, "value" | "flag">): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
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
