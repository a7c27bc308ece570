// The CLI's atomic writes: datasets' atomicWriteFile, except that the target's folder must exist
// (a missing --out parent is the user's error to hear about, not a folder to invent).
import { atomicWriteFile } from '@noether/datasets';

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  atomicWriteFile(target, data, { createDir: false });
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}
