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
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EndFacts, ReceiveOutcomeName } from '../audit/record.js';
import type { ReceivePlan } from '../rules/plan.js';
import { uniqueName } from '../rules/receive/match.js';
import { crypto } from '../lazy-builtins.js';
import { freeBytes } from './free-space-watch.js';
import { WriteLog } from '../audit/writes.js';
import { formatDuration } from '../rules/receive/retention.js';
import { pruneUploads, ruleFiles, storedWithin } from './retention.js';
import { runningUid, untrustedWriter } from '../trust.js';

const TEMP_PREFIX = '.receive-';
const TEMP_SUFFIX = '.part';
const RECEIPT_GRACE_MS = 50;
/**
 * Free space is looked at again after 1/SPACE_SHARE of the headroom left above min-free has been
 * written (between SPACE_STEP_MIN and SPACE_STEP_MAX). Far from the floor that is rare; near it,
 * every few hundred KiB. Concurrent uploads each see what all have written, so up to
 * SPACE_SHARE of them can run at once before the floor can be undershot at all, and then only
 * by SPACE_STEP_MIN each.
 */
const SPACE_SHARE = 32;
const SPACE_STEP_MIN = 256 * 1024;
const SPACE_STEP_MAX = 64 * 1024 * 1024;
const STALE_TEMP_MS = 24 * 3600 * 1000;

class Abort extends Error {
  constructor(
    readonly outcome: ReceiveOutcomeName,
    message: string,
    /** How much had arrived when it stopped. */
    readonly bytes = 0,
  ) {
    super(message);
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Why uploads must not go into `dir`, or null. Whoever else can write the directory (its owner,
 * if not root or this account; its group; others) can plant a symlink or a name the upload is
 * then taken for, so the directory must be as trusted as the policy (trust.ts).
 */
export function uploadDirectoryProblem(dir: string, uid = runningUid()): string | null {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    return `the upload directory ${dir} is missing (${(error as NodeJS.ErrnoException).code})`;
  }
  if (!stats.isDirectory()) return `the upload directory ${dir} is not a directory (or is a symlink)`;
  const why = untrustedWriter(stats, uid);
  return why ? `the upload directory ${dir} is ${why}` : null;
}

function checkDirectory(dir: string): void {
  const problem = uploadDirectoryProblem(dir);
  if (problem) throw new Abort('error', problem);
}

/** A name the client chose must be free: it is refused, never suffixed (a suffix is the template's alone). */
function checkNameFree(dir: string, name: string): void {
  try {
    lstatSync(join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  throw new Abort('name-taken', `${name} is taken (a chosen name is never replaced nor suffixed; choose another)`);
}

/** Refuses an upload past max-uploads within the window; `plus` counts one already published. */
function checkFlood(plan: ReceivePlan, plus: number): void {
  const { maxUploads, windowMs } = plan.retention;
  if (maxUploads === null) return;
  const within = storedWithin(ruleFiles(plan.dir, plan.retention), windowMs, Date.now());
  if (within - plus >= maxUploads) {
    throw new Abort('flood', `${within - plus} uploads of this rule are younger than keep-within (${formatDuration(windowMs)}), max-uploads is ${maxUploads}: refused until one ages out or is removed`);
  }
}

/** Our own file of inode `ino` under `path`: removed only if the name still holds that inode. */
function unlinkOurs(path: string, ino: number | bigint): boolean {
  try {
    if (lstatSync(path).ino !== ino) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Temp files of receivers that are gone (killed with SIGKILL, machine crash). */
function removeStaleTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = /^\.receive-([0-9]+)-[0-9a-f]+\.part$/.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    try {
      let alive = true;
      try {
        process.kill(Number(match[1]), 0);
      } catch (error) {
        alive = (error as NodeJS.ErrnoException).code !== 'ESRCH';
      }
      if (!alive || Date.now() - lstatSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** The ring between the reading thread and the hashing one: 16 slots of 1 MiB. */
const SLOTS = 16;
const SLOT_BYTES = 1024 * 1024;

/**
 * The data path, run on a worker thread: a tight synchronous loop that fills a 1 MiB slot of a
 * shared ring from fd 0, writes it to the temp file, and hands the slot to the main thread,
 * which hashes it while the next one is read (SHA-256 would otherwise cost half a second per
 * GiB on top of the I/O). Measured from a pipe, this moves a GiB in about half the time of an
 * event-driven stream in Node (BENCHMARKS.md). It is sent to the worker as source text, so it
 * must stay self-contained: only globals, require() of Node built-ins, values from workerData.
 */
function receiverThread(): void {
  const { workerData, parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  const data = workerData as { fd: number; maxBytes: number; minFreeBytes: number; dir: string; spaceShare: number; spaceStepMin: number; spaceStepMax: number; ring: SharedArrayBuffer; control: SharedArrayBuffer; slots: number; slotBytes: number };
  const control = new Int32Array(data.control); // [0]: slots hashed so far; [1]: progress clock
  const progress = new Float64Array(data.control, 8, 2); // [0]: bytes; [1]: last data, ms
  let bytes = 0;
  let filled = 0;
  let nextSpaceCheck = 0;
  const stop = (outcome: string, message: string) => parentPort!.postMessage({ outcome, message, bytes });
  for (let eof = false; !eof; filled++) {
    // Wait for the main thread to have hashed the slot about to be reused.
    for (let hashed = Atomics.load(control, 0); filled - hashed >= data.slots; hashed = Atomics.load(control, 0)) Atomics.wait(control, 0, hashed, 100);
    const slot = filled % data.slots;
    const view = Buffer.from(data.ring, slot * data.slotBytes, data.slotBytes);
    let length = 0;
    while (length < view.length) {
      let n: number;
      try {
        n = fs.readSync(0, view, length, view.length - length, null);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A descriptor left non-blocking by whoever started us: wait for data rather than fail.
        if (code === 'EAGAIN') {
          Atomics.wait(control, 1, 0, 2);
          continue;
        }
        return stop('aborted', `input failed: ${code}`);
      }
      if (n === 0) {
        eof = true;
        break;
      }
      length += n;
      bytes += n;
      progress[0] = bytes;
      progress[1] = Date.now();
      if (bytes > data.maxBytes) return stop('too-large', `larger than max-bytes (${data.maxBytes} bytes)`);
    }
    if (length === 0) break;
    try {
      for (let offset = 0; offset < length; ) offset += fs.writeSync(data.fd, view, offset, length - offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EFBIG: a file-size limit (RLIMIT_FSIZE, a quota-like setting) refused more data.
      return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' ? stop('no-space', `the disk is full (${code})`) : stop('error', `write failed: ${code}`);
    }
    parentPort!.postMessage({ slot, length });
    if (bytes >= nextSpaceCheck) {
      const fsStats = fs.statfsSync(data.dir);
      const headroom = fsStats.bavail * fsStats.bsize - data.minFreeBytes;
      if (headroom < 0) return stop('no-space', `less than min-free (${data.minFreeBytes} bytes) would stay free`);
      nextSpaceCheck = bytes + Math.min(data.spaceStepMax, Math.max(data.spaceStepMin, Math.floor(headroom / data.spaceShare)));
    }
  }
  parentPort!.postMessage({ outcome: 'done', bytes });
}

/**
 * Streams stdin into `fd` through the receiver thread, hashing here; resolves with the byte
 * count and sha256 at a clean end of input. This thread also keeps the idle timeout and the
 * signals: on either it gives up on the worker (which may be blocked reading), and the process
 * exits after cleaning up.
 */
function streamInto(fd: number, plan: ReceivePlan, dir: string): Promise<{ bytes: number; sha256: string }> {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const hash = crypto().createHash('sha256');
  const ring = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const control = new SharedArrayBuffer(24);
  const hashed = new Int32Array(control);
  const seen = new Float64Array(control, 8, 2);
  seen[1] = Date.now();
  const worker = new Worker(`(${receiverThread.toString()})()`, {
    eval: true,
    workerData: { fd, maxBytes: plan.maxBytes, minFreeBytes: plan.minFreeBytes, dir, spaceShare: SPACE_SHARE, spaceStepMin: SPACE_STEP_MIN, spaceStepMax: SPACE_STEP_MAX, ring, control, slots: SLOTS, slotBytes: SLOT_BYTES },
    stdin: false,
    stdout: false,
    stderr: false,
  });
  return new Promise((resolve, reject) => {
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
    let settled = false;
    const settle = (error: Abort | null, result?: { bytes: number; sha256: string }) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      for (const signal of signals) process.off(signal, onSignal);
      if (error) reject(error);
      else resolve(result!);
    };
    const onSignal = (signal: NodeJS.Signals) => settle(new Abort('aborted', `ended by ${signal}`, seen[0]));
    for (const signal of signals) process.on(signal, onSignal);
    const watchdog = setInterval(() => {
      if (Date.now() - seen[1]! > plan.idleTimeoutMs) settle(new Abort('idle-timeout', `no data for ${plan.idleTimeoutMs / 1000} s`, seen[0]));
    }, Math.min(1000, plan.idleTimeoutMs));
    worker.on('message', (message: { slot?: number; length?: number; outcome?: string; message?: string; bytes?: number }) => {
      if (message.slot !== undefined) {
        hash.update(Buffer.from(ring, message.slot * SLOT_BYTES, message.length));
        Atomics.add(hashed, 0, 1);
        Atomics.notify(hashed, 0);
      } else if (message.outcome === 'done') {
        settle(null, { bytes: message.bytes!, sha256: hash.digest('hex') });
      } else {
        settle(new Abort(message.outcome as ReceiveOutcomeName, message.message ?? String(message.outcome), message.bytes));
      }
    });
    worker.once('error', (error) => settle(new Abort('error', `receiver thread failed: ${error.message}`, seen[0])));
    worker.once('exit', (code) => settle(new Abort('error', `receiver thread ended (${code})`, seen[0])));
  });
}

export async function receiveUpload(plan: ReceivePlan, rule: string, session: string): Promise<EndFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const dir = plan.dir;
  const temp = join(dir, `${TEMP_PREFIX}${process.pid}-${session}${TEMP_SUFFIX}`);
  let fd: number | null = null;
  let ino: number | null = null;
  let bytes = 0;
  const writes = new WriteLog();
  try {
    checkDirectory(dir);
    removeStaleTemps(dir);
    if (plan.chosen) checkNameFree(dir, plan.name);
    checkFlood(plan, 0);
    const free = freeBytes(dir);
    if (free < plan.minFreeBytes) throw new Abort('no-space', `less than min-free (${plan.minFreeBytes} bytes) is free`);
    // A client that says how much it sends is refused at once if that would cross the floor.
    if (plan.expect.size !== null && free - plan.expect.size < plan.minFreeBytes) throw new Abort('no-space', `${plan.expect.size} bytes would leave less than min-free (${plan.minFreeBytes} bytes)`);
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    ino = fstatSync(fd).ino;
    fchmodSync(fd, plan.mode);
    const received = await streamInto(fd, plan, dir);
    bytes = received.bytes;
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (plan.expect.size !== null && plan.expect.size !== received.bytes) throw new Abort('mismatch', `received ${received.bytes} bytes, not the ${plan.expect.size} announced`);
    if (plan.expect.sha256 !== null && plan.expect.sha256 !== received.sha256) throw new Abort('mismatch', 'the sha256 differs from the one announced');
    await new Promise((r) => setTimeout(r, RECEIPT_GRACE_MS));

    const final = publish(temp, ino!, dir, plan.name, plan.chosen);
    const unpublish = () => {
      unlinkOurs(join(dir, final), ino!);
      fsyncDirectory(dir);
    };
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
      return { rule, exit: 1, signal: null, durationMs: elapsed(), outcome: 'aborted', bytes, error: `the client went away before its receipt (${(error as NodeJS.ErrnoException).code})`, writes: writes.facts() };
    }
    writes.add('created', final, received.bytes);
    const pruned = plan.keep === null ? [] : pruneUploads(dir, plan.keep, plan.retention, final);
    for (const name of pruned) writes.add('removed', name);
    return { rule, exit: 0, signal: null, durationMs: elapsed(), outcome: 'stored', file: final, bytes: received.bytes, sha256: received.sha256, pruned, writes: writes.facts() };
  } catch (error) {
    if (fd !== null) closeSync(fd);
    // Only the temp file this session created: the name may since hold another inode.
    if (ino !== null) unlinkOurs(temp, ino);
    const abort = error instanceof Abort ? error : new Abort('error', (error as Error).message, bytes);
    try {
      process.stderr.write(`ssh-dispatch: upload not stored: ${abort.message}\n`);
    } catch {
      // The client may be gone.
    }
    return { rule, exit: 1, signal: null, durationMs: elapsed(), outcome: abort.outcome, bytes: Math.max(bytes, abort.bytes), error: abort.message, writes: writes.facts() };
  }
}

/**
 * Links the temp file to the first free name (never replacing one), removes the temp name. A
 * chosen name has no second candidate: taken is refused. Only the inode this session wrote is
 * published: a temp name that holds another one by now is not ours to give a name.
 */
function publish(temp: string, ino: number, dir: string, name: string, chosen: boolean): string {
  if (lstatSync(temp).ino !== ino) throw new Abort('error', `${temp} is no longer the file this upload wrote`);
  for (let n = 0; n < 10_000; n++) {
    const candidate = uniqueName(name, n);
    try {
      linkSync(temp, join(dir, candidate));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && chosen) throw new Abort('name-taken', `${name} was taken while it arrived (a chosen name is never replaced nor suffixed)`);
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Abort('error', `cannot publish ${candidate}: ${(error as NodeJS.ErrnoException).code}`);
    }
    unlinkSync(temp);
    fsyncDirectory(dir);
    return candidate;
  }
  throw new Abort('error', `no free name for ${name}`);
}
