// Training progress: on a terminal one line rewritten in place; otherwise plain lines
// (about 20 per phase, plus the last step), so logs stay readable.
import type { Io } from '../cli/io.js';

export interface ProgressUpdate {
  phase: string;
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  loss: number;
  gradNormTheta: number;
  gradNormPhi: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

const num = (v: number) => (Number.isFinite(v) ? v.toExponential(3) : String(v));

export class Progress {
  private t0 = Date.now();
  private firstStep: number | undefined;
  private lastLen = 0;
  private open = false;

  constructor(private readonly io: Io, private readonly enabled = true) {}

  /** Starts timing a phase (ETA counts only steps done in this process). */
  start(): void {
    this.t0 = Date.now();
    this.firstStep = undefined;
  }

  update(u: ProgressUpdate): void {
    if (!this.enabled) return;
    if (this.firstStep === undefined) {
      this.firstStep = u.step - 1;
      this.t0 = Date.now();
    }
    const done = u.step - this.firstStep;
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed / done) * (u.totalSteps - u.step) : NaN;
    const pct = u.totalSteps ? Math.floor((100 * u.step) / u.totalSteps) : 100;
    const line =
      `[${u.phase}] step ${u.step}/${u.totalSteps} (${pct}%)  epoch ${u.epoch + 1}/${u.epochs}  ` +
      `loss ${num(u.loss)}  |g| θ ${num(u.gradNormTheta)} φ ${num(u.gradNormPhi)}  ETA ${formatDuration(eta)}`;
    if (this.io.isTTY) {
      const clipped = line.length > this.io.columns - 1 ? line.slice(0, this.io.columns - 1) : line;
      this.io.err(`\r${clipped}\x1b[K`);
      this.lastLen = clipped.length;
      this.open = true;
      if (u.step === u.totalSteps) this.done();
    } else {
      const every = Math.max(1, Math.ceil(u.totalSteps / 20));
      if (u.step % every === 0 || u.step === u.totalSteps || u.step === this.firstStep + 1) this.io.err(line + '\n');
    }
  }

  /** Ends the rewritten line (before other output). */
  done(): void {
    if (this.open) {
      this.io.err('\n');
      this.open = false;
      this.lastLen = 0;
    }
  }
}
