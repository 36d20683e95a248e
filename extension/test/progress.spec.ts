import {
  formatCreated,
  splitMessage,
  formatElapsed,
  jobElapsed,
  jobSummary,
  stepLabel,
  stepRows,
  versionRows
} from '../src/logic/progress';
import type { IPublishJob, IServiceVersion } from '../src/tokens';

function job(change: Partial<IPublishJob>): IPublishJob {
  return {
    id: 'j1',
    state: 'running',
    capture: 'headless',
    steps: [],
    result: null,
    error: null,
    ...change
  };
}

const steps = [
  { step: 'analyse', message: 'Reading digits.ipynb', elapsed: 0.1 },
  { step: 'analyse', message: '3 tagged cells', elapsed: 0.3 },
  { step: 'capture', message: 'Running the notebook headlessly', elapsed: 1.2 },
  { step: 'deploy', message: 'Starting replicas', elapsed: 12.5 }
];

describe('stepLabel', () => {
  it.each([
    ['analyse', 'Analyse'],
    ['smoke-test', 'Smoke test'],
    ['smoke_test', 'Smoke test'],
    ['build-image', 'Build image'],
    ['', '']
  ])('labels %j %j', (step, label) => {
    expect(stepLabel(step)).toBe(label);
  });
});

describe('formatElapsed', () => {
  it.each([
    [0, '0.0 s'],
    [0.14, '0.1 s'],
    [9.96, '10.0 s'],
    [12.4, '12 s'],
    [75, '1 min 15 s'],
    [3725, '1 h 2 min'],
    [-1, ''],
    [Number.NaN, '']
  ])('shows %p seconds as %j', (seconds, text) => {
    expect(formatElapsed(seconds)).toBe(text);
  });
});

describe('stepRows', () => {
  it('gives one row per step, messages in order, the latest step active', () => {
    const rows = stepRows(job({ steps }));
    expect(rows.map(row => [row.step, row.status, row.elapsed])).toEqual([
      ['analyse', 'done', 0.3],
      ['capture', 'done', 1.2],
      ['deploy', 'active', 12.5]
    ]);
    expect(rows[0].messages).toEqual(['Reading digits.ipynb', '3 tagged cells']);
    expect(rows[0].label).toBe('Analyse');
  });

  it('marks every step done when the job succeeded', () => {
    const rows = stepRows(job({ state: 'succeeded', steps }));
    expect(rows.every(row => row.status === 'done')).toBe(true);
  });

  it('marks the step named by the error', () => {
    const rows = stepRows(
      job({
        state: 'failed',
        steps,
        error: { message: 'boom', step: 'capture', cell: 9 }
      })
    );
    expect(rows.map(row => row.status)).toEqual(['done', 'failed', 'done']);
  });

  it('marks the latest step when the error names none', () => {
    const rows = stepRows(
      job({
        state: 'failed',
        steps,
        error: { message: 'boom', step: null, cell: null }
      })
    );
    expect(rows.map(row => row.status)).toEqual(['done', 'done', 'failed']);
  });

  it('adds the failed step when it reported nothing before failing', () => {
    const rows = stepRows(
      job({
        state: 'failed',
        steps: steps.slice(0, 1),
        error: { message: 'no cluster', step: 'deploy', cell: null }
      })
    );
    expect(rows.map(row => [row.step, row.status])).toEqual([
      ['analyse', 'done'],
      ['deploy', 'failed']
    ]);
  });

  it('gives no rows before the first step', () => {
    expect(stepRows(job({}))).toEqual([]);
  });
});

describe('jobSummary', () => {
  it('names the running step and time', () => {
    expect(jobElapsed(job({ steps }))).toBe(12.5);
    expect(jobSummary(job({ steps }))).toBe('Publishing: deploy (13 s)');
    expect(jobSummary(job({}))).toBe('Publishing: starting');
  });

  it('names the version published', () => {
    const result = {
      name: 'digits',
      version: 3,
      endpoint: 'http://127.0.0.1:8000/digits/predict',
      page: 'http://127.0.0.1:8000/digits/'
    };
    expect(jobSummary(job({ state: 'succeeded', steps, result }))).toBe(
      'Published digits version 3 in 13 s.'
    );
  });

  it('says where and why it failed', () => {
    expect(
      jobSummary(
        job({
          state: 'failed',
          steps,
          error: { message: "name 'scaler' is not defined", step: 'capture', cell: 9 }
        })
      )
    ).toBe("Publishing failed at capture (cell 9): name 'scaler' is not defined");
  });
});

describe('versionRows', () => {
  const version = (n: number, status: string): IServiceVersion => ({
    version: n,
    status,
    created: '2024-05-01T12:00:00Z',
    failed_step: null,
    error: null
  });

  it('lists newest first and offers rollback to earlier live versions only', () => {
    const rows = versionRows([
      version(1, 'previous'),
      version(3, 'failed'),
      version(2, 'live')
    ]);
    expect(rows.map(row => [row.version.version, row.canRollback])).toEqual([
      [3, false],
      [2, false],
      [1, true]
    ]);
  });
});

describe('formatCreated', () => {
  it('shows a date and minute', () => {
    expect(formatCreated('2024-05-01T12:34:56')).toBe('2024-05-01 12:34');
  });

  it('shows other text unchanged', () => {
    expect(formatCreated('yesterday')).toBe('yesterday');
  });
});

describe('splitMessage', () => {
  it('keeps a one-line message whole', () => {
    expect(splitMessage(' deploy failed \n')).toEqual({
      first: 'deploy failed',
      rest: ''
    });
  });

  it("folds a replay's differences under its first line", () => {
    const message =
      'replay: 100.0% differ; version 2 does not go live.\n5 requests replayed\n  request #1: {"x": [1]}';
    expect(splitMessage(message)).toEqual({
      first: 'replay: 100.0% differ; version 2 does not go live.',
      rest: '5 requests replayed\n  request #1: {"x": [1]}'
    });
  });
});
