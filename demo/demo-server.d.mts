// Types for demo/demo-server.mjs, so TypeScript tests can import it.
import type { Server } from 'node:http';

export interface DemoEvent {
  type: 'join' | 'close';
  id: string;
  name: string;
  code?: number;
  reason?: string;
}

export interface DemoServer {
  /** http://localhost:PORT/ */
  url: string;
  port: number;
  server: Server;
  wss: unknown;
  /** What the server saw: joins, and closes with their code and reason. */
  events: DemoEvent[];
  /** Closes every client with 1001, then the servers. */
  close(): Promise<void>;
}

export interface DemoOptions {
  /** A ws-compatible server class that also understands sockwave's `verify` hook. */
  WebSocketServer: new (options: any) => any;
  port?: number;
  host?: string;
  deflate?: boolean;
  log?: (line: string) => void;
}

export function startDemoServer(options: DemoOptions): Promise<DemoServer>;
export function cleanName(raw: unknown, fallback: string, maxChars?: number): string;
