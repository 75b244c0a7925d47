/**
 * Lexical confinement of the client's paths under a rule's root. No filesystem here: these
 * decide what the path names; host/confine-check.ts then re-checks on disk, just before rsync
 * runs, that no symlink along an existing prefix leads out of root.
 *
 * A leading "/" means root itself (backup tools send `host:/` and `--link-dest=/snap/prev`).
 */

/** `path` is what rsync is given; `checks` are the absolute paths it can resolve to, for host/confine-check.ts. */
export type Confined = { ok: true; path: string; checks: string[] } | { ok: false; why: string };

/** Path parts after resolving "." and ".." against `base` (parts relative to root); null if it climbs out. */
export function resolveParts(base: readonly string[], path: string): string[] | null {
  const parts = path.startsWith('/') ? [] : [...base];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts;
}

function hasDotDot(path: string): boolean {
  return path.split('/').includes('..');
}

/**
 * An operand (a source on a pull, the destination on a push), relative to root, where rsync runs.
 * ".." is refused outright: a lexical "a/../b" is not what the kernel resolves when "a" is a
 * symlink, and no client needs it. The rest is kept as written, because rsync gives meaning to
 * a trailing "/" (the directory's contents) and to "/./" under --relative (where the
 * transmitted name starts).
 */
export function confineOperand(operand: string, root: string): Confined {
  if (hasDotDot(operand)) return { ok: false, why: `${JSON.stringify(operand)} has a ".." part` };
  const relative = operand.replace(/^\/+/, '');
  return { ok: true, path: relative === '' ? '.' : relative, checks: [joinUnder(root, resolveParts([], relative)!)] };
}

/**
 * A directory option relative to the destination (--link-dest, --compare-dest, --copy-dest,
 * --backup-dir, --temp-dir). `../previous` is the normal rotating-snapshot layout (rsync issue
 * #255), so ".." is allowed as long as the result stays inside root. A root-anchored value is
 * rewritten to the absolute path under root.
 *
 * rsync resolves a relative value against the destination directory, which is the destination
 * itself, except when the destination names a single file: then it is its parent. A trailing
 * "/" (or ".") settles it. Without one, the value must also stay inside root from the parent,
 * unless `rsyncConfinesOptionPaths` (rsync's own --confine-root bounds these paths to root).
 */
export function confineDestDir(value: string, destination: string, root: string, rsyncConfinesOptionPaths: boolean): Confined {
  const destParts = resolveParts([], destination);
  if (destParts === null) return { ok: false, why: 'the destination climbs out of root' };
  const isDirectory = destination === '' || /(^|\/)\.?$/.test(destination) || destParts.length === 0;
  const fromDest = resolveParts(destParts, value);
  if (fromDest === null) return { ok: false, why: `${JSON.stringify(value)} leads out of root` };
  const checks = [joinUnder(root, fromDest)];
  if (!isDirectory) {
    const fromParent = resolveParts(destParts.slice(0, -1), value);
    if (fromParent !== null) checks.push(joinUnder(root, fromParent));
    else if (!rsyncConfinesOptionPaths) {
      return {
        ok: false,
        why: `${JSON.stringify(value)} leads out of root if ${JSON.stringify(destination)} is a file (end the destination with "/")`,
      };
    }
  }
  if (value.startsWith('/')) return { ok: true, path: joinUnder(root, fromDest), checks: [...new Set(checks)] };
  return { ok: true, path: value, checks: [...new Set(checks)] };
}

/** --partial-dir: relative to each file's own directory (so no ".." at all), or root-anchored. */
export function confinePartialDir(value: string, root: string): Confined {
  if (hasDotDot(value)) return { ok: false, why: `${JSON.stringify(value)} has a ".." part (it is relative to every file's directory)` };
  if (value.startsWith('/')) {
    const path = joinUnder(root, resolveParts([], value)!);
    return { ok: true, path, checks: [path] };
  }
  // Created inside each destination directory: those are checked as the destination.
  return { ok: true, path: value, checks: [] };
}

/** --files-from FILE on a pull: a file inside root, read by the server. */
export function confineRootFile(value: string, root: string): Confined {
  const parts = resolveParts([], value);
  if (parts === null || hasDotDot(value)) return { ok: false, why: `${JSON.stringify(value)} has a ".." part` };
  const path = joinUnder(root, parts);
  return { ok: true, path, checks: [path] };
}

export function joinUnder(root: string, parts: readonly string[]): string {
  if (parts.length === 0) return root;
  return root === '/' ? `/${parts.join('/')}` : `${root}/${parts.join('/')}`;
}
