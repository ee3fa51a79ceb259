// Sessions Must-show 1 against bird2: wren active, passive and colliding (RFC 4271 §6.8) over IPv4
// and IPv6, each staying up for three hold times with no NOTIFICATION on the wire.
import t from 'tap';
import { labFor, requireLab } from '../lab/lib/index.js';
import { sessionMatrix } from './sessions-lib.js';

if (await requireLab(t, ['bird2', 'tshark'])) {
  t.test('bird2: active, passive, collision x IPv4, IPv6; three hold times up', async (t) => {
    const lab = await labFor(t);
    await sessionMatrix(t, lab, 'bird2');
  });
}
