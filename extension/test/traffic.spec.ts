import {
  bodyLine,
  percent,
  addReading,
  formatNumber,
  sparklinePath,
  trafficSummary
} from '../src/logic/traffic';
import type { ITraffic, ITrafficFigures } from '../src/tokens';

function figures(more: Partial<ITrafficFigures> = {}): ITrafficFigures {
  return {
    window_s: 5,
    requests: 60,
    requests_per_s: 12.34,
    error_rate: 0.05,
    p50_ms: 8.04,
    p99_ms: 20,
    replicas: 1,
    total_requests: 600,
    live: true,
    traffic: true,
    ...more
  };
}

function reading(versions: Record<string, ITrafficFigures>): ITraffic {
  return { name: 'digits', window_s: 5, versions };
}

describe('trafficSummary', () => {
  it('shows rate, percentiles, errors and replicas', () => {
    expect(trafficSummary(figures())).toBe(
      '12.3 req/s · p50 8.04 ms · p99 20 ms · 5 % errors · 1 replica'
    );
  });

  it('says when Ray has not reported the replicas yet', () => {
    expect(trafficSummary(figures({ replicas: null }))).toMatch(
      / · replicas not reported yet$/
    );
  });

  it('says when nobody called rather than showing zeros', () => {
    expect(
      trafficSummary(
        figures({ traffic: false, requests: 0, p50_ms: null, replicas: 2 })
      )
    ).toBe('No traffic in the last 5 s · 2 replicas');
  });
});

describe('addReading', () => {
  it('appends per version, keeps the newest and drops versions that stopped', () => {
    let history = addReading({}, reading({ '1': figures(), '2': figures() }), 2);
    history = addReading(history, reading({ '2': figures({ requests_per_s: 1 }) }), 2);
    history = addReading(history, reading({ '2': figures({ requests_per_s: 2 }) }), 2);
    expect(Object.keys(history)).toEqual(['2']);
    expect(history['2'].map(f => f.requests_per_s)).toEqual([1, 2]);
  });
});

describe('sparklinePath', () => {
  it('scales values into the box, zero at the bottom', () => {
    expect(sparklinePath([0, 5, 10], 100, 20)).toBe('M0 20 L50 10 L100 0');
  });

  it('draws a flat line at the bottom when all are zero, and nothing for no value', () => {
    expect(sparklinePath([0, 0], 10, 4)).toBe('M0 4 L10 4');
    expect(sparklinePath([], 10, 4)).toBe('');
    expect(sparklinePath([3], 10, 4)).toBe('M10 0');
  });
});

describe('formatNumber', () => {
  it.each([
    [12.345, '12.3'],
    [0.5, '0.5'],
    [1234.5, '1235'],
    [0, '0'],
    [Number.NaN, '–']
  ])('%p → %p', (value, shown) => {
    expect(formatNumber(value)).toBe(shown);
  });
});

describe('percent and bodyLine', () => {
  it('shows shares as percentages', () => {
    expect(percent(0.1)).toBe('10 %');
    expect(percent(0.025)).toBe('2.5 %');
  });

  it('shows a logged body on one line, or its size when it was not kept', () => {
    expect(bodyLine('{"x":\n [1, 2]}', 14)).toBe('{"x": [1, 2]}');
    expect(bodyLine(null, 2048)).toBe('(2048 bytes, not kept)');
    expect(bodyLine('a'.repeat(100), 100, 10)).toBe('aaaaaaaaa…');
  });
});
