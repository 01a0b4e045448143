import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * The slowloris of test/abuse/slowloris.test.ts, run as its own process so that its 2,000 sockets and
 * 1,000 TLS handshakes do not share an event loop with the legitimate client being measured.
 *
 *   node slowloris-attacker.js <port> <caFile> <per-address> <before-TLS addresses,…> <after-TLS addresses,…>
 *
 * Before TLS: the first 50 bytes of a ClientHello, never finished. After TLS: a handshake, then the size
 * prefix of a 1 KiB frame. Then a byte every 2 s on each. A connection the broker closes is opened again
 * until stdin ends; then the process reports when the last one closed and exits. Progress lines on
 * stdout: `open <n> secured <n> reopened <n>`, and `closed <ms>` at the end.
 */

const [portText, caFile, perAddressText, beforeText, afterText] = process.argv.slice(2);
const port = Number(portText);
const perAddress = Number(perAddressText);
const ca = readFileSync(caFile ?? '');
const CLIENT_HELLO_START = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), Buffer.alloc(39, 7)]);

let attacking = true;
let secured = 0;
let reopened = 0;
const live = new Set<Socket>();
/** Sockets that sent their start (a ClientHello's first bytes, a frame's size prefix): only these trickle. */
const started = new WeakSet<Socket>();

function open(kind: 'before' | 'after', localAddress: string): void {
  const tcp = tcpConnect({ host: '127.0.0.1', port, localAddress });
  tcp.on('error', () => undefined);
  let socket: Socket = tcp;
  if (kind === 'before') {
    tcp.once('connect', () => {
      tcp.write(CLIENT_HELLO_START);
      started.add(tcp);
    });
  } else {
    const tls = tlsConnect({ socket: tcp, host: '127.0.0.1', ca }, () => {
      secured++;
      tls.write(Buffer.from([0, 0, 4, 0]));
      started.add(tls);
    });
    tls.on('error', () => undefined);
    socket = tls;
  }
  live.add(socket);
  socket.once('close', () => {
    live.delete(socket);
    tcp.destroy();
    if (!attacking) {
      if (live.size === 0) finish();
      return;
    }
    reopened++;
    open(kind, localAddress);
  });
}

let stoppedAt = 0;
function finish(): void {
  console.log(`closed ${Math.round(performance.now() - stoppedAt)}`);
  process.exit(0);
}

for (let i = 0; i < perAddress; i++) {
  for (const a of (beforeText ?? '').split(',')) open('before', a);
  for (const a of (afterText ?? '').split(',')) open('after', a);
}
setInterval(() => {
  for (const s of live) if (started.has(s) && !s.destroyed) s.write(Buffer.from([1]));
}, 2000).unref();
const progress = setInterval(() => {
  console.log(`open ${live.size} secured ${secured} reopened ${reopened}`);
}, 250);
process.stdin.resume();
process.stdin.once('end', () => {
  attacking = false;
  stoppedAt = performance.now();
  clearInterval(progress);
  if (live.size === 0) finish();
});
