// Which address the failure limit counts a request against, and which TRUST_PROXY values the
// server accepts (those Express's `trust proxy` accepts).
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { clientAddress } from '../../../src/http/limits/client-address.ts';

describe('clientAddress', () => {
  it('IPv4 as is, IPv4-mapped IPv6 as IPv4', () => {
    expect(clientAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('IPv6 by its /64: a subscriber rotating through its block is one client', () => {
    expect(clientAddress('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:3::a')).toBe('2001:db8:1:3::/64');
    expect(clientAddress('::1')).toBe('::/64');
  });

  it('no address (a socket already gone) counts as one "unknown" client', () => {
    expect(clientAddress(undefined)).toBe('unknown');
    expect(clientAddress('not an address')).toBe('unknown');
  });
});

describe('TRUST_PROXY and AUTH_FAILURES_PER_MINUTE', () => {
  const trustProxy = (value: string | undefined) => loadConfig({ TRUST_PROXY: value }).trustProxy;

  it('off by default; true, false, a hop count, or addresses and subnets', () => {
    expect(trustProxy(undefined)).toBe(false);
    expect(trustProxy('false')).toBe(false);
    expect(trustProxy('true')).toBe(true);
    expect(trustProxy('2')).toBe(2);
    expect(trustProxy('loopback, 10.0.0.0/8,fd00::/8')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8']);
    expect(trustProxy('192.168.1.1/255.255.255.0')).toEqual(['192.168.1.1/255.255.255.0']);
  });

  it('refuses what Express would refuse', () => {
    for (const bad of ['yes', '10.0.0.0/33', 'loopback,,10.0.0.1', '-1']) {
      expect(() => trustProxy(bad), bad).toThrow(ConfigError);
    }
  });

  it('AUTH_FAILURES_PER_MINUTE: 20 by default, 0 turns the limit off', () => {
    expect(loadConfig({}).authFailuresPerMinute).toBe(20);
    expect(loadConfig({ AUTH_FAILURES_PER_MINUTE: '0' }).authFailuresPerMinute).toBe(0);
    expect(() => loadConfig({ AUTH_FAILURES_PER_MINUTE: '-1' })).toThrow(ConfigError);
  });
});
