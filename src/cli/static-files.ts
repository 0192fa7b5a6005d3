/**
 * A minimal static file handler for `sockwave listen --static DIR`: GET and
 * HEAD only, no directory listings, and no path can escape DIR (the resolved
 * path must stay inside it, so `..` and encoded slashes are refused).
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Returns a request handler serving files under `root`; `index.html` answers for a directory. */
export function createStaticHandler(root: string): (req: IncomingMessage, res: ServerResponse) => void {
  const base = resolve(root);
  return (req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        reply(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
        return;
      }
      let pathname: string;
      try {
        pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      } catch {
        reply(res, 400, 'bad request\n');
        return;
      }
      let file = resolve(join(base, pathname));
      if (pathname.includes('\0') || (file !== base && !file.startsWith(base + sep))) {
        reply(res, 404, 'not found\n');
        return;
      }
      try {
        let info = await fs.stat(file);
        if (info.isDirectory()) {
          file = join(file, 'index.html');
          info = await fs.stat(file);
        }
        if (!info.isFile()) throw new Error('not a file');
        res.writeHead(200, {
          'Content-Type': contentTypeFor(file),
          'Content-Length': info.size,
          'Cache-Control': 'no-cache',
          'X-Content-Type-Options': 'nosniff',
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).on('error', () => res.destroy()).pipe(res);
      } catch {
        reply(res, 404, 'not found\n');
      }
    })();
  };
}
