import { describe, expect, it } from 'vitest';
import { formatBytes, parsePrometheusDuration, prometheusDurationPrefix } from '../../../src/core/units';

describe('formatBytes, the one byte humaniser', () => {
  it.each<[number, string]>([
    [0, '0 B'],
    [12, '12 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [4 * 2 ** 20, '4 MiB'],
    [50_000_000, '47.7 MiB'],
    [16 * 2 ** 20 + 1, '16 MiB'],
    [2 ** 30, '1 GiB'],
    [3 * 2 ** 40, '3 TiB'],
    [2 ** 50, '1024 TiB'],
  ])('%i → %s', (n, text) => expect(formatBytes(n)).toBe(text));
});

// prometheus/common model/time.go (ParseDuration, durationRE): units y w d h m s ms, each once, in this order.
describe('Prometheus durations', () => {
  it.each<[string, number | undefined]>([
    ['0', 0],
    ['5m', 300_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1m500ms', 60_500],
    ['2w', 14 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['1d12h', 36 * 3_600_000],
    ['', undefined],
    ['30m1h', undefined],
    ['1h1h', undefined],
    ['1.5h', undefined],
    ['5', undefined],
    ['5M', undefined],
    ['-5m', undefined],
    [' 5m', undefined],
  ])('parsePrometheusDuration(%j) = %s', (text, ms) => expect(parsePrometheusDuration(text)).toBe(ms));

  it.each<[string, string | undefined]>([
    ['5m]', '5m'],
    ['5ms]', '5ms'],
    ['1h30m] offset', '1h30m'],
    ['m]', undefined],
    [']', undefined],
  ])('the PromQL lexer takes %j as %s', (text, prefix) => expect(prometheusDurationPrefix(text)).toBe(prefix));
});
