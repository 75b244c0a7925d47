/** What `check` finds about an rsync rule on this host: what the installed rsync lacks. */
import type { Finding } from '../rules/base.js';
import type { RsyncFeatures } from '../rules/rsync/features.js';
import type { RsyncRule } from '../rules/rsync/rule.js';
import { probeRsync } from './rsync-features.js';

/** One probe per program for the whole check (rules often share /usr/bin/rsync). */
const probed = new Map<string, RsyncFeatures>();

export function rsyncFindings(rule: RsyncRule): Finding[] {
  // A root of / is not a confinement: there is nothing outside it for --confine-root to keep out.
  if (rule.root === '/') return [];
  const features = probed.get(rule.program) ?? probeRsync(rule.program);
  probed.set(rule.program, features);
  if (features.confineRoot && features.dropD) return [];
  return [
    {
      where: rule.where,
      level: 'warning',
      id: 'rsync-lacks-confine-root',
      message: `rule "${rule.name}": ${rule.program} (rsync ${features.version ?? 'of unknown version'}) lacks --confine-root and --drop-D (rsync 3.5.0): filter merge files can name files outside root, a root receiver can create devices, and symlinks swapped into a destination are followed; upgrade rsync`,
    },
  ];
}
