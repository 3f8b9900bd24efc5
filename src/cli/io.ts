/** Where a command writes and what time it is: the console in use, a recorder in tests. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  now(): number;
}

export const consoleIO: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  now: () => Date.now(),
};
