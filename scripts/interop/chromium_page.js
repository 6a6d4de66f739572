// Interop peer: the browser's WebSocket (headless Chromium) against a wspc echo server.
//
// Loaded by chromium_page.html; the query string says what to do:
//   ws       the server's URL (ws://127.0.0.1:PORT/), which accepts permessage-deflate
//   wsplain  the URL of the same server started with --no-deflate, for the row deflate-declined
//   side     the server's name, printed in each row
//   rows     comma-separated rows to run (all by default)
//   run      the ID of the /hold frame that keeps the page's load event back (see
//            chromium_page_server.py)
//   timeout  bound for each row, seconds (default 60)
//   budget   bound for all rows together, seconds (default 40); rows that would start after it
//            fail without running
// Each row runs on its own connection(s), whose URLs carry `?row=<row>` so that interop.sh can
// find them in Chromium's net log (scripts/interop/netlog_ws.py), and adds a line to #verdict:
//   PASS|FAIL <side> chromium <row> (<detail>)
// When all rows are done, #state says "done in N s" and the page asks the server to release the
// hold: the load event fires and `chromium --dump-dom` prints the DOM with the verdict in it.
//
// Compression: Chromium offers `permessage-deflate; client_max_window_bits` on every connection
// (a page cannot turn it off), and the wspc server at `ws` accepts it, so every row but
// deflate-declined runs compressed. What the page sees of it is ws.extensions; the frames' RSV1
// bits are checked in the net log by interop.sh.
//
// Not here, because the WebSocket API cannot express them: pings (a page can neither send a ping
// nor see a pong; Chromium answers the server's pings by itself) and fragmentation (the page hands
// over whole messages; how Chromium frames them is its own business).
'use strict';

(() => {
  const PEER = 'chromium';
  const MIB = 1 << 20;
  const query = new URLSearchParams(location.search);
  const WS_URL = query.get('ws');
  const WS_PLAIN_URL = query.get('wsplain');
  const SIDE = query.get('side') || 'unknown-server';
  const RUN = query.get('run') || 'default';
  const ROW_TIMEOUT = Number(query.get('timeout') || 60) * 1000;
  const BUDGET = Number(query.get('budget') || 40) * 1000;
  const t0 = performance.now();

  const $ = (id) => document.getElementById(id);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    fetch(`/release?run=${encodeURIComponent(RUN)}`, { cache: 'no-store' }).catch(() => {});
  };

  // Keep the load event back until the rows are done: a frame inserted while the document is
  // still loading delays the load event until the frame itself has loaded.
  const hold = document.createElement('iframe');
  hold.src = `/hold?run=${encodeURIComponent(RUN)}`;
  hold.hidden = true;
  document.body.appendChild(hold);

  class Fail extends Error {}
  const check = (cond, detail) => {
    if (!cond) throw new Fail(detail);
  };

  // Every socket a row opened, closed if the row fails.
  let open = [];
  // The row running: its connections' URLs carry it.
  let currentRow = '';
  const tagged = (base) => `${base}${base.includes('?') ? '&' : '?'}row=${encodeURIComponent(currentRow)}`;

  // Connect to `base` (the deflating server by default); resolves on 'open' with the WebSocket,
  // which gets `next()` (the next message, in order: a string or an ArrayBuffer) and `closed` (a
  // promise of { code, reason, wasClean }).
  function connect(protocols, base = WS_URL) {
    return new Promise((resolve, reject) => {
      const url = tagged(base);
      const ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
      ws.binaryType = 'arraybuffer';
      open.push(ws);
      const inbox = [];
      const waiters = [];
      let ended = null;
      ws.closed = new Promise((res) => {
        ws.onclose = (e) => {
          ended = new Fail(`connection closed (code ${e.code}, wasClean ${e.wasClean})`);
          waiters.splice(0).forEach((w) => w.reject(ended));
          reject(ended); // before 'open': the connection failed (a no-op after)
          res({ code: e.code, reason: e.reason, wasClean: e.wasClean });
        };
      });
      // 'error' carries no detail and is always followed by 'close'.
      ws.onerror = () => {};
      ws.onmessage = (e) => {
        if (waiters.length) waiters.shift().resolve(e.data);
        else inbox.push(e.data);
      };
      ws.onopen = () => resolve(ws);
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
    const c = await ws.closed;
    check(c.code === 1000 && c.wasClean, `closing with 1000: onclose code ${c.code}, wasClean ${c.wasClean}`);
    return c;
  }

  const utf8 = new TextEncoder();
  const describe = (m) => (typeof m === 'string' ? `text of ${utf8.encode(m).length} B` : `binary of ${m.byteLength} B`);

  // n random bytes (getRandomValues fills at most 64 KiB per call).
  function randomBytes(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
    return out;
  }

  // The first index where two byte arrays differ, or -1 if they are equal.
  function firstDifference(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
    return a.length === b.length ? -1 : n;
  }

  // Send one message and check that its echo is equal and of the same type.
  async function echoOne(ws, message) {
    ws.send(message);
    const echo = await ws.next();
    if (typeof message === 'string') {
      check(typeof echo === 'string', `sent ${describe(message)}, got ${describe(echo)}`);
      check(echo === message, `text echo differs (${describe(echo)}, sent ${describe(message)})`);
    } else {
      check(echo instanceof ArrayBuffer, `sent ${describe(message)}, got ${describe(echo)}`);
      const at = firstDifference(new Uint8Array(echo), message);
      check(at < 0, `binary echo differs from byte ${at} (got ${echo.byteLength} B, sent ${message.byteLength} B)`);
    }
    return echo;
  }

  // ----- the rows ------------------------------------------------------------------------------

  async function rowSubprotocol() {
    // interop.sh runs the echo servers with `--subprotocol chat`: they speak 'chat' and select it
    // when it is offered, alone or after one they do not speak. An offer of only 'nope' gets no
    // Sec-WebSocket-Protocol in the answer (RFC 6455 allows it), and Chromium fails a handshake
    // whose offer got no answer, so that connection must end before 'open' (1006); interop.sh
    // finds Chromium's reason in its net log. Without an offer ws.protocol is ''.
    const selected = [];
    for (const offer of [['chat'], ['nope', 'chat']]) {
      const ws = await connect(offer);
      const protocol = ws.protocol;
      await echoOne(ws, `offered ${offer.join(',')}`);
      await closeNormally(ws);
      check(protocol === 'chat', `offered ${JSON.stringify(offer)}: ws.protocol '${protocol}', expected 'chat'`);
      selected.push(`${JSON.stringify(offer)}: '${protocol}'`);
    }
    let refused = null;
    try {
      const ws = await connect(['nope']);
      const protocol = ws.protocol;
      await closeNormally(ws);
      throw new Fail(`offered ['nope']: the connection opened with ws.protocol '${protocol}'; the server should select none`);
    } catch (e) {
      if (!(e instanceof Fail) || !e.message.startsWith('connection closed')) throw e;
      refused = e.message;
    }
    const ws = await connect();
    const protocol = ws.protocol;
    await echoOne(ws, 'no subprotocol offered');
    await closeNormally(ws);
    check(protocol === '', `without an offer: ws.protocol '${protocol}', expected ''`);
    return `offered ${selected.join(', ')}, text echoed, closed 1000; offered ['nope']: the server selected none and Chromium failed the handshake before open, ${refused}; without an offer: ws.protocol '', text echoed`;
  }

  async function rowTextAscii() {
    // All 128 ASCII code points, NUL and DEL included, 512 times over: 64 KiB.
    let unit = '';
    for (let c = 0; c < 128; c++) unit += String.fromCharCode(c);
    const text = unit.repeat(512);
    const ws = await connect();
    await echoOne(ws, text);
    await closeNormally(ws);
    return `${text.length} chars (U+0000-U+007F x 512) echoed equal`;
  }

  async function rowTextNonAscii() {
    // The edges of each UTF-8 length (U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFD, U+FFFF,
    // U+10000, U+10FFFF) and everyday letters and emoji, astral ones included, to about 1 MiB.
    const unit = '\u0080\u07ff\u0800\ud7ff\ue000\ufffd\uffff\u{10000}\u{10ffff}é€中😀🎉𝄞👍🏽';
    const text = unit.repeat(Math.floor(MIB / utf8.encode(unit).length));
    const points = [...text];
    const astral = points.filter((p) => p.codePointAt(0) > 0xffff).length;
    const ws = await connect();
    await echoOne(ws, text);
    await closeNormally(ws);
    return `${utf8.encode(text).length} B of UTF-8 (${points.length} code points, ${astral} astral) echoed equal`;
  }

  const binaryRow = (size) => async () => {
    const payload = randomBytes(size);
    const ws = await connect();
    const start = performance.now();
    await echoOne(ws, payload);
    const dt = (performance.now() - start) / 1000;
    await closeNormally(ws);
    return `${size} B echoed equal (ArrayBuffer compare), ${dt.toFixed(2)} s`;
  };

  // n messages, alternating text and binary, of 0..maxLen bytes (every 50th empty).
  function smallMessages(n, maxLen) {
    const alphabet = [...'abcdefghijklmnopqrstuvwxyzé€😀 '];
    const out = [];
    for (let i = 0; i < n; i++) {
      const size = i % 50 === 0 ? 0 : Math.floor(Math.random() * (maxLen + 1));
      if (i % 2) {
        out.push(randomBytes(size));
      } else {
        let s = '';
        for (;;) {
          const c = alphabet[Math.floor(Math.random() * alphabet.length)];
          if (utf8.encode(s + c).length > size) break;
          s += c;
        }
        out.push(s);
      }
    }
    return out;
  }

  async function rowSmall() {
    const messages = smallMessages(1000, 125);
    const ws = await connect();
    // Pipelined: everything is sent before the first echo is awaited.
    for (const m of messages) ws.send(m);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const e = await ws.next();
      const same =
        typeof m === 'string' ? e === m : e instanceof ArrayBuffer && firstDifference(new Uint8Array(e), m) < 0;
      check(same, `message ${i}: sent ${describe(m)}, got ${describe(e)}`);
    }
    await closeNormally(ws);
    const texts = messages.filter((m) => typeof m === 'string').length;
    const empty = messages.filter((m) => (typeof m === 'string' ? m.length : m.byteLength) === 0).length;
    return `${messages.length} messages (${texts} text, ${messages.length - texts} binary, ${empty} empty) echoed equal, in order`;
  }

  async function rowClose() {
    const ws = await connect();
    await echoOne(ws, 'before close');
    const reason = 'bye from chromium';
    ws.close(4001, reason);
    const c = await ws.closed;
    // onclose carries the code of the close frame the server sent back (1006 if none came).
    check(c.code === 4001 && c.reason === reason, `sent 4001 '${reason}', onclose code ${c.code} reason '${c.reason}'; want both echoed`);
    check(c.wasClean, `onclose code ${c.code} but wasClean false`);
    return `sent 4001 '${reason}'; onclose code ${c.code}, reason '${c.reason}', wasClean true`;
  }

  // 1 MiB of text that compresses well: the edges of each UTF-8 length and emoji, repeated.
  function compressibleText() {
    const unit = 'permessage-deflate: \u0080\u07ff\u0800\uffff\u{10000}\u{10ffff} é€中😀; ';
    return unit.repeat(Math.floor(MIB / utf8.encode(unit).length));
  }

  // n bytes that compress well: numbered lines of one sentence.
  function compressibleBytes(n) {
    let s = '';
    for (let i = 0; s.length < n; i++) s += `line ${String(i).padStart(7, '0')}: the quick brown fox jumps over the lazy dog\n`;
    return utf8.encode(s).subarray(0, n);
  }

  async function rowDeflate() {
    // Chromium offers `permessage-deflate; client_max_window_bits` on every connection and the
    // server accepts it; the page sees only what was agreed (ws.extensions). interop.sh checks
    // in the net log that the offer was made and that the server's messages came compressed.
    const ws = await connect();
    const extensions = ws.extensions;
    check(/permessage-deflate/.test(extensions), `ws.extensions '${extensions}': the server did not accept permessage-deflate`);
    const text = compressibleText();
    await echoOne(ws, text);
    await echoOne(ws, compressibleBytes(MIB));
    await echoOne(ws, randomBytes(MIB));
    await closeNormally(ws);
    return `ws.extensions '${extensions}'; on one connection ${utf8.encode(text).length} B of UTF-8 text, 1 MiB of compressible binary and 1 MiB of random binary echoed equal`;
  }

  async function rowDeflateDeclined() {
    // The same server started with --no-deflate declines Chromium's offer: no extension, and
    // data still echoes (interop.sh checks in the net log that no frame had RSV1).
    check(WS_PLAIN_URL, 'no wsplain= (the --no-deflate server) in the query');
    const ws = await connect(undefined, WS_PLAIN_URL);
    const extensions = ws.extensions;
    check(extensions === '', `ws.extensions '${extensions}': the --no-deflate server accepted an extension`);
    const text = compressibleText();
    await echoOne(ws, text);
    await echoOne(ws, compressibleBytes(MIB));
    await closeNormally(ws);
    return `against the --no-deflate server: ws.extensions '' (declined); ${utf8.encode(text).length} B of UTF-8 text and 1 MiB of binary echoed equal`;
  }

  const ROWS = {
    'subprotocol-offered': rowSubprotocol,
    'text-ascii': rowTextAscii,
    'text-nonascii': rowTextNonAscii,
    'binary-0': binaryRow(0),
    'binary-1': binaryRow(1),
    'binary-125': binaryRow(125),
    'binary-126': binaryRow(126),
    'binary-65535': binaryRow(65535),
    'binary-65536': binaryRow(65536),
    'binary-1mib': binaryRow(MIB),
    'binary-16mib': binaryRow(16 * MIB),
    'small-messages': rowSmall,
    'close-code': rowClose,
    'deflate-offered': rowDeflate,
    'deflate-declined': rowDeflateDeclined,
  };

  // ----- the runner ----------------------------------------------------------------------------

  function report(verdict, name, detail) {
    $('verdict').textContent += `${verdict} ${SIDE} ${PEER} ${name} (${detail})\n`;
  }

  async function main() {
    const wanted = (query.get('rows') || '').split(',').filter(Boolean);
    const names = wanted.length ? wanted : Object.keys(ROWS);
    for (const name of names) {
      const left = BUDGET - (performance.now() - t0);
      if (!ROWS[name]) {
        report('FAIL', name, 'no such row in chromium_page.js');
        continue;
      }
      if (!WS_URL || left <= 0) {
        report('FAIL', name, WS_URL ? `not run: the page's budget of ${BUDGET / 1000} s ran out` : 'no ws= in the query');
        continue;
      }
      open = [];
      currentRow = name;
      const bound = Math.min(ROW_TIMEOUT, left);
      let timer;
      const timeout = new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Fail(`timed out after ${(bound / 1000).toFixed(1)} s`)), bound);
      });
      try {
        report('PASS', name, await Promise.race([ROWS[name](), timeout]));
      } catch (e) {
        report('FAIL', name, e instanceof Fail ? e.message : `${e.name}: ${e.message}`);
        open.forEach((ws) => ws.close());
      } finally {
        clearTimeout(timer);
      }
    }
    $('state').textContent = `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  }

  main().then(release, (e) => window.pageError(`runner: ${e}`));
})();
