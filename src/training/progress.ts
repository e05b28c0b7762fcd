/**
 * A one-line progress bar with rate and ETA for long steps, written to stderr (stdout stays clean for results).
 * Redraws in place on a TTY, at most every 200 ms; on a pipe it prints a line per 10% instead.
 */
export class Progress {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #label: string;
  readonly #total: number;
  readonly #startMs = Date.now();
  #lastDrawMs = 0;
  #lastDecile = -1;

  constructor(out: NodeJS.WritableStream, label: string, total: number) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
  }

  update(done: number, note = ''): void {
    const now = Date.now();
    const frac = this.#total > 0 ? done / this.#total : 1;
    const elapsedS = (now - this.#startMs) / 1000;
    const etaS = done > 0 ? (elapsedS * (this.#total - done)) / done : 0;
    const line = `${this.#label.padEnd(22)} ${bar(frac)} ${String(Math.round(frac * 100)).padStart(3)}% ${done}/${this.#total} ${fmt(elapsedS)} eta ${fmt(etaS)} ${note}`;
    if (this.#out.isTTY) {
      if (now - this.#lastDrawMs < 200 && done < this.#total) return;
      this.#lastDrawMs = now;
      this.#out.write(`\r${line}\x1b[K`);
      if (done >= this.#total) this.#out.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.#lastDecile) return;
      this.#lastDecile = decile;
      this.#out.write(`${line}\n`);
    }
  }
}

function bar(frac: number): string {
  const n = Math.round(Math.min(1, frac) * 20);
  return `[${'#'.repeat(n)}${'.'.repeat(20 - n)}]`;
}

function fmt(s: number): string {
  return s >= 60
    ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
    : `${s.toFixed(1)}s`;
}
