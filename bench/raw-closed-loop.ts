import net from 'node:net';

/** Latencies (ms) by HTTP status, and the requests that got no status (a connection error). */
export type RawLoopResult = {
  readonly byStatus: Map<number, number[]>;
  readonly failed: number;
  /** This process's CPU (user + system) over the run, in ms, and the run's wall time: the client's own load. */
  readonly cpuMs: number;
  readonly wallMs: number;
};

/**
 * A closed-loop HTTP/1.1 client on raw sockets: `connections` keep-alive connections, each sending its next POST
 * the moment the last response ended, for `seconds`. The request is written as one prebuilt buffer and a response
 * is parsed only as far as its status line and content-length. Node's http client costs several times the server's
 * refusal per request; at thousands of refusals per second it saturated its core, and its own event loop's
 * backlog was counted as the server's latency (bench/README.md, "Overload").
 */
export async function rawClosedLoop(
  url: string,
  body: Buffer,
  connections: number,
  seconds: number,
): Promise<RawLoopResult> {
  const target = new URL(url);
  const head =
    `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\n` +
    `content-length: ${body.length}\r\n\r\n`;
  const request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  const byStatus = new Map<number, number[]>();
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const record = (status: number, ms: number) => {
    let list = byStatus.get(status);
    if (!list) byStatus.set(status, (list = []));
    list.push(ms);
  };
  await Promise.all(
    Array.from({ length: connections }, () =>
      oneConnection(target, request, end, record).catch(() => {
        failed++;
      }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  return { byStatus, failed, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 };
}

function oneConnection(
  target: URL,
  request: Buffer,
  end: number,
  record: (status: number, ms: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    let pending: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let status = 0;
    let bodyLeft = -1; // -1: reading the head
    const send = () => {
      if (performance.now() >= end) {
        socket.end();
        resolve();
        return;
      }
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (bodyLeft < 0) {
          const at = pending.indexOf('\r\n\r\n');
          if (at < 0) return;
          const headText = pending.subarray(0, at).toString('latin1');
          status = Number(headText.slice(9, 12));
          const m = /\r\ncontent-length: *(\d+)/i.exec(headText);
          if (!m) return reject(new Error(`no content-length in a response (status ${status})`));
          bodyLeft = Number(m[1]);
          pending = pending.subarray(at + 4);
        }
        if (pending.length < bodyLeft) return;
        pending = pending.subarray(bodyLeft);
        bodyLeft = -1;
        record(status, performance.now() - sentAt);
        send();
      }
    });
  });
}
