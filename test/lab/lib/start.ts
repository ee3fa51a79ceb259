// One call to create and start a speaker of any kind.
import { Bird1Speaker, Bird2Speaker } from './bird.js';
import { FrrSpeaker } from './frr.js';
import { GobgpSpeaker } from './gobgp.js';
import { WrenSpeaker } from './wren.js';
import type { Host } from './lab.js';
import type { Speaker, SpeakerConfig, SpeakerKind } from './speaker.js';

/** Create a speaker of `kind` on `host` and start it (waits until its CLI answers). */
export async function startSpeaker(kind: SpeakerKind, host: Host, config: SpeakerConfig): Promise<Speaker> {
  const s: Speaker = (() => {
    switch (kind) {
      case 'bird2':
        return new Bird2Speaker(host, config);
      case 'bird1':
        return new Bird1Speaker(host, config);
      case 'gobgp':
        return new GobgpSpeaker(host, config);
      case 'frr':
        return new FrrSpeaker(host, config);
      case 'wren':
        return new WrenSpeaker(host, config);
    }
  })();
  await s.start();
  return s;
}
