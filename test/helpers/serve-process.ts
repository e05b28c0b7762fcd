import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.ts';

/**
 * Starts `ctr-serve serve` as a real process (cluster mode, signals and ports need one); `url` resolves once it
 * says it listens and rejects if it exits first. The caller stops it (`child.kill`) and awaits `exited`.
 */
export function startServer(args: string[]) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/ctr-serve.js'), 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      // Up to the word or line end after the URL, so a chunk that cuts the URL short does not match.
      const m = /listening on (http:\/\/\S+)(?: with|\n)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) =>
      reject(new Error(`server exited ${code} before listening: ${stdout}${stderr}`)),
    );
  });
  return { child, url, exited, output: () => stdout + stderr };
}
