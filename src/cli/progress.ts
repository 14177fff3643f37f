/** Progress on stderr: a bar with images per second on a terminal, a plain line per batch otherwise. */
import { SingleBar } from 'cli-progress';

export class Progress {
  private readonly bar: SingleBar | undefined;
  private readonly start = performance.now();
  private count = 0;

  constructor(private readonly total: number) {
    if (process.stderr.isTTY) {
      this.bar = new SingleBar({
        stream: process.stderr,
        format: 'extracting [{bar}] {value}/{total} images | {speed} img/s | ETA {eta_formatted}',
        barCompleteChar: '#',
        barIncompleteChar: '-',
      });
      this.bar.start(total, 0, { speed: '0.0' });
    }
  }

  private speed(): string {
    return (this.count / ((performance.now() - this.start) / 1000)).toFixed(1);
  }

  advance(n: number): void {
    this.count += n;
    if (this.bar !== undefined) this.bar.update(this.count, { speed: this.speed() });
    else process.stderr.write(`extracted ${this.count}/${this.total} images (${this.speed()} img/s)\n`);
  }

  stop(): void {
    this.bar?.stop();
  }
}
