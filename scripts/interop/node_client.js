// Interop peer: the Node `ws` client against a wspc echo server.
//
//   NODE_PATH=<dir with ws> node node_client.js [--no-deflate-url URL2] URL SERVER_NAME [ROW ...]
//
// Runs each row (all by default) on its own connection(s), bounded by WSPC_INTEROP_ROW_TIMEOUT
// seconds (default 60), and prints one line per row:
//
//   PASS|FAIL <SERVER_NAME> node-ws <row> (<detail>)
//
// Exits 0 if every row passed. Run by scripts/interop.sh with the ws it installed.
//
// The plain rows run without compression (perMessageDeflate: false). The deflate-* rows offer
// permessage-deflate against URL, a server that accepts it, except deflate-declined, which goes
// to URL2, the same server started with --no-deflate. What came off the wire is measured with the
// socket's bytesRead (frame headers included):
//   deflate-accepted        ws's default offer (perMessageDeflate: true) is accepted (the 101's
//                           Sec-WebSocket-Extensions and ws.extensions say so); on that one
//                           connection 1 MiB of non-ASCII text and binary of 0, 1, 125, 65536 B,
//                           1 MiB compressible, 1 MiB random and 16 MiB echo equal (ws itself
//                           compresses only messages of 1024 B or more, its default threshold);
//                           the compressible MiB came back in under a quarter of its size
//   deflate-fragmented      a text in 9 fragments cut inside code points and a binary in 5
//                           fragments, each compressed (a first fragment over ws's threshold) and
//                           echoed equal as one message
//   deflate-small-messages  1000 pipelined text/binary messages of 0-125 B sharing most of their
//                           bytes, every one compressed by ws (threshold 0), echoed equal and in
//                           order; under half their size came back (the server's context taken
//                           over from message to message)
//   deflate-params          offered with serverNoContextTakeover, clientNoContextTakeover and
//                           serverMaxWindowBits 10: the 101 agrees to exactly those; a 16 KiB
//                           message repeating a 4 KiB block comes back uncompressed in size (a 1
//                           KiB window finds no repeat, and a reference beyond it would fail ws's
//                           10-bit inflater); 200 small messages come back over half their size
//   deflate-declined        against URL2: the offer gets no extension in the 101, text and binary
//                           echo
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
// The URL of the --no-deflate instance of the server (--no-deflate-url), for deflate-declined.
let noDeflateUrl = null;

// Connect; resolves on 'open' with a socket that has `next()` (the next message, in order, as
// { data: Buffer, isBinary }) and `closed` (a promise of { code, reason }).
// `protocols`: the subprotocols to offer (none by default).
function connect(url, extra = {}, protocols = []) {
  return new Promise((resolve, reject) => {
    // No compression unless a row asks for it (the plain matrix), no cap on message size.
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
      // The TCP socket, whose bytesRead says what came off the wire.
      ws.socket = res.socket;
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
// `start` (a multiple of 10) moves the first cuts to the 'é€😀' at or after it.
function splitCodepointFragments(data, start = 0) {
  const cuts = [];
  for (let i = start + 1; i < start + 10; i++) if (isContinuation(data[i])) cuts.push(i);
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

// ----- permessage-deflate (RFC 7692) ----------------------------------------------------------

// ws's default offer, `permessage-deflate; client_max_window_bits`, with `extra` settings.
const deflateOptions = (extra = {}) => ({ perMessageDeflate: true, ...extra });

// Fails unless permessage-deflate was offered and agreed; returns the offer and the answer.
function negotiated(ws) {
  const { offered, accepted } = ws;
  check(offered && String(offered).includes('permessage-deflate'), `ws did not offer permessage-deflate (${offered})`);
  check(accepted && accepted.includes('permessage-deflate'), `offered '${offered}'; the 101 answered Sec-WebSocket-Extensions '${accepted}'`);
  check(ws.extensions === 'permessage-deflate', `the 101 answered '${accepted}' but ws.extensions is '${ws.extensions}'`);
  return { offered, accepted };
}

// Bytes read from the socket since the last call (frame headers included).
function wireMeter(ws) {
  let last = ws.socket.bytesRead;
  return () => {
    const now = ws.socket.bytesRead;
    const n = now - last;
    last = now;
    return n;
  };
}

// n bytes that compress well: numbered lines of one sentence.
function compressibleBytes(n) {
  const lines = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const line = `line ${String(i).padStart(7, '0')}: the quick brown fox jumps over the lazy dog\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, n);
}

// n messages of 0-125 B, alternating text and binary (every 50th an empty text), that share most
// of their bytes: a number, then a prefix of one random 120-byte string (letters for the texts,
// bytes for the binaries). Alone each compresses hardly at all; after the messages before it, to
// a few bytes.
function deflateSmallMessages(n) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let sharedText = '';
  for (let i = 0; i < 120; i++) sharedText += letters[crypto.randomInt(letters.length)];
  const sharedBin = crypto.randomBytes(123);
  const out = [];
  for (let i = 0; i < n; i++) {
    if (i % 50 === 0) {
      out.push({ data: Buffer.alloc(0), isBinary: false });
    } else if (i % 2) {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(i);
      out.push({ data: Buffer.concat([head, sharedBin.subarray(0, crypto.randomInt(124))]), isBinary: true });
    } else {
      out.push({ data: Buffer.from(`${String(i).padStart(4, '0')} ${sharedText.slice(0, crypto.randomInt(121))}`), isBinary: false });
    }
  }
  return out;
}

async function rowDeflateAccepted(url) {
  const unit = 'é€😀';
  const text = unit.repeat(Math.floor(MIB / Buffer.byteLength(unit)));
  const ws = await connect(url, deflateOptions());
  const { offered, accepted } = negotiated(ws);
  const wire = wireMeter(ws);
  const t0 = process.hrtime.bigint();
  await echoOne(ws, text, false);
  const textWire = wire();
  const sizes = [];
  for (const data of [Buffer.alloc(0), crypto.randomBytes(1), crypto.randomBytes(125), crypto.randomBytes(65536)]) {
    await echoOne(ws, data, true);
    sizes.push(data.length);
  }
  wire();
  await echoOne(ws, compressibleBytes(MIB), true);
  const compressibleWire = wire();
  await echoOne(ws, crypto.randomBytes(MIB), true);
  const randomWire = wire();
  await echoOne(ws, crypto.randomBytes(16 * MIB), true);
  const bigWire = wire();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  await closeNormally(ws);
  check(compressibleWire < MIB / 4, `the echo of 1 MiB of compressible binary took ${compressibleWire} B on the wire`);
  return (
    `offered '${offered}', the 101 answered '${accepted}'; on one connection ${Buffer.byteLength(text)} B of non-ASCII text ` +
    `(${textWire} B read) and binary of ${sizes.join(', ')} B, 1 MiB compressible (${compressibleWire} B read), 1 MiB random ` +
    `(${randomWire} B) and 16 MiB (${bigWire} B) echoed equal, ${dt.toFixed(2)} s`
  );
}

async function rowDeflateFragmented(url) {
  const text = 'aé€😀'.repeat(6554);
  const data = Buffer.from(text);
  const { fragments, inside } = splitCodepointFragments(data, 4000);
  const payload = Buffer.concat([crypto.randomBytes(50000), compressibleBytes(50000)]);
  const bounds = [0, 4096, 4097, 4223, 65788, payload.length];
  const binaryFragments = bounds.slice(1).map((b, i) => payload.subarray(bounds[i], b));
  const ws = await connect(url, deflateOptions());
  negotiated(ws);
  const wire = wireMeter(ws);
  // The first fragment (4002 B, 4096 B) is over ws's threshold of 1024 B: ws compresses the
  // message, RSV1 on its first frame and the rest one deflate stream.
  sendFragments(ws, fragments, false);
  const echo = await ws.next();
  check(!echo.isBinary && echo.data.toString('utf8') === text, `the fragmented text came back as ${describe(echo)}, not equal`);
  const textWire = wire();
  sendFragments(ws, binaryFragments, true);
  const echo2 = await ws.next();
  check(echo2.isBinary && echo2.data.equals(payload), `the fragmented binary came back as ${describe(echo2)}, not equal`);
  const binaryWire = wire();
  await closeNormally(ws);
  check(textWire < data.length / 2, `the echo of ${data.length} B of text took ${textWire} B on the wire: not compressed?`);
  return (
    `text of ${data.length} B in ${fragments.length} fragments (${inside} boundaries inside code points) and binary of ` +
    `${payload.length} B in ${binaryFragments.length} fragments (${binaryFragments.map((f) => f.length).join(', ')} B), ` +
    `each compressed by ws and echoed equal as one message (${textWire} and ${binaryWire} B read)`
  );
}

async function rowDeflateSmall(url) {
  const messages = deflateSmallMessages(1000);
  const raw = messages.reduce((a, m) => a + m.data.length, 0);
  // threshold 0: ws compresses every message, however small.
  const ws = await connect(url, deflateOptions({ perMessageDeflate: { threshold: 0 } }));
  negotiated(ws);
  const wire = wireMeter(ws);
  await echoAll(ws, messages, '');
  const onWire = wire();
  await closeNormally(ws);
  check(onWire < raw / 2, `the ${messages.length} echoes took ${onWire} B on the wire for ${raw} B of payload: context not taken over?`);
  return (
    `${messages.length} messages of 0-125 B sharing most bytes, each compressed by ws, pipelined, echoed equal and in order; ` +
    `${raw} B of payload came back as ${onWire} B read, headers included (${Math.round((100 * onWire) / raw)}%: the server's context taken over between messages)`
  );
}

// permessage-deflate's parameters in an answer, as { name: value or null }.
function parseAnswer(answer) {
  const out = {};
  for (const p of answer.split(';').slice(1)) {
    const [name, value] = p.split('=').map((x) => x.trim());
    out[name.toLowerCase()] = value ? value.replace(/^"|"$/g, '') : null;
  }
  return out;
}

async function rowDeflateParams(url) {
  const far = Buffer.concat(Array(4).fill(crypto.randomBytes(4096)));
  const small = deflateSmallMessages(200);
  const raw = small.reduce((a, m) => a + m.data.length, 0);
  const ws = await connect(
    url,
    deflateOptions({ perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, threshold: 0 } }),
  );
  const { offered, accepted } = negotiated(ws);
  const got = parseAnswer(accepted);
  const want = { server_no_context_takeover: null, client_no_context_takeover: null, server_max_window_bits: '10' };
  const same = Object.keys(want).every((k) => k in got && got[k] === want[k]);
  const extra = Object.keys(got).filter((k) => !(k in want) && k !== 'client_max_window_bits');
  check(same && extra.length === 0, `offered '${offered}'; the 101 answered '${accepted}'`);
  const wire = wireMeter(ws);
  await echoOne(ws, far, true);
  const farWire = wire();
  await echoAll(ws, small, '');
  const smallWire = wire();
  await closeNormally(ws);
  // A 4 KiB block seen 4 times: only a window of 4 KiB or more finds the repeats.
  check(farWire > 0.9 * far.length, `the echo of ${far.length} B (a 4 KiB block x 4) took ${farWire} B on the wire`);
  check(smallWire > raw / 2, `the ${small.length} echoes took ${smallWire} B on the wire for ${raw} B: context taken over?`);
  return (
    `offered '${offered}', the 101 answered '${accepted}'; a 4 KiB random block x 4 came back as ${farWire} B read ` +
    `(no repeat found in a 1 KiB window; ws inflates with 10 bits), ${small.length} small messages echoed equal as ` +
    `${smallWire} B read for ${raw} B of payload (no context takeover: ${Math.round((100 * smallWire) / raw)}%)`
  );
}

async function rowDeflateDeclined() {
  check(noDeflateUrl, 'no --no-deflate-url (the server started with --no-deflate) given');
  const unit = 'é€😀';
  const text = unit.repeat(Math.floor(MIB / Buffer.byteLength(unit)));
  const ws = await connect(noDeflateUrl, deflateOptions());
  const { offered, accepted } = ws;
  const negotiatedNames = ws.extensions;
  check(offered && String(offered).includes('permessage-deflate'), `ws did not offer permessage-deflate (${offered})`);
  check(accepted === undefined && negotiatedNames === '', `the --no-deflate server answered '${accepted}' (ws.extensions '${negotiatedNames}')`);
  await echoOne(ws, text, false);
  await echoOne(ws, compressibleBytes(MIB), true);
  await echoOne(ws, crypto.randomBytes(65536), true);
  await closeNormally(ws);
  return `offered '${offered}' to the --no-deflate server: no Sec-WebSocket-Extensions in the 101, ws.extensions ''; ${Buffer.byteLength(text)} B of text, 1 MiB and 64 KiB of binary echoed equal`;
}

const ROWS = {
  subprotocol: rowSubprotocol,
  'text-ascii': rowTextAscii,
  'text-split-codepoints': rowTextSplit,
  'binary-sizes': rowBinarySizes,
  fragmented: rowFragmented,
  '16mib-send-before-read': row16mib,
  'deflate-accepted': rowDeflateAccepted,
  'deflate-fragmented': rowDeflateFragmented,
  'deflate-small-messages': rowDeflateSmall,
  'deflate-params': rowDeflateParams,
  'deflate-declined': rowDeflateDeclined,
  'text-nonascii': rowText,
  'small-messages': rowSmall,
  'ping-pong': rowPing,
  'close-code': rowClose,
  concurrent: rowConcurrent,
};

async function main(argv) {
  const at = argv.indexOf('--no-deflate-url');
  if (at >= 0) {
    noDeflateUrl = argv[at + 1];
    argv = argv.slice(0, at).concat(argv.slice(at + 2));
  }
  if (argv.length < 2 || (at >= 0 && !noDeflateUrl)) {
    console.error('usage: node node_client.js [--no-deflate-url URL2] URL SERVER_NAME [ROW ...]');
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
