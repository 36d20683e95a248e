/**
 * Publish progress as the panel shows it: one row per step, elapsed times and
 * one-line summaries. Pure functions over the job the server reports.
 */

import type { IPublishJob, IServiceVersion } from '../tokens';

/** How far a step got. */
export type StepStatus = 'done' | 'active' | 'failed';

/** One step of a publish job, its messages in the order they came. */
export interface IStepRow {
  step: string;
  label: string;
  messages: string[];
  /** Seconds since the job started, at the step's latest message. */
  elapsed: number;
  status: StepStatus;
}

/** `smoke-test` → `Smoke test`. */
export function stepLabel(step: string): string {
  const words = step.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Seconds as a person reads them: `0.1 s`, `12.3 s`, `1 min 15 s`, `1 h 2 min`. */
export function formatElapsed(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 60) {
    const shown = seconds < 10 ? seconds.toFixed(1) : seconds.toFixed(0);
    return `${shown} s`;
  }
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  return hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min ${rest} s`;
}

/**
 * The job's steps, one row each in the order they started.
 *
 * While the job runs its latest step is active; a failed job marks the step it
 * failed in (the error's step, else the latest one).
 */
export function stepRows(job: IPublishJob): IStepRow[] {
  const rows: IStepRow[] = [];
  const byStep = new Map<string, IStepRow>();
  for (const reported of job.steps) {
    let row = byStep.get(reported.step);
    if (row === undefined) {
      row = {
        step: reported.step,
        label: stepLabel(reported.step),
        messages: [],
        elapsed: reported.elapsed,
        status: 'done'
      };
      byStep.set(reported.step, row);
      rows.push(row);
    }
    if (reported.message) {
      row.messages.push(reported.message);
    }
    row.elapsed = reported.elapsed;
  }
  const last = rows[rows.length - 1];
  if (job.state === 'running' && last !== undefined) {
    last.status = 'active';
  }
  if (job.state === 'failed') {
    const step = job.error?.step;
    let failed = step ? byStep.get(step) : last;
    if (failed === undefined && step) {
      failed = {
        step,
        label: stepLabel(step),
        messages: [],
        elapsed: last?.elapsed ?? 0,
        status: 'failed'
      };
      rows.push(failed);
    }
    if (failed !== undefined) {
      failed.status = 'failed';
    }
  }
  return rows;
}

/** Seconds the job has run, as far as its steps tell. */
export function jobElapsed(job: IPublishJob): number {
  return job.steps.reduce((most, step) => Math.max(most, step.elapsed), 0);
}

/** One line on where the job stands. */
export function jobSummary(job: IPublishJob): string {
  const elapsed = formatElapsed(jobElapsed(job));
  switch (job.state) {
    case 'running': {
      const current = job.steps[job.steps.length - 1];
      return current
        ? `Publishing: ${stepLabel(current.step).toLowerCase()} (${elapsed})`
        : 'Publishing: starting';
    }
    case 'succeeded':
      return job.result
        ? job.result.canary
          ? `Published ${job.result.name} version ${job.result.version} as a canary in ${elapsed}.`
          : `Published ${job.result.name} version ${job.result.version} in ${elapsed}.`
        : `Published in ${elapsed}.`;
    case 'failed': {
      const where = job.error?.step
        ? ` at ${stepLabel(job.error.step).toLowerCase()}`
        : '';
      const cell = job.error?.cell ? ` (cell ${job.error.cell})` : '';
      return `Publishing failed${where}${cell}: ${job.error?.message ?? 'no reason given'}`;
    }
  }
}

/** The versions newest first, and whether each may be rolled back to (it was live before). */
export function versionRows(
  versions: readonly IServiceVersion[]
): { version: IServiceVersion; canRollback: boolean }[] {
  return [...versions]
    .sort((a, b) => b.version - a.version)
    .map(version => ({ version, canRollback: version.status === 'previous' }));
}

/** An ISO time as `2024-05-01 14:03`, in the viewer's time zone; the text itself if it is no date. */
export function formatCreated(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** A message's first line, and the lines after it ('' when there are none). */
export function splitMessage(message: string): { first: string; rest: string } {
  const text = message.trim();
  const end = text.indexOf('\n');
  return end < 0
    ? { first: text, rest: '' }
    : { first: text.slice(0, end).trim(), rest: text.slice(end + 1) };
}
