// Types of scripts/deb-parts.mjs (plain JavaScript: npm run deb runs it without a build step).
export const PACKAGE: string;
export const LIB: string;
export const ETC: string;
export const LOG_DIR: string;
export const RUNTIME_LINK: string;
export const BUNDLED_NODE: string;
export const SYSTEM_NODE: string;
export const NODE_LICENSE: string;
export const EXPAT_TEXT: string;
export function debVersion(upstream: string, revision: number | string, nodeVersion: string | null): string;
export function debArch(nodeArch: string): string;
export function debFileName(version: string, arch: string): string;
export function controlFile(fields: {
  version: string;
  arch: string;
  installedSizeKiB: number;
  depends: string;
  maintainer: string;
  homepage: string | undefined;
}): string;
export function installedConf(): string;
export function launcher(): string;
export function logrotate(logDir?: string): string;
export function changelogDate(epochSeconds: number): string;
export function changelog(entry: {
  version: string;
  maintainer: string;
  epochSeconds: number;
  commit: string;
  nodeVersion: string | undefined;
}): string;
export function dep5License(npmLicense: string): string;
export interface BundledDependency {
  name: string;
  version: string;
  license: string;
  copyright: string;
  text: string;
}
export function copyright(parts: {
  years: string;
  projectLicense: string;
  projectText: string;
  bundled: BundledDependency[];
  node: { version: string; text: string } | null;
}): string;
