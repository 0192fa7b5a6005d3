/**
 * The Redis data model of a topic, and the two Lua scripts that touch it.
 *
 * Per topic, three keys and a channel share one hash tag, so in a Redis
 * Cluster they live in one slot (the scripts may touch them together, and the
 * channel is served by the same shard for SPUBLISH/SSUBSCRIBE):
 *   <prefix>{<topic>}:m         hash: e = epoch, o = last offset
 *   <prefix>{<topic>}:s         stream: the history, one entry per message
 *   <prefix>{<topic>}:p:<node>  the last publish id of one node and its offset (retry dedupe)
 *   <prefix>{<topic>}:c         the pub/sub channel
 *
 * The publish script increments the offset, appends to the stream, trims it
 * by size and age, and publishes, atomically: the stream and the channel can
 * never disagree on an offset. When the meta key is missing (Redis restarted
 * without persistence, or the topic expired), it starts a new epoch and drops
 * any stale stream, so offsets from before can never be mistaken for new ones.
 */
import { createHash } from 'node:crypto';
import type { BackplaneMessage, Position } from './backplane.js';

export interface TopicKeys {
  readonly meta: string;
  readonly stream: string;
  readonly channel: string;
  /** Prefix of the per-node dedupe key; append the node id. */
  readonly dedupe: string;
}

/**
 * The hash tag must not contain `}` (it would end the tag early) and must
 * not be empty, so `%`, `{` and `}` are percent-escaped: injective, and the
 * common topic names stay readable in redis-cli.
 */
export function topicKeys(prefix: string, topic: string): TopicKeys {
  const tag = topic.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
  const base = `${prefix}{${tag}}`;
  return { meta: `${base}:m`, stream: `${base}:s`, channel: `${base}:c`, dedupe: `${base}:p:` };
}

// KEYS: 1 meta, 2 stream, 3 dedupe key of the publishing node
// ARGV: 1 PUBLISH|SPUBLISH, 2 channel, 3 payload, 4 binary flag (1|0), 5 origin node id,
//       6 publish id, 7 epoch to use if the topic has none, 8 history size (0: none),
//       9 history max age ms, 10 meta ttl ms (0: none), 11 dedupe ttl ms,
//       12 id of this node's previous publish to the topic if not known to be stored yet (else 0)
// Returns { epoch, offset, duplicate (1|0) }, or an ORDER error when that previous publish is not stored yet.
export const PUBLISH_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[7]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
end
local last = redis.call('GET', KEYS[3])
local lastId = 0
local lastOffset = '0'
if last then
  local space = string.find(last, ' ', 1, true)
  lastId = tonumber(string.sub(last, 1, space - 1))
  lastOffset = string.sub(last, space + 1)
end
local id = tonumber(ARGV[6])
if id <= lastId then
  -- A retry of a publish that was stored before its reply was lost (this
  -- node's publishes to a topic are stored in id order, see ORDER below).
  if id == lastId then return { epoch, lastOffset, 1 } end
  local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1000)
  for _, entry in ipairs(entries) do
    local f = entry[2]
    if f[8] == ARGV[5] and f[10] == ARGV[6] then return { epoch, f[2], 1 } end
  end
  return { epoch, '0', 1 }
end
if tonumber(ARGV[12]) > lastId then
  return redis.error_reply('ORDER publish ' .. ARGV[6] .. ' waits for ' .. ARGV[12])
end
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
local offsetText = string.format('%d', offset)
if ARGV[8] ~= '0' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'o', offsetText, 'd', ARGV[3], 'b', ARGV[4], 'n', ARGV[5], 'i', ARGV[6])
  local maxAge = tonumber(ARGV[9])
  if maxAge > 0 then
    local now = redis.call('TIME')
    local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - maxAge
    redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%.0f', oldest))
    redis.call('PEXPIRE', KEYS[2], ARGV[9])
  end
end
if ARGV[10] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[10]) end
redis.call('SET', KEYS[3], ARGV[6] .. ' ' .. offsetText, 'PX', ARGV[11])
redis.call(ARGV[1], ARGV[2], offsetText .. ' ' .. epoch .. ' ' .. ARGV[5] .. ' ' .. ARGV[6] .. ' ' .. ARGV[4] .. '\\n' .. ARGV[3])
return { epoch, offsetText, 0 }
`;

// KEYS: 1 meta, 2 stream
// ARGV: 1 since epoch, 2 since offset (-1: position only), 3 max entries, 4 history max age ms (0: none)
// Returns { epoch ('' when the topic has none), offset, entries newest first }.
// Entries older than the age bound are left out even if approximate trimming kept them.
export const HISTORY_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then return { '', '0', {} } end
local top = tonumber(redis.call('HGET', KEYS[1], 'o'))
local since = tonumber(ARGV[2])
if since < 0 then return { epoch, string.format('%d', top), {} } end
local want = top
if epoch == ARGV[1] then want = top - since end
if want <= 0 then return { epoch, string.format('%d', top), {} } end
local count = math.min(want, tonumber(ARGV[3]))
if count <= 0 then return { epoch, string.format('%d', top), {} } end
local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', count)
local maxAge = tonumber(ARGV[4])
if maxAge > 0 then
  local now = redis.call('TIME')
  local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - maxAge
  for i = 1, #entries do
    local ms = tonumber(string.match(entries[i][1], '^(%d+)'))
    if ms < oldest then
      for j = #entries, i, -1 do entries[j] = nil end
      break
    end
  end
end
return { epoch, string.format('%d', top), entries }
`;

export const PUBLISH_SHA = sha1(PUBLISH_SCRIPT);
export const HISTORY_SHA = sha1(HISTORY_SCRIPT);

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** Parses the publish script's reply. */
export function parsePublishReply(reply: unknown): Position {
  const [epoch, offset] = reply as [Buffer, Buffer, unknown];
  return { epoch: epoch.toString(), offset: Number(offset.toString()) };
}

export interface HistoryReply {
  readonly position: Position;
  /** Oldest first. */
  readonly messages: BackplaneMessage[];
}

/** Parses the history script's reply (entries come newest first). */
export function parseHistoryReply(topic: string, reply: unknown): HistoryReply {
  const [epochRaw, offsetRaw, entries] = reply as [Buffer, Buffer, [Buffer, Buffer[]][]];
  const epoch = epochRaw.toString();
  const messages: BackplaneMessage[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const f = entries[i][1];
    messages.push({
      topic,
      offset: Number(f[1].toString()),
      payload: f[3],
      isBinary: f[5].toString() === '1',
      origin: f[7].toString(),
      id: Number(f[9].toString()),
      epoch,
    });
  }
  return { position: { epoch, offset: Number(offsetRaw.toString()) }, messages };
}

/** Parses a channel message: `offset epoch origin id binary\n` then the payload. */
export function parseChannelMessage(topic: string, raw: Buffer): BackplaneMessage | undefined {
  const newline = raw.indexOf(0x0a);
  if (newline < 0) return undefined;
  const header = raw.toString('latin1', 0, newline).split(' ');
  if (header.length !== 5) return undefined;
  const offset = Number(header[0]);
  const id = Number(header[3]);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(id)) return undefined;
  return { topic, offset, epoch: header[1], origin: header[2], id, isBinary: header[4] === '1', payload: raw.subarray(newline + 1) };
}
