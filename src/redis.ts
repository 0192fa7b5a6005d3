/**
 * `sockwave/redis`: the Redis backplane for topics across processes and
 * machines. A separate entry so that `sockwave` itself never loads
 * `@redis/client` (an optional peer dependency: `npm install @redis/client`).
 *
 *   import { TopicHub } from 'sockwave';
 *   import { RedisBackplane } from 'sockwave/redis';
 *   const backplane = new RedisBackplane({ url: 'redis://127.0.0.1:6379' });
 */
export { RedisBackplane } from './node/topics/redis-backplane.js';
export type { RedisBackplaneOptions } from './node/topics/redis-backplane.js';
