// A pure in-memory driver for FSM scenarios: applies actions, keeps timers on a manual clock,
// records what was sent. No sockets, no real time.
import { step } from '../../fsm/fsm.js';
import type { Action, Event, SessionState, TimerName } from '../../fsm/types.js';
import type { Message } from '../../proto/types.js';

export class Sim {
  now: number;
  s: SessionState;
  readonly sent: { at: number; message: Message }[] = [];
  readonly log: Action[] = [];
  private readonly deadlines = new Map<TimerName, number>();

  constructor(s: SessionState, now: number) {
    this.s = s;
    this.now = now;
  }

  fire(e: Event): Action[] {
    const r = step(this.s, e, this.now);
    this.s = r.state;
    for (const a of r.actions) {
      this.log.push(a);
      if (a.type === 'setTimer') this.deadlines.set(a.timer, this.now + a.seconds * 1000);
      else if (a.type === 'stopTimer') this.deadlines.delete(a.timer);
      else if (a.type === 'send') this.sent.push({ at: this.now, message: a.message });
    }
    return [...r.actions];
  }

  timerRunning(name: TimerName): boolean {
    return this.deadlines.has(name);
  }

  /** Advance the clock to `until`, firing timers in deadline order. */
  advanceTo(until: number): void {
    for (;;) {
      let next: [TimerName, number] | null = null;
      for (const [name, at] of this.deadlines) if (at <= until && (next === null || at < next[1])) next = [name, at];
      if (next === null) break;
      this.now = next[1];
      this.deadlines.delete(next[0]);
      this.fire(EXPIRY[next[0]]);
    }
    this.now = until;
  }

  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }
}

const EXPIRY: Record<TimerName, Event> = {
  connectRetry: { type: 'ConnectRetryTimer_Expires' },
  hold: { type: 'HoldTimer_Expires' },
  keepalive: { type: 'KeepaliveTimer_Expires' },
  delayOpen: { type: 'DelayOpenTimer_Expires' },
  idleHold: { type: 'IdleHoldTimer_Expires' },
};
