/** What the installed rsync can do, probed at run time (host/rsync-features.ts): the facts an rsync rule's argv depends on. */
export interface RsyncFeatures {
  version: string | null;
  /** --confine-root (rsync >= 3.5.0): bounds merge files and option paths to root. */
  confineRoot: boolean;
  /** --drop-D (rsync >= 3.5.0): a receiver creates no devices or specials. */
  dropD: boolean;
}

export const NO_RSYNC_FEATURES: RsyncFeatures = { version: null, confineRoot: false, dropD: false };
