import {
  asTags,
  countTagged,
  firstLine,
  groupByRole,
  isRole,
  NO_ROLES,
  roleNames,
  roleOfTag,
  rolesOfTags,
  roleTable,
  roleTag,
  withRole
} from '../src/logic/roles';
import answer from './roles.json';

/** The server's answer to `GET cellserve/roles` (tests/jupyter checks that it still is). */
const table = roleTable(answer);

describe('roleTable', () => {
  it('reads the roles in the order the service runs them', () => {
    expect(roleNames(table)).toEqual(['setup', 'preprocessing', 'predict']);
  });

  it.each([
    null,
    {},
    { roles: 'predict' },
    { roles: [{ name: 'predict' }] },
    { roles: [{ name: '', tag: 'cellserve:' }] },
    { roles: [null] }
  ])('refuses %j', value => {
    expect(() => roleTable(value)).toThrow();
  });
});

describe('roleTag and roleOfTag', () => {
  it.each([
    ['setup', 'cellserve:setup'],
    ['preprocessing', 'cellserve:preprocessing'],
    ['predict', 'cellserve:predict']
  ] as const)('%s is tagged %s and read back', (role, tag) => {
    expect(roleTag(table, role)).toBe(tag);
    expect(roleOfTag(table, tag)).toBe(role);
    expect(isRole(table, role)).toBe(true);
  });

  it.each([
    'predict',
    'cellserve:',
    'cellserve:train',
    'Cellserve:predict',
    'x-cellserve:predict'
  ])('reads no role from %j', tag => {
    expect(roleOfTag(table, tag)).toBeNull();
  });
});

describe('a role the table lacks', () => {
  it('has no tag and is given no cell', () => {
    expect(roleTag(table, 'train')).toBeNull();
    expect(isRole(table, 'train')).toBe(false);
    expect(withRole(table, ['a', 'cellserve:setup'], 'train')).toEqual([
      'a',
      'cellserve:setup'
    ]);
  });

  it('is every role before the server answered', () => {
    expect(roleOfTag(NO_ROLES, 'cellserve:predict')).toBeNull();
    expect(
      groupByRole(NO_ROLES, [{ tags: ['cellserve:predict'], source: 'x' }])
    ).toEqual({});
  });
});

describe('asTags', () => {
  it('keeps only the strings of a tags list', () => {
    expect(asTags(['a', 3, null, 'cellserve:predict'])).toEqual([
      'a',
      'cellserve:predict'
    ]);
  });

  it.each([undefined, null, 'cellserve:predict', { 0: 'a' }])(
    'reads %j as no tags',
    value => {
      expect(asTags(value)).toEqual([]);
    }
  );
});

describe('rolesOfTags', () => {
  it('lists roles in role order, each once', () => {
    expect(
      rolesOfTags(table, [
        'cellserve:predict',
        'x',
        'cellserve:setup',
        'cellserve:predict'
      ])
    ).toEqual(['setup', 'predict']);
  });

  it('finds none among other tags', () => {
    expect(rolesOfTags(table, ['hide-input', 'cellserve:other'])).toEqual([]);
  });
});

describe('withRole', () => {
  it('adds the role tag after the other tags', () => {
    expect(withRole(table, ['hide-input', 'parameters'], 'predict')).toEqual([
      'hide-input',
      'parameters',
      'cellserve:predict'
    ]);
  });

  it('replaces another role, keeping other tags in order', () => {
    expect(withRole(table, ['a', 'cellserve:setup', 'b'], 'preprocessing')).toEqual([
      'a',
      'b',
      'cellserve:preprocessing'
    ]);
  });

  it('replaces every role tag of a cell that had several', () => {
    expect(withRole(table, ['cellserve:setup', 'cellserve:predict'], 'setup')).toEqual([
      'cellserve:setup'
    ]);
  });

  it('removes the role and nothing else for null', () => {
    expect(
      withRole(table, ['a', 'cellserve:predict', 'cellserve:custom'], null)
    ).toEqual(['a', 'cellserve:custom']);
  });

  it('gives the same tags when the cell already has that role alone', () => {
    expect(withRole(table, ['a', 'cellserve:predict'], 'predict')).toEqual([
      'a',
      'cellserve:predict'
    ]);
  });

  it('does not change its argument', () => {
    const tags = ['cellserve:setup'];
    withRole(table, tags, 'predict');
    expect(tags).toEqual(['cellserve:setup']);
  });
});

describe('firstLine', () => {
  it('skips blank lines and trims', () => {
    expect(firstLine('\n   \n  x = model.predict(batch)  \ny = 2')).toBe(
      'x = model.predict(batch)'
    );
  });

  it('reads Windows line ends', () => {
    expect(firstLine('\r\nimport numpy as np\r\n')).toBe('import numpy as np');
  });

  it('cuts long lines with an ellipsis', () => {
    const line = firstLine('a'.repeat(100), 10);
    expect(line).toBe('aaaaaaaaa…');
    expect(line).toHaveLength(10);
  });

  it('gives an empty string for an empty cell', () => {
    expect(firstLine('  \n\n')).toBe('');
  });
});

describe('groupByRole', () => {
  const cells = [
    { tags: [], source: '# Digits' },
    { tags: ['cellserve:setup'], source: 'import joblib\nmodel = joblib.load(p)' },
    { tags: ['hide-input'], source: 'plot()' },
    { tags: ['cellserve:preprocessing'], source: 'x = to_tensor(payload)' },
    { tags: ['cellserve:predict', 'keep'], source: '\nmodel.predict(x)' },
    { tags: ['cellserve:predict'], source: 'result' }
  ];

  it('numbers cells from 1 among all cells, markdown included', () => {
    const groups = groupByRole(table, cells);
    expect(groups.setup).toEqual([{ cell: 2, firstLine: 'import joblib' }]);
    expect(groups.preprocessing).toEqual([
      { cell: 4, firstLine: 'x = to_tensor(payload)' }
    ]);
    expect(groups.predict).toEqual([
      { cell: 5, firstLine: 'model.predict(x)' },
      { cell: 6, firstLine: 'result' }
    ]);
  });

  it('lists a cell with two roles under both', () => {
    const groups = groupByRole(table, [
      { tags: ['cellserve:setup', 'cellserve:predict'], source: 'a' }
    ]);
    expect(groups.setup.map(entry => entry.cell)).toEqual([1]);
    expect(groups.predict.map(entry => entry.cell)).toEqual([1]);
    expect(countTagged(groups)).toBe(1);
  });

  it('gives empty groups for a notebook without roles', () => {
    const groups = groupByRole(table, [{ tags: [], source: 'x' }]);
    expect(groups).toEqual({ setup: [], preprocessing: [], predict: [] });
    expect(countTagged(groups)).toBe(0);
  });

  it('counts tagged cells', () => {
    expect(countTagged(groupByRole(table, cells))).toBe(4);
  });
});
