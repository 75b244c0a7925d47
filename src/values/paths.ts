/** Absolute paths as a policy may write them: no `.` or `..` parts, no empty ones inside. */

export function isAbsoluteCleanPath(path: string): boolean {
  return (
    path.startsWith('/') &&
    !path.split('/').some((part, i, all) => part === '.' || part === '..' || (part === '' && i > 0 && i < all.length - 1))
  );
}

/** An absolute `path` is `dir` or lies below it (every absolute path lies below `/`). */
export function isWithin(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

export const ABSOLUTE_PATH = { test: isAbsoluteCleanPath, expected: 'an absolute path without . or .. parts' };
