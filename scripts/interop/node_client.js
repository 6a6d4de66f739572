// Interop peer: the Node `ws` client against a wspc echo server.
//
//   NODE_PATH=<dir with ws> node node_client.js URL SERVER_NAME [ROW ...]
//
// Runs each row (all by default) on its own connection(s), bounded by WSPC_INTEROP_ROW_TIMEOUT
// seconds (default 60), and prints one line per row:
//
//   PASS|FAIL <SERVER_NAME> node-ws <row> (<detail>)
//
// Exits 0 if every row passed. Run by scripts/interop.sh with the ws it installed.
'use strict';

const crypto = require('crypto');
const WebSocket = require('ws');

const PEER = 'node-ws';
const ROW_TIMEOUT = Number(process.env.WSPC_INTEROP_ROW_TIMEOUT || 60) * 1000;
const MIB = 1 << 20;

class Fail extends Error {}
const check = (cond, detail) => {
  if (!cond) throw new Fail(detail);
};

// Every socket a row opened, terminated if the row times out.
let open = [];

// Connect; resolves on 'open' with a socket that has `next()` (the next message, in order, as
// { data: Buffer, isBinary }) and `closed` (a promise of { code, reason }).
// `protocols`: the subprotocols to offer (none by default).
function connect(url, extra = {}, protocols = []) {
  return new Promise((resolve, reject) => {
    // No compression (wspc has no permessage-deflate yet), no cap on message size.
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, maxPayload: 0, ...extra });
    open.push(ws);
    const inbox = [];
    const waiters = [];
    let ended = null;
    ws.closed = new Promise((res) => {
      ws.on('close', (code, reason) => {
        ended = new Error(`connection closed (code ${code})`);
        waiters.splice(0).forEach((w) => w.reject(ended));
        res({ code, reason: reason.toString() });
      });
    });
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift().resolve(m);
      else inbox.push(m);
    });
    ws.on('error', (e) => {
      ended = e;
      waiters.splice(0).forEach((w) => w.reject(e));
      reject(e);
    });
    // The extension offered (the request's header) and the server's answer to it.
    // ws still holds its request (`_req`) when it emits 'upgrade'.
    ws.once('upgrade', (res) => {
      const req = ws._req || res.req;
      ws.offered = req ? req.getHeader('sec-websocket-extensions') : undefined;
      ws.accepted = res.headers['sec-websocket-extensions'];
    });
    ws.once('open', () => resolve(ws));
    ws.next = () =>
      inbox.length
        ? Promise.resolve(inbox.shift())
        : ended
          ? Promise.reject(ended)
          : new Promise((res, rej) => waiters.push({ resolve: res, reject: rej }));
  });
}

async function closeNormally(ws) {
  ws.close(1000);
  return ws.closed;
}

const describe = (m) => `${m.isBinary ? 'binary' : 'text'} of ${m.data.length}`;

async function row16mib(url) {
  const payload = crypto.randomBytes(16 * MIB);
  const ws = await connect(url);
  const t0 = process.hrtime.bigint();
  // Send the whole message first (the callback fires once it is written); only then read.
  await new Promise((res, rej) => ws.send(payload, { binary: true }, (e) => (e ? rej(e) : res())));
  const echo = await ws.next();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  await closeNormally(ws);
  check(echo.isBinary, `echo was ${describe(echo)}, expected binary`);
  check(echo.data.length === payload.length, `echo has ${echo.data.length} bytes, sent ${payload.length}`);
  check(echo.data.equals(payload), 'echo differs from what was sent');
  return `${payload.length} bytes echoed equal as one message, ${dt.toFixed(2)} s`;
}

async function rowDeflate(url) {
  const text = 'permessage-deflate offered; '.repeat(40);
  // ws's default perMessageDeflate (true) for a client offers the extension.
  const ws = await connect(url, { perMessageDeflate: true });
  const { offered, accepted } = ws;
  const negotiated = ws.extensions;
  ws.send(text);
  const echo = await ws.next();
  await closeNormally(ws);
  check(offered && String(offered).includes('permessage-deflate'), `the client did not offer it (${offered})`);
  check(!echo.isBinary && echo.data.toString() === text, `echo differs: ${describe(echo)}`);
  check(!negotiated === !accepted, `extensions '${negotiated}' vs header '${accepted}'`);
  const how = negotiated ? `accepted '${negotiated}'` : 'declined';
  return `offered '${offered}'; server ${how}; ${text.length}-char text echoed equal`;
}

async function rowText(url) {
  const unit = 'é€😀';
  const text = unit.repeat(Math.floor(MIB / Buffer.byteLength(unit)));
  const ws = await connect(url);
  ws.send(text);
  const echo = await ws.next();
  await closeNormally(ws);
  check(!echo.isBinary, `echo was ${describe(echo)}, expected text`);
  check(echo.data.toString('utf8') === text, 'echo differs from what was sent');
  return `${Buffer.byteLength(text)} bytes of UTF-8 echoed equal`;
}

// n messages, alternating text and binary, of 0..maxLen bytes (every 50th empty).
function smallMessages(n, maxLen) {
  const alphabet = [...'abcdefghijklmnopqrstuvwxyzé€😀 '];
  const out = [];
  for (let i = 0; i < n; i++) {
    const size = i % 50 === 0 ? 0 : crypto.randomInt(maxLen + 1);
    if (i % 2) {
      out.push({ data: crypto.randomBytes(size), isBinary: true });
    } else {
      let s = '';
      for (;;) {
        const c = alphabet[crypto.randomInt(alphabet.length)];
        if (Buffer.byteLength(s + c) > size) break;
        s += c;
      }
      out.push({ data: Buffer.from(s), isBinary: false });
    }
  }
  return out;
}

async function echoAll(ws, messages, who) {
  // Pipelined: everything is sent before the first echo is awaited.
  for (const m of messages) ws.send(m.isBinary ? m.data : m.data.toString(), { binary: m.isBinary });
  for (let i = 0; i < messages.length; i++) {
    const e = await ws.next();
    const m = messages[i];
    check(e.isBinary === m.isBinary && e.data.equals(m.data), `${who}message ${i}: sent ${describe(m)}, got ${describe(e)}`);
  }
}

async function rowSmall(url) {
  const messages = smallMessages(1000, 125);
  const ws = await connect(url);
  await echoAll(ws, messages, '');
  await closeNormally(ws);
  const texts = messages.filter((m) => !m.isBinary).length;
  const empty = messages.filter((m) => m.data.length === 0).length;
  return `${messages.length} messages (${texts} text, ${messages.length - texts} binary, ${empty} empty) echoed equal, in order`;
}

async function rowPing(url) {
  const payload = Buffer.from('wspc-interop-ping');
  const ws = await connect(url);
  const pong = new Promise((res) => ws.once('pong', res));
  const t0 = process.hrtime.bigint();
  ws.ping(payload);
  const got = await pong;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await closeNormally(ws);
  check(got.equals(payload), `pong payload ${JSON.stringify(got.toString())}, pinged ${JSON.stringify(payload.toString())}`);
  return `pong with payload '${payload}' in ${ms.toFixed(1)} ms`;
}

async function rowClose(url) {
  const ws = await connect(url);
  ws.send('before close');
  const echo = await ws.next();
  check(echo.data.toString() === 'before close', 'echo before close differs');
  ws.close(4001, 'bye');
  const { code, reason } = await ws.closed;
  // 'close' carries the code of the close frame the server sent back (1006 if none came).
  check(code === 4001 && String(reason) === 'bye', `server answered close code ${code} reason '${reason}'; want 4001 'bye' echoed`);
  return `sent 4001 'bye', server echoed code ${code} reason '${reason}', handshake complete`;
}

async function rowConcurrent(url) {
  const clients = 50;
  const perClient = 200;
  const t0 = process.hrtime.bigint();
  const counts = await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      const messages = smallMessages(perClient, 1024);
      const ws = await connect(url);
      await echoAll(ws, messages, `client ${k} `);
      await closeNormally(ws);
      return messages.length;
    }),
  );
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const total = counts.reduce((a, b) => a + b, 0);
  return `${clients} clients x ${perClient} messages = ${total} echoed equal, in order, ${dt.toFixed(2)} s`;
}

// Send one message (whole) and check that its echo is equal and of the same type.
async function echoOne(ws, data, isBinary) {
  ws.send(data, { binary: isBinary });
  const echo = await ws.next();
  const sent = Buffer.from(data);
  check(echo.isBinary === isBinary, `sent ${isBinary ? 'binary' : 'text'} of ${sent.length}, got ${describe(echo)}`);
  check(echo.data.equals(sent), `echo of ${describe(echo)} differs from the ${sent.length} B sent`);
  return echo;
}

// Send one message as fragments: every chunk but the last with fin false, the last with fin true.
function sendFragments(ws, chunks, isBinary) {
  chunks.forEach((c, i) => ws.send(c, { binary: isBinary, fin: i === chunks.length - 1 }));
}

async function rowSubprotocol(url) {
  // The echo servers run with `--subprotocol chat`: they select 'chat' when it is offered, alone
  // or after one they do not speak, and answer other offers with no header. ws, like browsers,
  // fails a handshake whose offer got no answer ('Server sent no subprotocol').
  const seen = [];
  for (const offer of [['chat'], ['nope', 'chat'], []]) {
    const want = offer.length ? 'chat' : '';
    const ws = await connect(url, {}, offer);
    const selected = ws.protocol;
    await echoOne(ws, `offered ${offer}`, false);
    await closeNormally(ws);
    check(selected === want, `offered ${JSON.stringify(offer)}: ws.protocol '${selected}', expected '${want}'`);
    seen.push(`${JSON.stringify(offer)} -> '${selected}'`);
  }
  let refused;
  try {
    const ws = await connect(url, {}, ['nope']);
    const selected = ws.protocol;
    await closeNormally(ws);
    throw new Fail(`offered ["nope"]: opened with ws.protocol '${selected}'; the server should select none`);
  } catch (e) {
    if (e instanceof Fail) throw e;
    check(/no subprotocol/.test(e.message), `offered ["nope"]: ${e.message}`);
    refused = e.message;
  }
  return `${seen.join('; ')}, a text echoed on each; ["nope"] -> the server selected none and ws refused it: '${refused}'`;
}

async function rowTextAscii(url) {
  // All 128 ASCII code points, NUL and DEL included, 512 times over: 64 KiB.
  let unit = '';
  for (let c = 0; c < 128; c++) unit += String.fromCharCode(c);
  const text = unit.repeat(512);
  const ws = await connect(url);
  await echoOne(ws, text, false);
  await closeNormally(ws);
  return `${text.length} chars (U+0000-U+007F x 512) echoed equal`;
}

const isContinuation = (b) => (b & 0xc0) === 0x80;

// Cut UTF-8 `data` (a repeated 'aé€😀') into fragments whose boundaries fall inside code points:
// after every byte of the first 'é€😀' that is not its last, then twice more in the rest, each
// moved forward onto a continuation byte.
function splitCodepointFragments(data) {
  const cuts = [];
  for (let i = 1; i < 10; i++) if (isContinuation(data[i])) cuts.push(i);
  for (let at of [Math.floor(data.length / 3), Math.floor((2 * data.length) / 3)]) {
    while (!isContinuation(data[at])) at++;
    cuts.push(at);
  }
  const bounds = [0, ...cuts, data.length];
  const fragments = bounds.slice(1).map((b, i) => data.subarray(bounds[i], b));
  return { fragments, inside: cuts.filter((c) => isContinuation(data[c])).length };
}

async function rowTextSplit(url) {
  const text = 'aé€😀'.repeat(6554);
  const data = Buffer.from(text);
  const { fragments, inside } = splitCodepointFragments(data);
  const ws = await connect(url);
  // Buffers with binary false: text frames (continuations after the first), cut mid code point.
  sendFragments(ws, fragments, false);
  const echo = await ws.next();
  await closeNormally(ws);
  check(!echo.isBinary, `echo was ${describe(echo)}, expected text`);
  check(echo.data.toString('utf8') === text, 'echo differs from what was sent');
  return `${data.length} B of UTF-8 sent in ${fragments.length} fragments, ${inside} boundaries inside code points (2-, 3- and 4-byte), echoed equal as one text`;
}

const BINARY_SIZES = [0, 1, 125, 126, 65535, 65536, MIB, 16 * MIB];

async function rowBinarySizes(url) {
  const t0 = process.hrtime.bigint();
  for (const size of BINARY_SIZES) {
    const ws = await connect(url);
    await echoOne(ws, crypto.randomBytes(size), true);
    await closeNormally(ws);
  }
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return `binary of ${BINARY_SIZES.join(', ')} B each echoed equal, ${dt.toFixed(2)} s`;
}

async function rowFragmented(url) {
  const payload = crypto.randomBytes(100000);
  const bounds = [0, 1, 126, 252, 65788, payload.length];
  const fragments = bounds.slice(1).map((b, i) => payload.subarray(bounds[i], b));
  const ws = await connect(url);
  sendFragments(ws, fragments, true);
  const echo = await ws.next();
  await closeNormally(ws);
  check(echo.isBinary, `echo was ${describe(echo)}, expected binary`);
  check(echo.data.equals(payload), `echo of ${echo.data.length} B differs from the ${payload.length} B sent`);
  return `${payload.length} B sent in ${fragments.length} fragments (${fragments.map((f) => f.length).join(', ')} B), echoed equal as one message`;
}

const ROWS = {
  subprotocol: rowSubprotocol,
  'text-ascii': rowTextAscii,
  'text-split-codepoints': rowTextSplit,
  'binary-sizes': rowBinarySizes,
  fragmented: rowFragmented,
  '16mib-send-before-read': row16mib,
  'deflate-offered': rowDeflate,
  'text-nonascii': rowText,
  'small-messages': rowSmall,
  'ping-pong': rowPing,
  'close-code': rowClose,
  concurrent: rowConcurrent,
};

async function main(argv) {
  if (argv.length < 2) {
    console.error('usage: node node_client.js URL SERVER_NAME [ROW ...]');
    return 2;
  }
  const [url, server, ...rest] = argv;
  const names = rest.length ? rest : Object.keys(ROWS);
  let failed = 0;
  for (const name of names) {
    open = [];
    let timer;
    const timeout = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Fail(`timed out after ${ROW_TIMEOUT / 1000} s`)), ROW_TIMEOUT);
    });
    let verdict = 'PASS';
    let detail;
    try {
      detail = await Promise.race([ROWS[name](url), timeout]);
    } catch (e) {
      verdict = 'FAIL';
      detail = e instanceof Fail ? e.message : `${e.name}: ${e.message}`;
      open.forEach((ws) => ws.terminate());
    } finally {
      clearTimeout(timer);
    }
    if (verdict === 'FAIL') failed++;
    console.log(`${verdict} ${server} ${PEER} ${name} (${detail})`);
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
