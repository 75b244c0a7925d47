/**
 * Session variables an exec rule may pass on to its program (`pass-env:`), and the values each
 * may have. sshd sets them only where the admin allowed the client to send them (`AcceptEnv
 * GIT_PROTOCOL`), so the client chooses the value: each name here is one a program reads as data,
 * never as a path or code, and its value is checked before it is passed; a value that fails is
 * not passed (the program then runs as if the client had not sent it).
 *
 * GIT_PROTOCOL: `version=2` (git's protocol v2, which `git clone` over ssh asks for this way),
 * in general colon-separated `key=value` items.
 */
export const PASSABLE_ENV: Readonly<Record<string, RegExp>> = {
  GIT_PROTOCOL: /^[A-Za-z0-9=:._-]{1,64}$/,
};

export const PASSABLE_ENV_NAMES = Object.keys(PASSABLE_ENV);

/** The value, if `name` may be passed and the value is one it may have; otherwise null. */
export function passableValue(name: string, value: string | undefined): string | null {
  const pattern = Object.hasOwn(PASSABLE_ENV, name) ? PASSABLE_ENV[name] : undefined;
  return pattern !== undefined && value !== undefined && pattern.test(value) ? value : null;
}
