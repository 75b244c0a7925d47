/** Command-line flags, parsed strictly: an unknown flag is an error, never ignored. */
import { realpathSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * A path flag's value, which must be absolute: a relative --policy would be read from the
 * session's working directory (the account's home, which it can write), a bare --command looked
 * up on the session's PATH, and sshd reads --ca from its own.
 */
export function absolutePath(flag: string, value: string, why = 'give an absolute path'): string {
  if (!value.startsWith('/')) throw new UsageError(`--${flag} ${value}: ${why}`);
  return value;
}

/** What a command= line (or sshd) runs: --command's words, else this runtime and launcher. */
export function dispatchProgram(command: string | null | undefined, why?: string): string[] {
  if (!command) return [process.execPath, realpathSync(process.argv[1]!)];
  const words = command.split(' ');
  absolutePath('command', words[0]!, why);
  return words;
}
