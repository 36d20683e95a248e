import { formatBytes, totalBytes } from '../src/logic/files';

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1023, '1023 bytes'],
    [1024, '1.0 KiB'],
    [2433, '2.4 KiB'],
    [1024 * 1024, '1.0 MiB'],
    [150 * 1024 * 1024 + 1, '150.0 MiB']
  ])('shows %d as %s', (bytes, shown) => {
    expect(formatBytes(bytes)).toBe(shown);
  });
});

describe('totalBytes', () => {
  it('adds the sizes of the files', () => {
    const files = [
      { path: 'model.joblib', bytes: 2048, cells: [5] },
      { path: 'data/lookup.csv', bytes: 100, cells: [] }
    ];
    expect(totalBytes(files)).toBe(2148);
    expect(totalBytes([])).toBe(0);
  });
});
