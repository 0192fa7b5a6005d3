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
  /** Shared mode: this server's label (shown next to its people); undefined otherwise. */
  label?: string;
}

/** Shared mode: every demo server on the same backplane (Redis) is one chat. */
export interface DemoSharedOptions {
  /** The TopicHub class (for the presence topic). */
  TopicHub: new (options: any) => any;
  /** A new backplane connection (called twice: the chat room and presence). */
  createBackplane(options: { historySize: number }): any;
  /** Label of this server; default host:port. */
  name?: string;
}

export interface DemoOptions {
  /** A ws-compatible server class that also understands sockwave's `verify` hook. */
  WebSocketServer: new (options: any) => any;
  port?: number;
  host?: string;
  deflate?: boolean;
  log?: (line: string) => void;
  shared?: DemoSharedOptions;
}

export function startDemoServer(options: DemoOptions): Promise<DemoServer>;
export function cleanName(raw: unknown, fallback: string, maxChars?: number): string;
