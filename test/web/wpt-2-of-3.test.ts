// WPT websockets/, shard 2 of 3 (see wpt-run.ts).
import { wptShard } from './wpt-run.js';

wptShard(2, 3);
