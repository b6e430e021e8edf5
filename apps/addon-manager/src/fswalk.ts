// The directory walk of one pass and the staging of packaged files (the shell's disk I/O).

import { lstat, mkdir, readdir, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ScannedFile, StagedFile } from '@portico/addon';

/**
 * Every file under `root`, recursively, as `/`-separated relative paths. Directories whose name
 * starts with `.` are not entered (a projected ConfigMap's `..data` and `..<timestamp>`); their
 * files are reached through the top-level symlinks instead. A symlink to a directory is followed
 * once (its files are flagged `viaSymlinkDir`); a symlink loop is not followed again.
 */
export async function walkManifests(root: string): Promise<ScannedFile[]> {
  const out: ScannedFile[] = [];
  const seenDirs = new Set<string>();
  const visit = async (abs: string, rel: string, viaLink: boolean): Promise<void> => {
    const real = await realpath(abs);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let st;
      try {
        const l = await lstat(childAbs);
        st = l.isSymbolicLink() ? await stat(childAbs) : l;
        if (st.isDirectory()) {
          if (name.startsWith('.')) continue;
          await visit(childAbs, childRel, viaLink || l.isSymbolicLink());
        } else if (st.isFile()) {
          out.push(viaLink ? { relPath: childRel, viaSymlinkDir: true } : { relPath: childRel });
        }
      } catch {
        // A dangling symlink or a file removed during the walk: not a file of this pass.
        continue;
      }
    }
  };
  await visit(root, '', false);
  return out;
}

/** Writes staged packaged files (0600, directories 0700), overwriting local edits as K3s does. */
export async function writeStaged(root: string, files: readonly StagedFile[]): Promise<void> {
  for (const f of files) {
    const abs = join(root, f.relPath);
    await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
    await writeFile(abs, f.text, { mode: 0o600 });
  }
}

/** Removes a disabled file; a missing file is fine. */
export async function removeFile(root: string, relPath: string): Promise<void> {
  try {
    await unlink(join(root, relPath));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
