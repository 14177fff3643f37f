import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAllowedHost, isLoopback } from '../../src/serve/request-guard.js';

test('the Host must be localhost or the bound address with the port; a wildcard bind takes any IP address', () => {
  const cases: [string | undefined, string, boolean][] = [
    ['127.0.0.1:8080', '127.0.0.1', true],
    ['localhost:8080', '127.0.0.1', true],
    ['localhost:8081', '127.0.0.1', false],
    ['rebound.example:8080', '127.0.0.1', false],
    ['127.0.0.1', '127.0.0.1', false],
    ['127.0.0.1:8080:1', '127.0.0.1', false],
    [undefined, '127.0.0.1', false],
    ['[::1]:8080', '::1', true],
    ['[::1]:8080', '127.0.0.1', false],
    ['192.168.1.5:8080', '192.168.1.5', true],
    ['192.168.1.5:8080', '0.0.0.0', true],
    ['[fe80::1]:8080', '::', true],
    ['rebound.example:8080', '0.0.0.0', false],
    ['myhost.lan:8080', 'myhost.lan', true],
  ];
  for (const [header, bound, allowed] of cases)
    assert.equal(isAllowedHost(header, bound, 8080), allowed, `Host ${header} on ${bound}`);
  assert.equal(isAllowedHost('localhost', '127.0.0.1', 80), true, 'port 80 may be left out');
});

test('loopback hosts serve this machine only; others warn', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.5', 'myhost.lan', '127.0.0.1.example'])
    assert.equal(isLoopback(host), false, host);
});
