import { parse } from 'csv-parse/sync';
import { CtrError } from '../../errors/registry.ts';
import { padHistoryInto } from '../../ctr/ctr-batch.ts';
import type { ClickLog } from './click-log.ts';

/**
 * Click logs as CSV (docs/training.md). Two layouts are read, told apart by the header:
 * - rows:   `user,history,candidate,clicked[,true_prob]` — one impression per line; history is the user's
 *           earlier clicks as space-separated item ids, oldest first (newest last); true_prob may be empty.
 *           `ctr-serve data` writes this layout.
 * - events: `user,item,timestamp,clicked` — a raw log; each impression's history is the items that user clicked
 *           before it (by timestamp, ties in file order).
 * Histories longer than historyLength keep the newest ones. Item ids must be integers in 1..vocabSize-1.
 * The text is split into records by csv-parse (quoting, CRLF, a record with the wrong column count); failures,
 * its own included, are CTR_ERR_DATA_FORMAT naming the line.
 */
export function writeClickLogCsv(log: ClickLog): string {
  const L = log.historyLength;
  const lines = ['user,history,candidate,clicked,true_prob'];
  for (let r = 0; r < log.rows; r++) {
    const h = Array.from(log.history.subarray(r * L, (r + 1) * L)).filter((id) => id !== 0);
    const p = log.trueProb ? log.trueProb[r]!.toPrecision(6) : '';
    lines.push(`${log.user[r]},${h.join(' ')},${log.candidate[r]},${log.clicked[r]},${p}`);
  }
  return `${lines.join('\n')}\n`;
}

export function readClickLogCsv(
  text: string,
  vocabSize: number,
  historyLength: number,
  source: string,
): ClickLog {
  const bad = (line: number, why: string) => new CtrError('CTR_ERR_DATA_FORMAT', `${source}:${line}: ${why}`);
  const { records, lineOf } = csvRecords(text, source);
  const header = records[0] ?? [];
  const col = (name: string) => header.indexOf(name);
  const id = (s: string | undefined, line: number): number => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1 || v >= vocabSize)
      throw bad(line, `item id "${s}" is not in 1..${vocabSize - 1}`);
    return v;
  };
  const flag = (s: string | undefined, line: number): number => {
    if (s !== '0' && s !== '1') throw bad(line, `clicked must be 0 or 1, got "${s}"`);
    return Number(s);
  };
  const rows = Math.max(0, records.length - 1);
  const out = {
    vocabSize,
    historyLength,
    rows,
    user: new Int32Array(rows),
    history: new Int32Array(rows * historyLength),
    candidate: new Int32Array(rows),
    clicked: new Uint8Array(rows),
  };
  const users = new Map<string, number>();
  const userId = (s: string) => users.get(s) ?? (users.set(s, users.size), users.size - 1);
  if (col('history') >= 0 && col('candidate') >= 0) {
    const [cu, ch, cc, ck, cp] = ['user', 'history', 'candidate', 'clicked', 'true_prob'].map(col);
    if (cu! < 0 || ck! < 0) throw bad(1, 'header needs user,history,candidate,clicked');
    const probs: number[] = [];
    for (let r = 0; r < rows; r++) {
      const f = records[r + 1]!;
      const line = lineOf[r + 1]!;
      out.user[r] = userId(f[cu!]!.trim());
      const h = (f[ch!] ?? '').trim();
      padHistoryInto(
        h === '' ? [] : h.split(/\s+/).map((s) => id(s, line)),
        historyLength,
        out.history,
        r * historyLength,
      );
      out.candidate[r] = id(f[cc!], line);
      out.clicked[r] = flag(f[ck!]?.trim(), line);
      const p = cp! >= 0 ? (f[cp!] ?? '').trim() : '';
      probs.push(p === '' ? Number.NaN : Number(p));
    }
    const known = probs.length > 0 && probs.every((p) => p >= 0 && p <= 1);
    return known ? { ...out, trueProb: Float32Array.from(probs) } : out;
  }
  const [cu, ci, ct, ck] = ['user', 'item', 'timestamp', 'clicked'].map(col);
  if (cu! < 0 || ci! < 0 || ct! < 0 || ck! < 0) {
    throw bad(1, 'header must be user,history,candidate,clicked[,true_prob] or user,item,timestamp,clicked');
  }
  const events = records.slice(1).map((f, k) => {
    const line = lineOf[k + 1]!;
    const ts = Number(f[ct!]);
    if (f[ct!] === '' || !Number.isFinite(ts)) throw bad(line, `timestamp "${f[ct!]}" is not a number`);
    return { k, user: f[cu!]!, item: id(f[ci!], line), ts, clicked: flag(f[ck!], line) };
  });
  events.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : a.ts - b.ts || a.k - b.k));
  let past: number[] = [];
  events.forEach((e, r) => {
    if (r === 0 || events[r - 1]!.user !== e.user) past = [];
    out.user[r] = userId(e.user);
    padHistoryInto(past, historyLength, out.history, r * historyLength);
    out.candidate[r] = e.item;
    out.clicked[r] = e.clicked;
    if (e.clicked) past.push(e.item);
  });
  return out;
}

/** Records (trimmed fields) and the line each starts on, from csv-parse; its errors become CTR_ERR_DATA_FORMAT. */
function csvRecords(text: string, source: string): { records: string[][]; lineOf: number[] } {
  try {
    const out = parse(text, { skip_empty_lines: true, trim: true, info: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
    return { records: out.map((o) => o.record), lineOf: out.map((o) => o.info.lines) };
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new CtrError(
      'CTR_ERR_DATA_FORMAT',
      `${source}${line ? `:${line}` : ''}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Pretraining sequences from a log: each clicked impression's history followed by the clicked item. */
export function sequencesFromLog(log: ClickLog): Int32Array {
  const L = log.historyLength;
  const picked: number[] = [];
  for (let r = 0; r < log.rows; r++) if (log.clicked[r]) picked.push(r);
  const out = new Int32Array(picked.length * (L + 1));
  picked.forEach((r, i) => {
    out.set(log.history.subarray(r * L, (r + 1) * L), i * (L + 1));
    out[i * (L + 1) + L] = log.candidate[r]!;
  });
  return out;
}
