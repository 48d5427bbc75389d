// node:fs as it is, plus globSync where Node.js lacks it (before 22).
import fs from 'node:fs';

export * from 'node:fs';
export default fs;
export const globSync =
  fs.globSync ??
  (() => {
    throw new Error('fs.globSync needs Node.js 22 or later (used by conformance tier-check only)');
  });
