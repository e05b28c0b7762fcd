import assert from 'node:assert/strict';
import {
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { startServer } from '../helpers/serve-process.ts';

/**
 * Faults while serving, on a real `ctr-serve serve --workers=2` process and the bundled student, under steady
 * traffic from a few client loops. Asserts counts, never timings: a SIGKILLed worker is replaced and only the
 * requests in flight on it fail (at most one per client loop), and its replacement takes no request before its
 * model serves, even when the newest version on disk cannot load; a corrupt new version ends in END and a good
 * one takes over with no failed request; a served version's directory deleted, and model files made unreadable,
 * fail no request; SIGTERM during a burst answers every request and the process exits 0. Every wait is bounded
 * (WAIT_MS), and the test's own timeout stops the client loops and the server.
 */
const STUDENT = join(REPO_ROOT, 'models/ctr-student/1');
const CLIENTS = 3;
const WAIT_MS = 20_000;
// Each client loop pauses between requests: steady traffic, not a CPU hog that starves the loads under test.
const THINK_MS = 100;
const history = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const body = JSON.stringify({ requests: [{ history, candidates: [3, 17, 42] }] });

type Tally = { ok: number; http5xx: string[]; other: Map<number, number>; network: string[] };
const answeredCount = (t: Tally) => t.ok + t.network.length + t.http5xx.length;

/** Client loops posting CTR requests until stop(); each keeps at most one request in flight. */
function traffic(url: string) {
  const tally: Tally = { ok: 0, http5xx: [], other: new Map(), network: [] };
  let stopped = false;
  const halted = new AbortController();
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${url}/v1/ctr:predict`, {
          method: 'POST',
          body,
          signal: AbortSignal.any([halted.signal, AbortSignal.timeout(WAIT_MS)]),
        });
        const text = await res.text();
        if (res.status === 200) tally.ok++;
        else if (res.status >= 500) tally.http5xx.push(`${res.status} ${text}`);
        else tally.other.set(res.status, (tally.other.get(res.status) ?? 0) + 1);
      } catch (err) {
        tally.network.push(String((err as Error & { cause?: unknown }).cause ?? err));
      }
      await pause(THINK_MS);
    }
  });
  return {
    tally,
    /** Resolves once `n` more requests have been answered (or failed). */
    async answered(n: number) {
      const target = answeredCount(tally) + n;
      const deadline = Date.now() + WAIT_MS;
      while (answeredCount(tally) < target) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} requests answered in ${WAIT_MS} ms`);
        await pause(20);
      }
    },
    /** Ends the loops without waiting for them (a failed assertion must not leave them running). */
    halt() {
      stopped = true;
      halted.abort();
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return tally;
    },
  };
}

let onWait: (what: string) => void = () => {};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The cluster workers of `primary`: its live children running its command line (not tsx's esbuild). */
async function workersOf(primary: number): Promise<number[]> {
  const cmdline = await readFile(`/proc/${primary}/cmdline`, 'utf8');
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // An exited child not yet reaped (state Z) is no worker.
      if (Number(ppid) !== primary || state === 'Z') continue;
      if ((await readFile(`/proc/${entry}/cmdline`, 'utf8')) === cmdline) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/**
 * Polls `check` until it holds `times` in a row (on fresh connections, which node:cluster hands to the listening
 * workers in turn, so that every worker is asked); throws
 * after WAIT_MS, so a step that never happens fails the test instead of hanging it.
 */
async function until(what: string, check: () => boolean | Promise<boolean>, times = 4): Promise<void> {
  onWait(what);
  const deadline = Date.now() + WAIT_MS;
  for (let inARow = 0; inARow < times;) {
    if (Date.now() > deadline) throw new Error(`gave up after ${WAIT_MS} ms waiting for ${what}`);
    inARow = (await check()) ? inARow + 1 : 0;
    if (inARow < times) await pause(100);
  }
}

/** Processes among `pids` that hold the socket listening on `port` (from /proc/net/tcp and their fds). */
async function listenersOn(port: number, pids: number[]): Promise<number[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = (await readFile('/proc/net/tcp', 'utf8'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') // 0A: LISTEN
    .map((f) => `socket:[${f[9]}]`);
  const holders: number[] = [];
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    if (links.some((l) => inodes.includes(l))) holders.push(pid);
  }
  return holders;
}

const get = async (url: string) => {
  const res = await fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(WAIT_MS) });
  return { status: res.status, body: (await res.json()) as any };
};

/** The pino lines a worker logged (level error and up at --log_level=warn). */
const logLines = (output: string, pid: number): Array<{ msg?: string; version?: number }> =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(`"pid":${pid},`))
    .map((line) => JSON.parse(line));

// The suite boots three workers (two, then a replacement) within its 60 s budget: ~3 CPU-s each. On a machine
// whose load average is many times its core count that alone can exceed the budget (on 2 cores at load 21–30 it
// did, every time), so there it is skipped with the reason unless CTR_FAULT_SUITE=1 forces it.
const MAX_LOAD_PER_CORE = 6;
const loadPerCore = loadavg()[0]! / cpus().length;
const skip =
  process.env.CTR_FAULT_SUITE !== '1' && loadPerCore > MAX_LOAD_PER_CORE
    ? `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores: three worker boots would not fit the ` +
      '60 s budget (CTR_FAULT_SUITE=1 runs it anyway)'
    : false;

test(
  'faults while serving with two workers lose no request that was not in flight',
  { timeout: 60_000, skip },
  async (t) => {
    const base = await mkdtemp(join(tmpdir(), 'ctr-faults-'));
    const repo = join(base, 'ctr-student');
    await cp(STUDENT, join(repo, '1'), { recursive: true });
    const configFile = join(base, 'models.json');
    await writeFile(
      configFile,
      JSON.stringify({ model_config_list: [{ name: 'ctr-student', base_path: repo }] }),
    );
    const server = startServer([
      '--rest_api_port=0',
      '--port=0',
      '--rest_api_host=127.0.0.1',
      '--workers=2',
      `--model_config_file=${configFile}`,
      '--file_system_poll_wait_seconds=0.2',
      // Admission control off: on a machine at load 20 a CPU-starved worker times a model call at ~100 ms and
      // rightly sheds the next of these few requests (503 CTR_ERR_QUEUE_FULL); overload is tested elsewhere
      // (test/http/overload.test.ts), this test counts what faults cost.
      '--max_queue_delay_ms=0',
      '--log_level=warn',
    ]);
    let load: ReturnType<typeof traffic> | undefined;
    // Where the test got to, for its diagnostics (a failure or a timeout says which wait it was in).
    const t0 = Date.now();
    const marks: string[] = [];
    const mark = (what: string) => marks.push(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    // On the test's timeout the body below is abandoned, not unwound: stop what it started here.
    let finished = false;
    t.signal.addEventListener('abort', () => {
      if (finished) return;
      load?.halt();
      server.child.kill('SIGKILL');
      console.error(`aborted; steps reached:\n${marks.join('\n')}\n${server.output()}`);
    });
    // Versions are built beside the repo and renamed in, so the poll never sees half a directory.
    const stage = (v: number) => join(base, `staged-${v}`);
    onWait = mark;
    try {
      const url = await server.url;
      const pid = server.child.pid!;
      const versionOf = async () =>
        (await get(`${url}/v1/models/ctr-student/metadata`)).body.model_spec.version;
      const stateOf = async (v: number) => {
        const r = await get(`${url}/v1/models/ctr-student/versions/${v}`);
        return r.status === 200 ? r.body.model_version_status[0].state : `HTTP ${r.status}`;
      };

      // 1. A worker SIGKILLed under load is replaced; only its in-flight requests fail. Before the replacement
      //    starts, a corrupt version 2 appears: the replacement finds it the newest version on disk, fails to
      //    load it and has nothing to serve, so it must not listen (the other worker serves version 1) until a
      //    good version 3 appears.
      load = traffic(url);
      await load.answered(40);
      await mkdir(stage(2));
      await writeFile(join(stage(2), 'frozen_graph.pb'), Buffer.from('not a graph at all'));
      const before = await workersOf(pid);
      assert.equal(before.length, 2, `workers: ${before.join(', ')}`);
      // Each worker accepts from the listening socket itself (cluster-primary.ts, SCHED_NONE): the primary
      // hands over no connections, so none waits for a busy worker's turn (issue 9, bench/README.md).
      assert.deepEqual(await listenersOn(Number(new URL(url).port), before), before);
      process.kill(before[0]!, 'SIGKILL');
      await rename(stage(2), join(repo, '2'));
      let replacement = 0;
      await until(
        'the killed worker to be replaced',
        async () => {
          const now = await workersOf(pid);
          replacement = now.find((w) => !before.includes(w)) ?? 0;
          return now.length === before.length && replacement !== 0;
        },
        1,
      );
      await until(
        'the replacement to fail loading version 2',
        () =>
          logLines(server.output(), replacement).some(
            (l) => l.msg === 'version failed to load' && l.version === 2,
          ),
        1,
      );
      // Only the surviving worker listens, so one answer speaks for the cluster.
      await until('version 2 to end', async () => (await stateOf(2)) === 'END', 1);
      await load.answered(20);
      assert.deepEqual(load.tally.http5xx, []);
      assert.ok(!server.output().includes(`worker ${replacement} listening`), 'the replacement listens');
      await cp(STUDENT, stage(3), { recursive: true });
      await rename(stage(3), join(repo, '3'));
      await until(
        'the replacement to listen',
        () => server.output().includes(`worker ${replacement} listening (replaces ${before[0]})`),
        1,
      );
      await until('version 3 to serve', async () => (await versionOf()) === '3');
      await load.answered(20);
      let tally = await load.stop();
      assert.deepEqual(tally.http5xx, []);
      assert.ok(
        tally.network.length <= CLIENTS,
        `${tally.network.length} requests failed (${tally.network.join('; ')}); ${CLIENTS} at most were in flight`,
      );
      assert.deepEqual([...tally.other], []);
      assert.ok(tally.ok >= 60 - CLIENTS);
      assert.match(server.output(), new RegExp(`worker ${before[0]} exited \\(SIGKILL\\)`));

      // 2. The served version's directory is deleted (and the corrupt one): version 1 serves again.
      load = traffic(url);
      await rm(join(repo, '3'), { recursive: true });
      await rm(join(repo, '2'), { recursive: true });
      await until('version 1 to serve again', async () => (await versionOf()) === '1');
      await load.answered(20);

      // 3. Model files made unreadable: the loaded version keeps serving; a new version that cannot be read ends
      //    in END. Root ignores permission bits, so as root the file is replaced by a directory (EISDIR) instead.
      await chmod(join(repo, '1', 'frozen_graph.pb'), 0);
      await cp(STUDENT, stage(4), { recursive: true });
      if (process.getuid?.() === 0) {
        await rm(join(stage(4), 'frozen_graph.pb'));
        await mkdir(join(stage(4), 'frozen_graph.pb'));
      } else {
        await chmod(join(stage(4), 'frozen_graph.pb'), 0);
      }
      await rename(stage(4), join(repo, '4'));
      await until('version 4 to end', async () => (await stateOf(4)) === 'END');
      assert.equal(await versionOf(), '1');
      await load.answered(20);
      tally = await load.stop();
      assert.deepEqual(tally.http5xx, []);
      assert.deepEqual(tally.network, []);
      assert.deepEqual([...tally.other], []);

      // 4. SIGTERM during a burst: every request is answered (200, or 503 once the server stops taking new
      //    ones), and the process exits 0.
      const burst = Array.from({ length: 60 }, () =>
        fetch(`${url}/v1/ctr:predict`, { method: 'POST', body, signal: AbortSignal.timeout(WAIT_MS) }).then(
          async (r) => ({ status: r.status, code: r.headers.get('ctr-error-code'), text: await r.text() }),
          (err: Error & { cause?: { code?: string } }) => ({
            status: 0,
            code: err.cause?.code ?? null,
            text: err.message,
          }),
        ),
      );
      await pause(0);
      server.child.kill('SIGTERM');
      const answers = await Promise.all(burst);
      const unanswered = answers.filter((a) => a.status === 0);
      assert.deepEqual(unanswered, []);
      for (const a of answers) {
        assert.ok(a.status === 200 || (a.status === 503 && a.code === 'CTR_ERR_SHUTTING_DOWN'), a.text);
      }
      assert.ok(answers.some((a) => a.status === 200));
      assert.equal(await server.exited, 0, server.output());
      mark('done');
    } finally {
      finished = true;
      t.diagnostic(marks.join('; '));
      load?.halt();
      server.child.kill('SIGKILL');
      await chmod(join(repo, '1', 'frozen_graph.pb'), 0o644).catch(() => {});
      await rm(base, { recursive: true, force: true });
    }
  },
);
