// Glue for tap: a lab whose cleanup is tied to the test, and whose files survive a failure.
import type { TapLike } from './available.js';
import { Lab } from './lab.js';
import type { LabOptions } from './lab.js';

/**
 * Create a Lab closed by `t.teardown`. When the test has failed by then, the temp dir (configs,
 * daemon logs, pcaps) is kept and its path printed, so the failure can be looked into.
 */
export async function labFor(t: TapLike, opts: LabOptions = {}): Promise<Lab> {
  const lab = await Lab.create(opts);
  t.teardown(async () => {
    const keep = !t.passing();
    await lab.close(keep ? { keepFiles: true } : {});
  });
  return lab;
}
