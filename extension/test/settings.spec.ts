import { errorSchema, formView, pruned, withoutProblems } from '../src/logic/settings';
import type { JsonObject } from '../src/logic/settings';

// The shape of what the server's `settings/form` answers (a part of it).
const SCHEMA: JsonObject = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Service name.' },
    access: { type: 'string', enum: ['public', 'token'], default: 'public' },
    predict: {
      type: 'object',
      properties: {
        num_gpus: { type: 'number', minimum: 0, default: 0 },
        memory: { type: 'integer', minimum: 0, default: null }
      }
    },
    files: {
      type: 'object',
      properties: { include: { type: 'array', items: { type: 'string' } } }
    }
  }
};

describe('formView', () => {
  it('shows each default as its placeholder and never as a value', () => {
    const view = formView(SCHEMA);
    expect(view.uiSchema).toEqual({
      access: { 'ui:placeholder': 'default: public' },
      predict: {
        num_gpus: { 'ui:placeholder': 'default: 0' },
        memory: { 'ui:placeholder': 'default: none' }
      }
    });
    expect(JSON.stringify(view.schema)).not.toContain('"default"');
    const predict = (view.schema.properties as JsonObject).predict as JsonObject;
    expect((predict.properties as JsonObject).num_gpus).toEqual({
      type: 'number',
      minimum: 0
    });
  });

  it('leaves the schema it was given as it was', () => {
    const before = JSON.stringify(SCHEMA);
    formView(SCHEMA);
    expect(JSON.stringify(SCHEMA)).toBe(before);
  });
});

describe('pruned', () => {
  it('drops empty text, unset values and emptied groups', () => {
    expect(
      pruned({
        name: '',
        access: 'token',
        predict: { num_gpus: undefined, memory: null },
        files: { include: ['a.csv', '', undefined] }
      })
    ).toEqual({ access: 'token', files: { include: ['a.csv'] } });
    expect(pruned({ predict: {}, files: { include: [] } })).toBeUndefined();
  });

  it('keeps zero and false, which are values', () => {
    expect(pruned({ predict: { num_gpus: 0 }, flag: false })).toEqual({
      predict: { num_gpus: 0 },
      flag: false
    });
  });
});

describe('withoutProblems', () => {
  const stored: JsonObject = {
    predict: { num_gpus: 1, max_replicas: 2 },
    request_schema: 'off'
  };

  it('writes the valid values and keeps the stored one where a value has a problem', () => {
    const data = {
      ...stored,
      name: 'svc',
      predict: { num_gpus: -1, max_replicas: 3 }
    };
    const problems = [
      { path: ['predict', 'num_gpus'], message: 'Input should be ≥ 0' }
    ];
    expect(withoutProblems(stored, data, problems)).toEqual({
      name: 'svc',
      predict: { num_gpus: 1, max_replicas: 3 },
      request_schema: 'off'
    });
  });

  it('removes a value with a problem that was not stored, so the default applies', () => {
    const data = { predict: { memory: -5 } };
    const problems = [{ path: ['predict', 'memory'], message: 'bad' }];
    expect(withoutProblems(null, data, problems)).toBeNull();
  });

  it('keeps a group as stored when the rule across its fields fails', () => {
    const data = { predict: { min_replicas: 3, max_replicas: 1 } };
    const problems = [{ path: ['predict'], message: 'min_replicas (3) is larger' }];
    expect(withoutProblems(stored, data, problems)).toEqual({
      predict: { num_gpus: 1, max_replicas: 2 }
    });
  });

  it('changes nothing when the settings as a whole could not be judged', () => {
    const problems = [{ path: [], message: 'The server could not check the settings' }];
    expect(withoutProblems(stored, { name: 'x' }, problems)).toBe(stored);
  });

  it('says null when the form was emptied', () => {
    expect(
      withoutProblems(stored, { predict: { num_gpus: undefined } }, [])
    ).toBeNull();
  });
});

describe('errorSchema', () => {
  it('puts each message at its field', () => {
    const errors = errorSchema(
      [
        {
          path: ['predict', 'num_gpus'],
          message: 'Input should be greater than or equal to 0'
        },
        {
          path: ['predict'],
          message: 'min_replicas (3) is larger than max_replicas (1)'
        }
      ],
      SCHEMA
    );
    expect(errors).toEqual({
      predict: {
        __errors: ['min_replicas (3) is larger than max_replicas (1)'],
        num_gpus: { __errors: ['Input should be greater than or equal to 0'] }
      }
    });
  });

  it('names a setting the form has no field for at the top of the form', () => {
    const errors = errorSchema(
      [
        { path: ['request_schema'], message: 'it is not a valid JSON Schema' },
        { path: ['gpus'], message: 'unknown setting' }
      ],
      SCHEMA
    );
    expect(errors).toEqual({
      __errors: [
        'request_schema: it is not a valid JSON Schema',
        'gpus: unknown setting'
      ]
    });
  });
});
