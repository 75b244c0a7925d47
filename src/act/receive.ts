/**
 * The receiver: the client's stdin into a new file, published whole or not at all.
 *
 *   1. The directory must exist, not be a symlink, and not be writable by others.
 *   2. A temp file `.receive-PID-SESSION.part` is created exclusively (O_EXCL|O_NOFOLLOW: never
 *      an existing file, never through a planted symlink), its mode set explicitly.
 *   3. stdin streams into it with max-bytes, a free-space floor and an idle timeout enforced as
 *      it goes; the sha256 is computed on the way.
 *   4. At end of input: fsync, then (after --size / --sha256 checks) publish under the final name
 *      with link(2), which never replaces an existing file: a template name taken by an upload in
 *      the same second gets -1, -2, ...; a name the client chose that is taken is refused (before
 *      anything is read if it is taken then). Then the temp name is removed and the directory
 *      fsync'd.
 *   5. The receipt ("NAME BYTES SHA256") goes to stdout. If it cannot be written, the client is
 *      gone: the file is unpublished.
 *
 * Past the rule's max-uploads within its keep-within window the upload is refused before anything
 * is read, and counted again once published (concurrent uploads): one over the cap unpublishes
 * itself. Retention then removes only what is older than the window (act/retention.ts). The end
 * record's `writes` names what was created and what retention removed.
 *
 * Why step 5 tells a finished upload from a cut one: a client that is killed or cut off gives the
 * receiver a plain end of input, exactly like a finished upload (sshd closes the pipe), but sshd
 * has closed the receiver's stdout by then too, so the receipt fails with EPIPE (measured through
 * a real sshd: 5 of 5 killed clients, 0 of 1 clean ones; test/e2e/receive.e2e.test.ts kills 20).
 * A short grace period before publishing widens the margin. What no server can see: a client
 * pipeline that fails but still ends its input cleanly (tar dies, ssh carries on). For that the
 * client can say what it sends (`receive NAME --size N` or `--sha256 HEX`), or check the receipt.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EndFacts } from '../audit/record.js';
import { WriteLog } from '../audit/writes.js';
import type { ReceivePlan } from '../rules/plan.js';
import { freeBytes } from './free-space-watch.js';
import {
  Abort,
  checkDirectory,
  checkFlood,
  checkNameFree,
  fsyncDirectory,
  publish,
  removeStaleTemps,
  unlinkOurs,
} from './receive/checks.js';
import { streamInto } from './receive/stream.js';
import { pruneUploads } from './retention.js';

export { uploadDirectoryProblem } from './receive/checks.js';

const TEMP_PREFIX = '.receive-';
const TEMP_SUFFIX = '.part';
const RECEIPT_GRACE_MS = 50;

/** An upload's temp file, as far as this session got with it: what a failure must close and remove (ours only). */
interface Temp {
  path: string;
  fd: number | null;
  ino: number | null;
  /** What reached the file, for the end record of an upload that fails after it. */
  bytes: number;
}

/** What was received: its length and sha256. */
type Received = { bytes: number; sha256: string };

/** Refusals that need nothing read: a bad directory, a taken chosen name, too many uploads, too little space. */
function refuseBeforeReading(plan: ReceivePlan): void {
  const dir = plan.dir;
  checkDirectory(dir);
  removeStaleTemps(dir);
  if (plan.chosen) checkNameFree(dir, plan.name);
  checkFlood(plan, 0);
  const free = freeBytes(dir);
  if (free < plan.minFreeBytes) throw new Abort('no-space', `less than min-free (${plan.minFreeBytes} bytes) is free`);
  // A client that says how much it sends is refused at once if that would cross the floor.
  if (plan.expect.size !== null && free - plan.expect.size < plan.minFreeBytes)
    throw new Abort('no-space', `${plan.expect.size} bytes would leave less than min-free (${plan.minFreeBytes} bytes)`);
}

/** stdin into the temp file, created exclusively and never through a symlink, then fsync'd and closed. */
async function receiveIntoTemp(temp: Temp, plan: ReceivePlan): Promise<Received> {
  temp.fd = openSync(temp.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  temp.ino = fstatSync(temp.fd).ino;
  fchmodSync(temp.fd, plan.mode);
  const received = await streamInto(temp.fd, plan, plan.dir);
  temp.bytes = received.bytes;
  fsyncSync(temp.fd);
  closeSync(temp.fd);
  temp.fd = null;
  return received;
}

/** A client that said what it sends (--size, --sha256) is held to it. */
function checkAnnounced(plan: ReceivePlan, received: Received): void {
  if (plan.expect.size !== null && plan.expect.size !== received.bytes)
    throw new Abort('mismatch', `received ${received.bytes} bytes, not the ${plan.expect.size} announced`);
  if (plan.expect.sha256 !== null && plan.expect.sha256 !== received.sha256)
    throw new Abort('mismatch', 'the sha256 differs from the one announced');
}

/**
 * Publishes the upload under its final name and hands the client its receipt. The final name, or
 * the receipt's errno code when the client is gone (then the file is unpublished again: see step 5).
 */
function publishWithReceipt(plan: ReceivePlan, temp: string, ino: number, received: Received): { final: string } | { gone: string } {
  const dir = plan.dir;
  const final = publish(temp, ino, dir, plan.name, plan.chosen);
  const unpublish = () => {
    unlinkOurs(join(dir, final), ino);
    fsyncDirectory(dir);
  };
  // Counted again once published: of concurrent uploads, the one over the cap unpublishes itself.
  try {
    checkFlood(plan, 1);
  } catch (error) {
    unpublish();
    throw error;
  }
  try {
    writeSync(1, `${final} ${received.bytes} ${received.sha256}\n`);
  } catch (error) {
    unpublish();
    return { gone: String((error as NodeJS.ErrnoException).code) };
  }
  return { final };
}

/** A failed upload: our temp file gone, the client told why (if it still listens). */
function cleanUpAfter(error: unknown, temp: Temp): Abort {
  if (temp.fd !== null) closeSync(temp.fd);
  // Only the temp file this session created: the name may since hold another inode.
  if (temp.ino !== null) unlinkOurs(temp.path, temp.ino);
  const abort = error instanceof Abort ? error : new Abort('error', (error as Error).message, temp.bytes);
  try {
    process.stderr.write(`ssh-dispatch: upload not stored: ${abort.message}\n`);
  } catch {
    // The client may be gone.
  }
  return abort;
}

export async function receiveUpload(plan: ReceivePlan, rule: string, session: string): Promise<EndFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const dir = plan.dir;
  const temp: Temp = { path: join(dir, `${TEMP_PREFIX}${process.pid}-${session}${TEMP_SUFFIX}`), fd: null, ino: null, bytes: 0 };
  const writes = new WriteLog();
  try {
    refuseBeforeReading(plan);
    const received = await receiveIntoTemp(temp, plan);
    checkAnnounced(plan, received);
    await new Promise((r) => setTimeout(r, RECEIPT_GRACE_MS));

    const published = publishWithReceipt(plan, temp.path, temp.ino!, received);
    if ('gone' in published) {
      return {
        rule,
        exit: 1,
        signal: null,
        durationMs: elapsed(),
        outcome: 'aborted',
        bytes: temp.bytes,
        error: `the client went away before its receipt (${published.gone})`,
        writes: writes.facts(),
      };
    }
    const { final } = published;
    writes.add('created', final, received.bytes);
    const pruned = plan.keep === null ? [] : pruneUploads(dir, plan.keep, plan.retention, final);
    for (const name of pruned) writes.add('removed', name);
    return {
      rule,
      exit: 0,
      signal: null,
      durationMs: elapsed(),
      outcome: 'stored',
      file: final,
      bytes: received.bytes,
      sha256: received.sha256,
      pruned,
      writes: writes.facts(),
    };
  } catch (error) {
    const abort = cleanUpAfter(error, temp);
    return {
      rule,
      exit: 1,
      signal: null,
      durationMs: elapsed(),
      outcome: abort.outcome,
      bytes: Math.max(temp.bytes, abort.bytes),
      error: abort.message,
      writes: writes.facts(),
    };
  }
}
