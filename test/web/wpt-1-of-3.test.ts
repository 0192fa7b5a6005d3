// WPT websockets/, shard 1 of 3 (see wpt-run.ts).
import { wptShard } from './wpt-run.js';

wptShard(1, 3);
