// WPT websockets/, shard 3 of 3 (see wpt-run.ts).
import { wptShard } from './wpt-run.js';

wptShard(3, 3);
