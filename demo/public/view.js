// The demo page's view: DOM helpers that draw the conversation, the file
// cards and the online list. No connection state lives here (app.js owns it).

export const $ = (id) => document.getElementById(id);

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// ---- rendering -----------------------------------------------------------

export function addEntry(kind, node) {
  const list = $('messages');
  const isAtBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const li = el('li', { className: `entry ${kind}` }, node);
  list.append(li);
  if (isAtBottom || kind === 'mine') list.scrollTop = list.scrollHeight;
  return li;
}

export function addSystem(text) {
  return addEntry('system', el('span', { textContent: text }));
}

/** With REDIS_URL the chat spans several servers: a small label says which one a person is on. */
export function serverTag(server) {
  return server ? el('span', { className: 'server', textContent: server, title: `connected to server ${server}` }) : null;
}

export function addText({ mine, from, text, at }) {
  const meta = el('div', { className: 'meta' }, mine ? 'You' : from.name, mine ? null : serverTag(from.server), el('time', { textContent: ` · ${formatTime(at)}` }));
  return addEntry(mine ? 'mine' : 'theirs', el('div', { className: 'bubble' }, meta, el('p', { className: 'text', textContent: text })));
}

/** A file row with a progress bar; returns handles to update it. */
export function addFile({ mine, from, name, size, id }) {
  const progress = el('progress', { max: 1, value: 0 });
  const detail = el('span', { className: 'detail', textContent: mine ? 'sending…' : 'receiving…' });
  const title = el('div', { className: 'file-name', textContent: name });
  const meta = el('div', { className: 'meta' }, mine ? 'You' : from.name, ` · ${formatBytes(size)}`);
  const card = el('div', { className: 'bubble file' }, meta, title, progress, detail);
  const li = addEntry(mine ? 'mine' : 'theirs', card);
  li.dataset.fileId = id;
  return {
    progress: (fraction) => {
      progress.value = Math.max(0, Math.min(1, fraction));
      detail.textContent = `${mine ? 'sending' : 'receiving'} ${Math.floor(progress.value * 100)}%`;
    },
    done: (blob, hash) => {
      progress.remove();
      const link = el('a', { href: URL.createObjectURL(blob), download: name, textContent: 'Download', className: 'download' });
      detail.replaceChildren(link, hash ? el('code', { className: 'hash', title: `SHA-256 ${hash}`, textContent: ` sha256 ${hash.slice(0, 12)}…` }) : '');
      li.dataset.state = 'done';
    },
    fail: (why) => {
      progress.remove();
      detail.textContent = why;
      detail.classList.add('error');
      li.dataset.state = 'failed';
    },
  };
}

/** The online list; `myId` marks the reader's own entry. */
export function renderPeers(peers, myId) {
  $('peer-count').textContent = String(peers.length);
  $('peers').replaceChildren(
    ...peers.map((p) =>
      el(
        'li',
        { className: p.id === myId ? 'me' : '' },
        el('span', { className: 'avatar', textContent: (p.name[0] || '?').toUpperCase(), ariaHidden: 'true' }),
        el('span', { className: 'name', textContent: p.name }),
        p.id === myId ? el('span', { className: 'you', textContent: '(you)' }) : null,
        serverTag(p.server),
      ),
    ),
  );
}

export function describeClose(event) {
  const parts = [String(event.code)];
  if (event.reason) parts.push(event.reason);
  parts.push(event.wasClean ? 'clean' : 'not clean');
  return parts.join(' · ');
}
