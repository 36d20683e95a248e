/**
 * The files a publish ships with the service, as the check reports them.
 */

import type { IShippedFile } from '../tokens';

/** A size for people: bytes, KiB or MiB with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} bytes`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KiB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The total size of `files`. */
export function totalBytes(files: IShippedFile[]): number {
  return files.reduce((sum, file) => sum + file.bytes, 0);
}
