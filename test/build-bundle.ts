// The end-to-end tests run what ships: the bundle, built fresh before any test starts.
// @ts-expect-error: the build script is plain JavaScript, run by npm scripts as well.
import { buildBundle } from '../scripts/build.mjs';

export default async function setup(): Promise<void> {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major < 22 || (major === 22 && minor < 15)) {
    throw new Error(`tests need Node >= 22.15 (found ${process.version}); run them through npm, which uses the node devDependency`);
  }
  await buildBundle();
}
