/**
 * Header fields grouped by lower-cased name, duplicates kept in order: the
 * shape every handshake check reads (a field that must appear once is a list
 * of length one). Two sources feed it: Node's flat `rawHeaders` (name, value,
 * name, value...; values not yet trimmed) on the server, and the client's own
 * response parser's [name, value] pairs (already trimmed).
 */
import { trimOws } from './header-tokens.js';

export type HeaderGroups = Map<string, string[]>;

function addField(groups: HeaderGroups, name: string, value: string): void {
  const lower = name.toLowerCase();
  const list = groups.get(lower);
  if (list) list.push(value);
  else groups.set(lower, [value]);
}

/** Groups a flat raw list (Node's `rawHeaders`), trimming optional whitespace from each value. */
export function groupHeaders(rawHeaders: readonly string[]): HeaderGroups {
  const groups: HeaderGroups = new Map();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) addField(groups, rawHeaders[i], trimOws(rawHeaders[i + 1]));
  return groups;
}

/** Groups [name, value] pairs whose values the parser has already trimmed. */
export function groupHeaderPairs(pairs: Iterable<readonly [string, string]>): HeaderGroups {
  const groups: HeaderGroups = new Map();
  for (const [name, value] of pairs) addField(groups, name, value);
  return groups;
}
