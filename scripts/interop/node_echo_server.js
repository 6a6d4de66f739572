// Interop peer server: a Node `ws` echo server for the wspc clients.
//
//   NODE_PATH=<dir with ws> node node_echo_server.js [--deflate] [HOST] [PORT]   (default 127.0.0.1 0: a free port)
//
// Prints `echo server listening on ws://HOST:PORT` once listening, then echoes every text and
// binary message with its type (ws answers pings and closes itself) until killed. It speaks the
// subprotocol `chat`: selected when the client offers it, otherwise no Sec-WebSocket-Protocol in
// the answer (ws's own default would select whatever the client offered first).
//
// Compression: none by default (perMessageDeflate: false: an offer of permessage-deflate is
// declined). With --deflate, ws's permessage-deflate with its default negotiation (it accepts
// the client's offer as made) and a threshold of 0 instead of 1024 B, so that every message it
// echoes goes out compressed, the small ones included.
'use strict';

const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const deflate = args.includes('--deflate');
const [host = '127.0.0.1', port = '0'] = args.filter((a) => a !== '--deflate');
const wss = new WebSocketServer({
  host,
  port: Number(port),
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 0,
  handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
});

wss.on('listening', () => {
  const a = wss.address();
  console.log(`echo server listening on ws://${a.address}:${a.port} (${deflate ? 'accepting permessage-deflate' : 'without compression'})`);
});
wss.on('connection', (ws, req) => {
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (e) => console.log(`${peer}: error ${e.message}`));
  ws.on('close', (code, reason) => console.log(`${peer}: closed ${code} ${reason}`));
});
