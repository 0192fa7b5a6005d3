/**
 * What the behaviour suite runs against: a "subject" (the implementation under
 * test: sockwave's server, connect() or WHATWG class; ws for the harness's own
 * self-check) paired with a "peer" (an implementation nobody here wrote, acting
 * as the echo bot of bot-protocol.ts), under one compression configuration.
 */
import { askInfo, type PeerInfo } from './bot-protocol.js';
import type { CloseInfo, Endpoint } from './endpoint.js';
import type { TlsMaterial } from './tls.js';

/** permessage-deflate parameters in ws/sockwave option names; `{}` = that side's defaults. */
export interface DeflateConfig {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number | boolean;
}

export interface InteropConfig {
  name: string;
  /** What the sockwave side is configured with (server options or client offer). */
  ours: DeflateConfig | false;
  /** What the peer is configured with; peers that cannot be configured skip configs that set it. */
  peer: DeflateConfig | false;
  /** The peer's configuration when sockwave is the client, when it differs from `peer`. */
  peerWhenSockwaveIsClient?: DeflateConfig | false;
  /** true/false: must (not) be negotiated; 'either': declining is fine, but messages must survive. */
  expectDeflate: boolean | 'either';
  /** Tokens the negotiated Sec-WebSocket-Extensions value must contain (on either side's report). */
  tokens?: string[];
}

export const PLAIN: InteropConfig = { name: 'no compression', ours: false, peer: false, expectDeflate: false };
export const DEFLATE_CONFIGS: InteropConfig[] = [
  { name: 'deflate defaults', ours: {}, peer: {}, expectDeflate: true },
  {
    name: 'deflate, sockwave asks no context takeover',
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    peer: {},
    expectDeflate: true,
    tokens: ['server_no_context_takeover'],
  },
  {
    name: 'deflate, sockwave asks window bits 10',
    ours: { serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    peer: {},
    expectDeflate: true,
    tokens: ['server_max_window_bits=10'],
  },
  {
    name: 'deflate, peer asks window bits 9 and no context takeover',
    ours: {},
    peer: { serverMaxWindowBits: 9, clientMaxWindowBits: 9, serverNoContextTakeover: true, clientNoContextTakeover: true },
    expectDeflate: true,
    tokens: ['server_max_window_bits=9', 'server_no_context_takeover'],
  },
  {
    // RFC 7692 §7.1.2.1 allows 8, but zlib cannot deflate with a raw window of 8:
    // declining, or compressing within 256 bytes, are both correct; corrupt data is not.
    // The peer limits only the window sockwave compresses with (python-websockets
    // itself cannot compress with 8: its zlib raises "Invalid initialization option").
    name: "deflate, peer limits sockwave's compression window to 8 bits",
    ours: {},
    peer: { serverMaxWindowBits: 8 },
    peerWhenSockwaveIsClient: { clientMaxWindowBits: 8 },
    expectDeflate: 'either',
  },
];

export interface OpenOptions {
  protocols: string[];
}

/** A live connection: the subject's end, the peer's view of the handshake and of the close. */
export interface Pair {
  subject: Endpoint;
  info: PeerInfo;
  peerClosed: Promise<CloseInfo>;
  dispose(): Promise<void>;
}

export interface Target {
  peer: string;
  /** e.g. "ws client -> sockwave server". */
  direction: string;
  /** The role of the subject. */
  role: 'server' | 'client';
  config: InteropConfig;
  peerCanFragment: boolean;
  peerCanPing: boolean;
  subjectCanFragment: boolean;
  subjectCanPing: boolean;
  /** Subject-side wire byte counters, when the subject can report them (sockwave server). */
  wireBytes?(): { bytesIn: number; bytesOut: number } | undefined;
  /** When set, every test of this target is skipped with this reason. */
  skip?: string;
  before(): Promise<void>;
  after(): Promise<void>;
  open(options: OpenOptions): Promise<Pair>;
}

/** Subprotocol preference used by every server (subject or peer): 'chat.v1' wins over 'chat.v2'. */
export const SERVER_PROTOCOLS = ['chat.v1', 'superchat'];
export const CLIENT_PROTOCOLS = ['chat.v2', 'chat.v1'];

export function chooseProtocol(offered: Iterable<string>): string | false {
  const set = new Set(offered);
  return SERVER_PROTOCOLS.find((p) => set.has(p)) ?? false;
}

// ---- peers --------------------------------------------------------------------------------

export interface PeerClient {
  name: string;
  canFragment: boolean;
  canPing: boolean;
  /** false: the peer's offer is fixed (browsers, undici); configs that set `peer` are skipped. */
  isConfigurable: boolean;
  canDisableDeflate: boolean;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** `tls`: trust this certificate for a wss:// url. */
  connect(url: string, o: { protocols: string[]; deflate: DeflateConfig | false; tls?: TlsMaterial }): Promise<PeerConnection>;
}

export interface PeerConnection {
  closed: Promise<CloseInfo>;
  dispose(): Promise<void>;
}

export interface PeerServer {
  name: string;
  canFragment: boolean;
  canPing: boolean;
  isConfigurable: boolean;
  /** `tls`: serve wss:// with this certificate. */
  start(o: { deflate: DeflateConfig | false; tls?: TlsMaterial }): Promise<RunningPeerServer>;
}

export interface RunningPeerServer {
  url: string;
  closed(id: number | string): Promise<CloseInfo>;
  stop(): Promise<void>;
}

// ---- subjects -----------------------------------------------------------------------------

export interface SubjectServer {
  name: string;
  /** Its running servers implement wireBytes(). */
  reportsWireBytes?: boolean;
  start(o: { deflate: DeflateConfig | false; tls?: TlsMaterial }): Promise<RunningSubjectServer>;
}

export interface RunningSubjectServer {
  url: string;
  /** Frame bytes read/written so far (sockwave's stats()), to see compression on the wire. */
  wireBytes?(): { bytesIn: number; bytesOut: number };
  nextConnection(): Promise<Endpoint>;
  stop(): Promise<void>;
}

export interface SubjectClient {
  name: string;
  /** WHATWG clients cannot ping or send fragments. */
  isWhatwg: boolean;
  canDisableDeflate: boolean;
  connect(url: string, o: { protocols: string[]; deflate: DeflateConfig | false; tls?: TlsMaterial }): Promise<Endpoint>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function configSkip(config: InteropConfig, isConfigurable: boolean, canDisable: boolean, name: string): string | undefined {
  if (!isConfigurable && config.peer !== false && Object.keys(config.peer).length > 0) {
    return `${name}'s permessage-deflate offer cannot be configured`;
  }
  if (!canDisable && config.peer === false && config.ours !== false) return `${name} cannot turn permessage-deflate off`;
  return undefined;
}

/** Subject server x peer client. */
export function serverTarget(subject: SubjectServer, peer: PeerClient, config: InteropConfig, tls?: TlsMaterial): Target {
  let running: RunningSubjectServer | undefined;
  return {
    peer: peer.name,
    direction: `${peer.name} -> ${subject.name}`,
    role: 'server',
    config,
    peerCanFragment: peer.canFragment,
    peerCanPing: peer.canPing,
    subjectCanFragment: true,
    subjectCanPing: true,
    skip: configSkip(config, peer.isConfigurable, peer.canDisableDeflate, peer.name),
    async before() {
      await peer.start?.();
      running = await subject.start({ deflate: config.ours, tls });
    },
    async after() {
      await running?.stop();
      await peer.stop?.();
    },
    wireBytes: subject.reportsWireBytes ? () => running?.wireBytes?.() : undefined,
    async open({ protocols }) {
      if (!running) throw new Error('target not started');
      const connection = running.nextConnection();
      const peerConnection = await withTimeout(
        peer.connect(running.url, { protocols, deflate: config.peer, tls }),
        10_000,
        `${peer.name} connecting`,
      );
      const subjectEnd = await withTimeout(connection, 10_000, `${subject.name} connection event`);
      const info = await askInfo(subjectEnd);
      return {
        subject: subjectEnd,
        info,
        peerClosed: peerConnection.closed,
        async dispose() {
          subjectEnd.terminate();
          await peerConnection.dispose();
        },
      };
    },
  };
}

/** Subject client x peer server. */
export function clientTarget(subject: SubjectClient, peer: PeerServer, config: InteropConfig, tls?: TlsMaterial): Target {
  let running: RunningPeerServer | undefined;
  return {
    peer: peer.name,
    direction: `${subject.name} -> ${peer.name}`,
    role: 'client',
    config,
    peerCanFragment: peer.canFragment,
    peerCanPing: peer.canPing,
    subjectCanFragment: !subject.isWhatwg,
    subjectCanPing: !subject.isWhatwg,
    skip:
      configSkip({ ...config, peer: config.peerWhenSockwaveIsClient ?? config.peer }, peer.isConfigurable, true, peer.name) ??
      (config.ours === false && config.peer !== false && !subject.canDisableDeflate
        ? `${subject.name} cannot turn permessage-deflate off`
        : undefined),
    async before() {
      running = await peer.start({ deflate: config.peerWhenSockwaveIsClient ?? config.peer, tls });
    },
    async after() {
      await running?.stop();
    },
    async open({ protocols }) {
      if (!running) throw new Error('target not started');
      const subjectEnd = await withTimeout(
        subject.connect(running.url, { protocols, deflate: config.ours, tls }),
        10_000,
        `${subject.name} connecting`,
      );
      const info = await askInfo(subjectEnd);
      const server = running;
      return {
        subject: subjectEnd,
        info,
        peerClosed: server.closed(info.id),
        async dispose() {
          subjectEnd.terminate();
        },
      };
    },
  };
}
