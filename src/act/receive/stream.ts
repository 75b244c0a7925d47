/**
 * The data path of an upload: stdin into the temp file on a worker thread, hashed on this one,
 * with max-bytes, the free-space floor, the idle timeout and the signals kept as it goes.
 */
import type { ReceiveOutcomeName } from '../../audit/record.js';
import { crypto } from '../../lazy-builtins.js';
import type { ReceivePlan } from '../../rules/plan.js';
import { Abort } from './checks.js';

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
  const data = workerData as {
    fd: number;
    maxBytes: number;
    minFreeBytes: number;
    dir: string;
    spaceShare: number;
    spaceStepMin: number;
    spaceStepMax: number;
    ring: SharedArrayBuffer;
    control: SharedArrayBuffer;
    slots: number;
    slotBytes: number;
  };
  const control = new Int32Array(data.control); // [0]: slots hashed so far; [1]: progress clock
  const progress = new Float64Array(data.control, 8, 2); // [0]: bytes; [1]: last data, ms
  let bytes = 0;
  let filled = 0;
  let nextSpaceCheck = 0;
  const stop = (outcome: string, message: string) => parentPort!.postMessage({ outcome, message, bytes });
  for (let eof = false; !eof; filled++) {
    // Wait for the main thread to have hashed the slot about to be reused.
    for (let hashed = Atomics.load(control, 0); filled - hashed >= data.slots; hashed = Atomics.load(control, 0))
      Atomics.wait(control, 0, hashed, 100);
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
      return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG'
        ? stop('no-space', `the disk is full (${code})`)
        : stop('error', `write failed: ${code}`);
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
export function streamInto(fd: number, plan: ReceivePlan, dir: string): Promise<{ bytes: number; sha256: string }> {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const hash = crypto().createHash('sha256');
  const ring = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const control = new SharedArrayBuffer(24);
  const hashed = new Int32Array(control);
  const seen = new Float64Array(control, 8, 2);
  seen[1] = Date.now();
  const worker = new Worker(`(${receiverThread.toString()})()`, {
    eval: true,
    workerData: {
      fd,
      maxBytes: plan.maxBytes,
      minFreeBytes: plan.minFreeBytes,
      dir,
      spaceShare: SPACE_SHARE,
      spaceStepMin: SPACE_STEP_MIN,
      spaceStepMax: SPACE_STEP_MAX,
      ring,
      control,
      slots: SLOTS,
      slotBytes: SLOT_BYTES,
    },
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
    const watchdog = setInterval(
      () => {
        if (Date.now() - seen[1]! > plan.idleTimeoutMs)
          settle(new Abort('idle-timeout', `no data for ${plan.idleTimeoutMs / 1000} s`, seen[0]));
      },
      Math.min(1000, plan.idleTimeoutMs),
    );
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
