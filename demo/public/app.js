// sockwave demo page: one WebSocket to /ws, a chat room with presence and
// file transfer. Plain browser JavaScript, no build step. The wire protocol
// is described in demo/demo-server.mjs and docs/demo.md.

import { $, addFile, addSystem, addText, describeClose, el, formatBytes, renderPeers } from './view.js';

const CHUNK_BYTES = 256 * 1024;
/** Stop queueing chunks while this much is still buffered, so the tab's memory stays bounded. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const STATE_NAMES = ['connecting', 'open', 'closing', 'closed'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let ws;
let myId = '';
/** The code and reason the user chose, to show next to what the server answered. */
let closeRequest = null;
/** The name the server gave us when none was chosen, reused on reconnect. */
let assignedName = '';
/** Files being received, by transfer id. */
const incoming = new Map();

/** Hooks for the browser tests (and curious people in the console). */
const demo = {
  /** Completed received files: id -> { name, size, blob, from, sha256 }. */
  files: new Map(),
  /** Every state shown, in order, e.g. ['connecting', 'open', 'closing', 'closed'] (for tests). */
  states: [],
  get socket() {
    return ws;
  },
  async sha256(blob) {
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  },
};
window.demo = demo;

function makeId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context (a phone on http://192.168...).
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function setStatus(state, detail = '') {
  const status = $('status');
  if (status.dataset.state !== state || demo.states.length === 0) demo.states.push(state);
  status.dataset.state = state;
  $('status-text').textContent = detail ? `${state} · ${detail}` : state;
  // On a phone the pill is truncated; the full text stays reachable.
  $('status').title = $('status-text').textContent;
  $('fact-state').textContent = detail ? `${state} (${detail})` : state;
  const isOpen = state === 'open';
  for (const id of ['send', 'text', 'file', 'close']) $(id).disabled = !isOpen;
  document.body.dataset.state = state;
}

// ---- connection ----------------------------------------------------------

function endpoint() {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const name = $('name').value.trim() || assignedName;
  if (name) url.searchParams.set('name', name);
  return url;
}

function connect() {
  const socket = new WebSocket(endpoint());
  ws = socket;
  // Chunks arrive as ArrayBuffers so the header can be read synchronously (Blob needs an await).
  socket.binaryType = 'arraybuffer';
  setStatus('connecting');
  $('fact-url').textContent = socket.url;
  $('fact-extensions').textContent = '–';

  socket.addEventListener('open', () => {
    if (ws !== socket) return;
    setStatus('open');
    for (const button of document.querySelectorAll('.inline-action')) button.remove();
    $('fact-extensions').textContent = socket.extensions || 'none';
    $('text').focus();
  });
  socket.addEventListener('message', (event) => {
    if (typeof event.data === 'string') onJson(JSON.parse(event.data));
    else onChunk(event.data);
  });
  socket.addEventListener('error', () => {
    if (ws === socket) addSystem('connection error (see the close code below)');
  });
  socket.addEventListener('close', (event) => {
    for (const [id, file] of incoming) {
      file.view.fail('interrupted');
      incoming.delete(id);
    }
    if (ws !== socket) return;
    const text = describeClose(event);
    let entry;
    if (closeRequest) {
      const asked = `${closeRequest.code}${closeRequest.reason ? ` · ${closeRequest.reason}` : ''}`;
      // The pill shows what this tab typed, not only the server's echo (which may drop the reason).
      setStatus('closed', `you: ${asked} · server: ${text}`);
      entry = addSystem(`you closed with ${asked}; the server answered ${text}`);
      closeRequest = null;
    } else {
      setStatus('closed', text);
      entry = addSystem(`connection closed: ${text}`);
    }
    // Reconnect right where the news is (on a phone the Connection panel is far below).
    const again = el('button', { type: 'button', className: 'inline-action', textContent: 'Reconnect' });
    again.addEventListener('click', () => $('reconnect').click());
    entry.firstChild.after(again);
    renderPeers([], myId);
  });
}

function sendJson(value) {
  ws.send(JSON.stringify(value));
}

function onJson(message) {
  switch (message.type) {
    case 'welcome':
      myId = message.id;
      assignedName = message.name;
      if (!$('name').value) $('name').placeholder = message.name;
      $('fact-server').textContent = message.server ?? 'this one only (no Redis)';
      addSystem(`you joined as ${message.name}${message.server ? ` on ${message.server}` : ''}`);
      renderPeers(message.peers, myId);
      return;
    case 'presence':
      renderPeers(message.peers, myId);
      return;
    case 'system':
      addSystem(message.text);
      return;
    case 'left':
      addSystem(`${message.peer.name} left · ${message.code}${message.reason ? ` · ${message.reason}` : ''}`).dataset.closeCode = String(message.code);
      return;
    case 'text':
      addText({ mine: false, from: message.from, text: message.text, at: message.at });
      return;
    case 'file-start':
      incoming.set(message.id, {
        meta: message,
        chunks: [],
        received: 0,
        view: addFile({ mine: false, from: message.from, name: message.name, size: message.size, id: message.id }),
      });
      return;
    case 'file-end':
      void finishIncoming(message.id);
      return;
    case 'error':
      addSystem(`server: ${message.text}`);
      return;
  }
}

function onChunk(buffer) {
  const view = new DataView(buffer);
  const headerLength = view.getUint16(0);
  const header = JSON.parse(decoder.decode(new Uint8Array(buffer, 2, headerLength)));
  const file = incoming.get(header.id);
  if (!file) return;
  const bytes = new Uint8Array(buffer, 2 + headerLength);
  if (header.offset !== file.received) {
    file.view.fail('chunk out of order');
    incoming.delete(header.id);
    return;
  }
  file.chunks.push(bytes);
  file.received += bytes.byteLength;
  file.view.progress(file.meta.size ? file.received / file.meta.size : 1);
}

async function finishIncoming(id) {
  const file = incoming.get(id);
  if (!file) return;
  incoming.delete(id);
  if (file.received !== file.meta.size) {
    file.view.fail(`incomplete: ${formatBytes(file.received)} of ${formatBytes(file.meta.size)}`);
    return;
  }
  const blob = new Blob(file.chunks, { type: file.meta.mime || 'application/octet-stream' });
  const hash = globalThis.crypto?.subtle ? await demo.sha256(blob) : '';
  demo.files.set(id, { name: file.meta.name, size: blob.size, blob, from: file.meta.from, sha256: hash });
  file.view.done(blob, hash);
}

// ---- sending files -------------------------------------------------------

let sendQueue = Promise.resolve();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function sendFile(file) {
  const socket = ws;
  const id = makeId();
  const view = addFile({ mine: true, name: file.name, size: file.size, id });
  sendJson({ type: 'file-start', id, name: file.name, size: file.size, mime: file.type });
  let queued = 0; // bytes handed to send() (frames incl. headers)
  let total = 0; // expected frame bytes, known once the last chunk is queued
  const progress = () => {
    const sent = queued - socket.bufferedAmount;
    const estimate = total || file.size + Math.ceil(file.size / CHUNK_BYTES) * 64;
    view.progress(sent / estimate);
    $('fact-buffered').textContent = formatBytes(socket.bufferedAmount);
  };
  for (let offset = 0; offset < file.size || (offset === 0 && file.size === 0); offset += CHUNK_BYTES) {
    while (socket.bufferedAmount > HIGH_WATER_BYTES && socket.readyState === WebSocket.OPEN) {
      await sleep(20);
      progress();
    }
    if (socket.readyState !== WebSocket.OPEN) {
      view.fail('connection closed while sending');
      return;
    }
    if (file.size === 0) break;
    const body = new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
    const header = encoder.encode(JSON.stringify({ id, offset }));
    const frame = new Uint8Array(2 + header.length + body.length);
    new DataView(frame.buffer).setUint16(0, header.length);
    frame.set(header, 2);
    frame.set(body, 2 + header.length);
    socket.send(frame);
    queued += frame.length;
    progress();
  }
  total = queued;
  sendJson({ type: 'file-end', id });
  while (socket.bufferedAmount > 0 && socket.readyState === WebSocket.OPEN) {
    await sleep(20);
    progress();
  }
  if (socket.readyState !== WebSocket.OPEN) {
    view.fail('connection closed while sending');
    return;
  }
  $('fact-buffered').textContent = '0 B';
  view.done(file, '');
}

// ---- wiring --------------------------------------------------------------

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value;
  if (!text.trim() || ws.readyState !== WebSocket.OPEN) return;
  sendJson({ type: 'text', text });
  addText({ mine: true, text, at: Date.now() });
  $('text').value = '';
});

function queueFiles(files) {
  for (const file of files) sendQueue = sendQueue.then(() => sendFile(file)).catch((e) => addSystem(`file failed: ${e.message}`));
}

$('file').addEventListener('change', () => {
  const files = [...$('file').files];
  $('file').value = '';
  queueFiles(files);
});

// Files can also be dropped onto the conversation.
const chat = document.querySelector('.chat');
chat.addEventListener('dragover', (event) => {
  if (ws?.readyState !== WebSocket.OPEN || !event.dataTransfer?.types.includes('Files')) return;
  event.preventDefault();
  chat.classList.add('dropping');
});
chat.addEventListener('dragleave', () => chat.classList.remove('dropping'));
chat.addEventListener('drop', (event) => {
  event.preventDefault();
  chat.classList.remove('dropping');
  if (ws?.readyState === WebSocket.OPEN) queueFiles([...event.dataTransfer.files]);
});

$('name-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  // Per tab (sessionStorage): a second tab starts as its own guest instead of
  // joining under this tab's name (issue #12); a reload keeps the name.
  sessionStorage.setItem('sockwave-demo-name', name);
  if (ws?.readyState === WebSocket.OPEN) sendJson({ type: 'hello', name });
});

$('close-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const error = $('close-error');
  error.hidden = true;
  try {
    // The browser enforces the rules (1000 or 3000-4999, reason <= 123 bytes) with a DOMException.
    const code = Number($('close-code').value);
    const reason = $('close-reason').value;
    ws.close(code, reason);
    closeRequest = { code, reason };
    setStatus('closing', reason ? `${code} · ${reason}` : String(code));
  } catch (e) {
    error.textContent = `${e.name}: ${e.message}`;
    error.hidden = false;
  }
});

$('reconnect').addEventListener('click', () => {
  $('close-error').hidden = true;
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'reconnecting');
  addSystem('reconnecting…');
  connect();
});

setInterval(() => {
  if (ws) $('fact-buffered').textContent = formatBytes(ws.bufferedAmount);
  if (ws && document.body.dataset.state !== STATE_NAMES[ws.readyState] && ws.readyState === WebSocket.CLOSING) setStatus('closing');
}, 500);

$('name').value = sessionStorage.getItem('sockwave-demo-name') ?? '';
connect();
