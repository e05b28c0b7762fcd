import type { RankingSet } from '../data/leave-last-out.ts';

/**
 * The ranking scores of a RankingSet computed by a running `ctr-serve serve`: each test user's whole history
 * (unpadded, untruncated: the server pads and truncates it, and maps out-of-vocabulary ids, as it does for any
 * client) and its candidates, target first, sent to `POST {baseUrl}/v1/ctr/{model}:predict` (docs/api.md), users
 * in requests of `usersPerRequest`. Returns users × candidatesPerUser click probabilities, to rank with
 * rankingMetrics exactly as the in-process scores are. Fetch is Node's own (undici).
 */
export async function servedRankingScores(
  baseUrl: string,
  set: RankingSet,
  model = 'ctr-student',
  usersPerRequest = 64,
): Promise<Float32Array> {
  const C = set.candidatesPerUser;
  const out = new Float32Array(set.users * C);
  for (let s = 0; s < set.users; s += usersPerRequest) {
    const e = Math.min(set.users, s + usersPerRequest);
    const requests = [];
    for (let u = s; u < e; u++) {
      requests.push({
        id: String(u),
        history: Array.from(set.past[u]!),
        candidates: Array.from(set.candidates.subarray(u * C, (u + 1) * C)),
      });
    }
    const res = await fetch(`${baseUrl}/v1/ctr/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests }),
    });
    const body = (await res.json()) as { results?: { scores: number[] }[]; message?: string };
    if (!res.ok || !body.results) throw new Error(`${baseUrl}: HTTP ${res.status} ${body.message ?? ''}`);
    body.results.forEach((r, i) => out.set(r.scores, (s + i) * C));
  }
  return out;
}
