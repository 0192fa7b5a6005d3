/**
 * NO_PROXY matching, with the forms curl, Go and python-websockets agree on:
 * a comma (or space) separated list where `*` bypasses every proxy; a host
 * name matches itself and its subdomains (`example.com`, `.example.com` and
 * `*.example.com` all match `a.example.com`); `host:port` only matches that
 * port; an IP literal (IPv6 with or without brackets) matches that address;
 * an address with a prefix (`10.0.0.0/8`, `fd00::/8`) matches the subnet.
 * Names are compared case-insensitively and without a trailing dot; no DNS
 * lookup is made (a name never matches an IP entry).
 */
import net from 'node:net';

interface Rule {
  /** Lower-case host name without leading dots, or an IP literal. */
  host: string;
  /** 0 when any port matches. */
  port: number;
  subnet?: net.BlockList;
}

export interface NoProxyList {
  /** True when `*` was listed. */
  readonly isAll: boolean;
  readonly rules: readonly Rule[];
}

export function parseNoProxy(value: string): NoProxyList {
  const rules: Rule[] = [];
  let isAll = false;
  for (const raw of value.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      isAll = true;
      continue;
    }
    const slash = entry.indexOf('/');
    if (slash !== -1) {
      const address = stripBrackets(entry.slice(0, slash));
      const prefix = Number(entry.slice(slash + 1));
      const family = net.isIP(address);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) continue;
      const subnet = new net.BlockList();
      subnet.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      rules.push({ host: address, port: 0, subnet });
      continue;
    }
    let host = entry;
    let port = 0;
    // "[::1]:8080", "[::1]", "::1" (a bare IPv6 literal has no port), "host:8080".
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      host = bracketed[1];
      port = bracketed[2] === undefined ? 0 : Number(bracketed[2]);
    } else if (net.isIPv6(entry)) {
      host = entry;
    } else {
      const withPort = /^(.*):(\d+)$/.exec(entry);
      if (withPort) {
        host = withPort[1];
        port = Number(withPort[2]);
      }
    }
    host = host.replace(/^\*?\.+/, '').replace(/\.$/, '');
    if (host === '') continue;
    rules.push({ host, port });
  }
  return { isAll, rules };
}

/** True when a connection to `hostname:port` must not use a proxy. `hostname` may carry IPv6 brackets. */
export function isProxyBypassed(list: NoProxyList, hostname: string, port: number): boolean {
  if (list.isAll) return true;
  const host = stripBrackets(hostname.toLowerCase()).replace(/\.$/, '');
  const family = net.isIP(host);
  for (const rule of list.rules) {
    if (rule.port !== 0 && rule.port !== port) continue;
    if (rule.subnet) {
      if (family !== 0 && rule.subnet.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true;
      continue;
    }
    if (family !== 0) {
      // IP literals compare as addresses, so "::1" matches "0:0:0:0:0:0:0:1".
      if (net.isIP(rule.host) === family && sameAddress(rule.host, host, family)) return true;
      continue;
    }
    if (host === rule.host || host.endsWith(`.${rule.host}`)) return true;
  }
  return false;
}

function sameAddress(a: string, b: string, family: number): boolean {
  const list = new net.BlockList();
  list.addAddress(a, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, family === 4 ? 'ipv4' : 'ipv6');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
