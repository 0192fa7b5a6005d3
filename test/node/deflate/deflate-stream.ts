// Reading raw deflate streams in tests (what zlib's own inflater does not tell).

/**
 * Walks a raw deflate stream (RFC 1951) and returns the largest
 * back-reference distance used. Written for the window-8 test: zlib's own
 * inflater cannot tell a 256-byte window from a 512-byte one.
 */
export function maxDistance(stream: Buffer): number {
  let pos = 0;
  let bit = 0;
  const bits = (n: number): number => {
    let v = 0;
    for (let k = 0; k < n; k++) {
      if (pos >= stream.length) throw new Error('truncated deflate stream');
      v |= ((stream[pos] >> bit) & 1) << k;
      if (++bit === 8) {
        bit = 0;
        pos++;
      }
    }
    return v;
  };
  interface Huffman { count: number[]; symbol: number[] }
  const build = (lengths: number[]): Huffman => {
    const count = new Array(16).fill(0);
    for (const l of lengths) count[l]++;
    count[0] = 0;
    const offs = [0, 0];
    for (let l = 1; l < 15; l++) offs[l + 1] = offs[l] + count[l];
    const symbol: number[] = [];
    lengths.forEach((l, s) => {
      if (l !== 0) symbol[offs[l]++] = s;
    });
    return { count, symbol };
  };
  const decode = (h: Huffman): number => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error('bad Huffman code');
  };
  // Only distances matter here: a length code's extra bits are skipped, its base length is never needed.
  const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
  let max = 0;
  while (pos < stream.length) {
    const isLast = bits(1);
    const type = bits(2);
    if (type === 0) {
      if (bit !== 0) {
        bit = 0;
        pos++;
      }
      const len = stream.readUInt16LE(pos);
      pos += 4 + len;
    } else {
      let lit: Huffman;
      let dist: Huffman;
      if (type === 1) {
        const l = [...new Array(144).fill(8), ...new Array(112).fill(9), ...new Array(24).fill(7), ...new Array(8).fill(8)];
        lit = build(l);
        dist = build(new Array(30).fill(5));
      } else {
        const nlen = bits(5) + 257;
        const ndist = bits(5) + 1;
        const ncode = bits(4) + 4;
        const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
        const cl = new Array(19).fill(0);
        for (let k = 0; k < ncode; k++) cl[order[k]] = bits(3);
        const clh = build(cl);
        const lengths: number[] = [];
        while (lengths.length < nlen + ndist) {
          const sym = decode(clh);
          if (sym < 16) lengths.push(sym);
          else if (sym === 16) lengths.push(...new Array(3 + bits(2)).fill(lengths[lengths.length - 1]));
          else if (sym === 17) lengths.push(...new Array(3 + bits(3)).fill(0));
          else lengths.push(...new Array(11 + bits(7)).fill(0));
        }
        lit = build(lengths.slice(0, nlen));
        dist = build(lengths.slice(nlen));
      }
      for (;;) {
        const sym = decode(lit);
        if (sym < 256) continue;
        if (sym === 256) break;
        bits(LEXT[sym - 257]);
        const d = decode(dist);
        const distance = DBASE[d] + bits(DEXT[d]);
        if (distance > max) max = distance;
      }
    }
    if (isLast) break;
  }
  return max;
}
