/**
 * The lock that keeps a second process off an embedded data directory (src/db/data-dir-lock.ts):
 * a live holder keeps it, a dead one does not, a reused PID is told from its holder, and of
 * several processes taking over one stale lock at once exactly one gets it. Real processes,
 * started together and let go at one signal.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/db/data-dir-lock.js';
import { REPO_ROOT } from '../repo.js';

const MODULE = join(REPO_ROOT, 'src/db/data-dir-lock.ts');
const CONTENDERS = 6;

/** The PID of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('data directory lock', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-lock-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a live holder keeps it (this very process too); released, it is free again and leaves nothing behind', () => {
    const dir = newDir();
    const release = lockDataDir(dir);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
    assert.throws(() => lockDataDir(dir), (err) => err instanceof DataDirLockedError && err.holder.pid === process.pid && err.message.includes(dir));
    release();
    assert.deepEqual(readdirSync(dir), []);
    lockDataDir(dir)();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a lock whose process is gone, or whose PID now belongs to another process, is taken over', async () => {
    const dead = newDir();
    writeFileSync(join(dead, LOCK_FILE), JSON.stringify({ pid: await deadPid(), started: '1', host: hostname() }));
    lockDataDir(dead)();
    assert.ok(!existsSync(join(dead, LOCK_FILE)));

    // This process's PID with another start time: the holder died and its PID was given again.
    const reused = newDir();
    writeFileSync(join(reused, LOCK_FILE), JSON.stringify({ pid: process.pid, started: '1', host: hostname() }));
    const release = lockDataDir(reused);
    assert.notEqual(JSON.parse(readFileSync(join(reused, LOCK_FILE), 'utf8')).started, '1');
    release();
    // A file no licensepool wrote (garbage) holds nothing either.
    writeFileSync(join(reused, LOCK_FILE), 'not json');
    lockDataDir(reused)();
  });

  test('another machine\'s lock (a shared disk) cannot be checked, so it holds', () => {
    const dir = newDir();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, started: '1', host: `not-${hostname()}` }));
    assert.throws(() => lockDataDir(dir), (err) => err instanceof DataDirLockedError && err.message.includes(`process 1 on not-${hostname()}`) && err.message.includes(`remove ${join(dir, LOCK_FILE)}`));
  });

  test(`${CONTENDERS} processes taking over one stale lock at once: exactly one gets it, the others name it`, async () => {
    const dir = newDir();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), started: '1', host: hostname() }));
    // Each loads the module, says "ready", waits for "go", tries, says what came of it and holds until its input ends.
    const script = `
      import { lockDataDir } from ${JSON.stringify(MODULE)};
      import { createInterface } from 'node:readline';
      const lines = createInterface({ input: process.stdin });
      console.log('ready');
      for await (const line of lines) {
        if (line !== 'go') continue;
        try { lockDataDir(${JSON.stringify(dir)}); console.log('won ' + process.pid); }
        catch (err) { console.log(err.code === 'DATA_DIR_LOCKED' ? 'refused ' + err.holder.pid : 'error ' + err.message); }
      }`;
    const children: ChildProcessWithoutNullStreams[] = [];
    const answers: Promise<string>[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
      children.push(child);
      let out = '';
      child.stdout.setEncoding('utf8');
      ready.push(new Promise((resolve) => child.stdout.on('data', (d: string) => (out += d).includes('ready') && resolve())));
      answers.push(new Promise((resolve) => child.stdout.on('data', () => /\n(won|refused|error) .*\n/.test(out) && resolve(out.split('\n')[1]!))));
    }
    try {
      await Promise.all(ready);
      for (const child of children) child.stdin.write('go\n');
      const results = await Promise.all(answers);
      const winners = results.filter((r) => r.startsWith('won '));
      assert.equal(winners.length, 1, results.join(', '));
      const winner = winners[0]!.slice(4);
      assert.deepEqual(results.filter((r) => !r.startsWith('won ')), Array(CONTENDERS - 1).fill(`refused ${winner}`));
      assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, Number(winner));
      assert.deepEqual(readdirSync(dir), [LOCK_FILE], 'no takeover guard or temporary file left');
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode === null ? c.on('exit', resolve) : resolve(null)))));
    }
    assert.deepEqual(readdirSync(dir), [], 'the winner gave it back at exit');
  });
});
