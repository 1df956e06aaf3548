/**
 * One writer per embedded-database directory. PGlite has no lock of its own: two processes on
 * one directory each keep their own view of it in memory, and what one writes the other never
 * sees and later overwrites (issue 13). Every PGlite opening on a directory takes this lock
 * first; a second server or command is refused with the holder's PID.
 *
 * The lock is a file in the directory naming its holder (PID, the process's start time, host).
 * It is created whole and exclusively (a temporary file hard-linked into place: `link` fails when
 * the name exists, and nobody ever reads half a file), removed on close and at exit. A lock
 * whose process is gone — `kill -9`, a power cut — is stale and taken over; the start time tells
 * a reused PID from the holder. Taking over happens under a second exclusive file, the takeover
 * guard, so two starters never both remove a stale lock and both go on (one of them would be
 * removing the other's fresh lock). Only a process killed within the microseconds it holds the
 * guard leaves one behind; the guard is then stale the same way and is removed by the next start.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'licensepool.lock';
const GUARD_FILE = 'licensepool.lock.takeover';

interface Holder {
  pid: number;
  /** The process's start time as the system counts it (Linux: /proc/PID/stat), or null where unknown. */
  started: string | null;
  host: string;
}

/** Another live process holds the directory. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dataDir: string,
    readonly holder: Holder,
  ) {
    super(
      holder.host === hostname()
        ? `the data directory ${dataDir} is in use by process ${holder.pid} (a running licensepool server or command); ` +
            'stop it first, or send commands to the running server with --url'
        : // A container recreated under a new host name looks the same: only a person can tell.
          `the data directory ${dataDir} is in use by process ${holder.pid} on ${holder.host}, which this machine cannot check; ` +
            `stop it first, or, if it is gone, remove ${join(dataDir, LOCK_FILE)}`,
    );
  }
}

/** Start time of a live process (field 22 of /proc/PID/stat), null where /proc is absent; undefined when it is not running. */
function startTimeOf(pid: number): string | null | undefined {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, another user's.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(holder: Holder): boolean {
  // Another machine's process (a directory on a shared disk) cannot be checked: it stays held.
  if (holder.host !== hostname()) return true;
  const started = startTimeOf(holder.pid);
  if (started === undefined) return false;
  // The PID was given to a new process since the holder died.
  return started === null || holder.started === null || started === holder.started;
}

function readHolder(path: string): Holder | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Holder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    // Not written by this code (files are created whole): nobody's lock.
    return null;
  }
}

/** Creates `path` holding `content`, or answers false when it exists. */
function createExclusive(dir: string, path: string, content: string): boolean {
  const temporary = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
  writeFileSync(temporary, content, { flag: 'wx' });
  try {
    linkSync(temporary, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temporary);
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Locks this process holds, given back at exit if not before (a command ending on an error). */
const held = new Set<() => void>();
process.once('exit', () => {
  for (const release of held) release();
});

const sameHolder = (a: Holder | null | undefined, b: Holder | null | undefined) =>
  a === b || (!!a && !!b && a.pid === b.pid && a.started === b.started && a.host === b.host);

/**
 * Takes the lock on `dataDir` (which exists) for this process; throws DataDirLockedError while a
 * live process holds it. Resolves with the function that gives it back.
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  const lockPath = join(dir, LOCK_FILE);
  const guardPath = join(dir, GUARD_FILE);
  const me: Holder = { pid: process.pid, started: startTimeOf(process.pid) ?? null, host: hostname() };
  const content = `${JSON.stringify(me)}\n`;

  // A few rounds: each lost one means another process acted meanwhile, and the next round sees what it did.
  for (let round = 0; round < 5; round++) {
    if (createExclusive(dir, lockPath, content)) {
      const release = () => {
        if (!held.delete(release)) return;
        // Only our own file: never one a takeover put there (it cannot, while we live, but be sure).
        if (sameHolder(readHolder(lockPath), me)) removeIfPresent(lockPath);
      };
      held.add(release);
      return release;
    }
    const holder = readHolder(lockPath);
    if (holder === undefined) continue; // released meanwhile
    if (holder && isAlive(holder)) throw new DataDirLockedError(dir, holder);
    // Stale: remove it under the guard, having seen it is still the same stale file.
    if (!createExclusive(dir, guardPath, content)) {
      const guard = readHolder(guardPath);
      if (guard && isAlive(guard)) throw new DataDirLockedError(dir, guard);
      // A dead guard's: removed only if it is still that one (another starter may have removed
      // it and put its own live guard there since it was read).
      if (guard !== undefined && sameHolder(readHolder(guardPath), guard)) removeIfPresent(guardPath);
      continue;
    }
    try {
      if (sameHolder(readHolder(lockPath), holder)) removeIfPresent(lockPath);
    } finally {
      removeIfPresent(guardPath);
    }
  }
  const holder = readHolder(lockPath);
  if (holder) throw new DataDirLockedError(dir, holder);
  throw new Error(`could not take the lock on the data directory ${dir}`);
}
