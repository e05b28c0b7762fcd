import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CtrError } from '../../errors/registry.ts';

/**
 * Click sequences in the format of the BERT4Rec authors' data files (FeiSun/BERT4Rec, data/beauty.txt;
 * docs/training.md, "Real click sequences"): one interaction per line, `user item`, whitespace-separated integer
 * ids, each user's lines in time order (oldest first); or
 * `user item timestamp`, where each user's interactions are put in timestamp order (ties keep file order). The
 * first line fixes the layout; every line must have its column count. Read as a stream (readline), so a file is
 * never held as one string. Users are kept in order of first appearance. Failures: CTR_ERR_DATA_FORMAT naming
 * file and line.
 */
export type Sequences = {
  /** Users read (each has ≥ 1 interaction). */
  readonly users: number;
  /** The file's user id of each user index. */
  readonly userIds: Int32Array;
  /** users + 1 entries: user u's items are items[offsets[u] .. offsets[u+1]), oldest first. */
  readonly offsets: Int32Array;
  readonly items: Int32Array;
  /** The largest item id (ids are 1..maxItem; 0 is padding). */
  readonly maxItem: number;
};

export type SequenceReadOptions = {
  /** Stop after this many users (a slice of the file: the first users in file order). */
  readonly maxUsers?: number;
};

const MAX_ID = 2 ** 31 - 2;

type UserEvents = { items: number[]; times: number[] | undefined };

export async function readSequences(path: string, options: SequenceReadOptions = {}): Promise<Sequences> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) =>
      reject(new CtrError('CTR_ERR_DATA_FORMAT', `cannot read ${path}`, { cause: err })),
    );
  });
  await opened;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    return await parseSequenceLines(lines, path, options);
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** The parser behind readSequences, over any (async) iterable of lines. */
export async function parseSequenceLines(
  lines: AsyncIterable<string> | Iterable<string>,
  source: string,
  options: SequenceReadOptions = {},
): Promise<Sequences> {
  const bad = (line: number, why: string) => new CtrError('CTR_ERR_DATA_FORMAT', `${source}:${line}: ${why}`);
  const byUser = new Map<number, UserEvents>();
  const maxUsers = options.maxUsers ?? Infinity;
  let columns = 0;
  let lineNo = 0;
  let maxItem = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (text === '') continue;
    const fields = text.split(/\s+/);
    if (columns === 0) {
      if (fields.length !== 2 && fields.length !== 3) {
        throw bad(lineNo, `expected "user item" or "user item timestamp", got ${fields.length} columns`);
      }
      columns = fields.length;
    } else if (fields.length !== columns) {
      throw bad(lineNo, `expected ${columns} columns like the first line, got ${fields.length}`);
    }
    const user = integerField(fields[0]!, 0, 'user id', (why) => bad(lineNo, why));
    const item = integerField(fields[1]!, 1, 'item id', (why) => bad(lineNo, why));
    let events = byUser.get(user);
    if (!events) {
      if (byUser.size >= maxUsers) break;
      events = { items: [], times: columns === 3 ? [] : undefined };
      byUser.set(user, events);
    }
    events.items.push(item);
    if (events.times) {
      const t = Number(fields[2]);
      if (!Number.isFinite(t)) throw bad(lineNo, `timestamp "${fields[2]}" is not a number`);
      events.times.push(t);
    }
    if (item > maxItem) maxItem = item;
  }
  if (byUser.size === 0) throw new CtrError('CTR_ERR_DATA_FORMAT', `${source}: no interactions`);
  return pack(byUser, maxItem);
}

function integerField(s: string, min: number, what: string, bad: (why: string) => Error): number {
  if (!/^\d+$/.test(s)) throw bad(`${what} "${s}" is not a non-negative integer`);
  const v = Number(s);
  if (v < min || v > MAX_ID) throw bad(`${what} ${s} is not in ${min}..${MAX_ID}`);
  return v;
}

function pack(byUser: Map<number, UserEvents>, maxItem: number): Sequences {
  const users = byUser.size;
  const userIds = new Int32Array(users);
  const offsets = new Int32Array(users + 1);
  let total = 0;
  for (const e of byUser.values()) total += e.items.length;
  const items = new Int32Array(total);
  let u = 0;
  let at = 0;
  for (const [id, e] of byUser) {
    userIds[u] = id;
    let order = e.items;
    if (e.times) {
      const times = e.times;
      const idx = e.items.map((_, k) => k).sort((a, b) => times[a]! - times[b]! || a - b);
      order = idx.map((k) => e.items[k]!);
    }
    items.set(order, at);
    at += order.length;
    offsets[++u] = at;
  }
  return { users, userIds, offsets, items, maxItem };
}

/** User u's items, oldest first (a view, not a copy). */
export function userItems(s: Sequences, u: number): Int32Array {
  return s.items.subarray(s.offsets[u]!, s.offsets[u + 1]!);
}
