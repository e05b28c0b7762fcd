/**
 * Published numbers on the same protocol, printed beside ours (docs/training.md, "Real click sequences"). Each row
 * names its source; a metric the source does not give is absent.
 *
 * Values: BERT4Rec (Sun et al., CIKM 2019; arXiv:1904.06690v2), Table 2, the Beauty rows (HR@1/5/10, NDCG@5/10,
 * MRR; the paper omits NDCG@1, equal to HR@1). The stored copies of the paper reachable here hold only its
 * abstract; the table was read from a full Chinese translation of the paper in a public GitHub repository (code
 * index file id 59029533155: Tables 1–5 with the paper's numbers). Cross-checks: its ML-20m BERT4Rec row equals the
 * paper values quoted in FeiSun/BERT4Rec issue #13, and its Table 3 SASRec and BERT4Rec rows on Beauty equal
 * Table 2's. The paper's BERT4Rec uses N = 50, d = 64, 2 layers, 2 heads, ρ = 0.6 on Beauty (its section 4.3).
 */
export type PublishedRow = {
  readonly name: string;
  readonly hr1?: number;
  readonly hr5?: number;
  readonly hr10?: number;
  readonly ndcg5?: number;
  readonly ndcg10?: number;
  readonly mrr?: number;
};

const row = (name: string, v: readonly [number, number, number, number, number, number]): PublishedRow => ({
  name,
  hr1: v[0],
  hr5: v[1],
  hr10: v[2],
  ndcg5: v[3],
  ndcg10: v[4],
  mrr: v[5],
});

export const PUBLISHED_BEAUTY: { readonly source: string; readonly rows: readonly PublishedRow[] } = {
  source: 'Sun et al., BERT4Rec (CIKM 2019), Table 2, Beauty (HR@1, HR@5, HR@10, NDCG@5, NDCG@10, MRR)',
  rows: [
    row('POP', [0.0077, 0.0392, 0.0762, 0.023, 0.0349, 0.0437]),
    row('BPR-MF', [0.0415, 0.1209, 0.1992, 0.0814, 0.1064, 0.1006]),
    row('NCF', [0.0407, 0.1305, 0.2142, 0.0855, 0.1124, 0.1043]),
    row('FPMC', [0.0435, 0.1387, 0.2401, 0.0902, 0.1211, 0.1056]),
    row('GRU4Rec', [0.0402, 0.1315, 0.2343, 0.0812, 0.1074, 0.1023]),
    row('GRU4Rec+', [0.0551, 0.1781, 0.2654, 0.1172, 0.1453, 0.1299]),
    row('Caser', [0.0475, 0.1625, 0.259, 0.105, 0.136, 0.1205]),
    row('SASRec', [0.0906, 0.1934, 0.2653, 0.1436, 0.1633, 0.1536]),
    row('BERT4Rec', [0.0953, 0.2207, 0.3025, 0.1599, 0.1862, 0.1701]),
  ],
};
