"""progress=True: a progress bar over a fit's steps (tqdm's when tqdm is importable, else a plain line)."""
import sys
import time


class ProgressBar:
    """Called after every step with an ngvi.Progress; shows the step, the distributions still running
    and the mean ELBO. With tqdm: a bar of `total` steps. Without: one line on stderr at most twice a
    second (rewritten in place on a terminal), and a last one at close()."""

    def __init__(self, total, description="ngvi"):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._bar = tqdm(total=total, desc=description, unit="step", leave=True) if tqdm else None
        self._total, self._description = total, description
        self._last, self._shown = None, 0.0

    def __call__(self, p):
        self._last = p
        if self._bar is not None:
            self._bar.set_postfix(active=p.active, elbo=f"{p.mean_elbo:.6g}", refresh=False)
            self._bar.update(p.iteration - self._bar.n)
        elif time.monotonic() - self._shown >= 0.5:
            self._shown = time.monotonic()
            self._write(end="\r" if sys.stderr.isatty() else "\n")
        return True

    def _write(self, end):
        p = self._last
        sys.stderr.write(f"{self._description}: step {p.iteration}/{self._total}, {p.active} running, "
                         f"mean ELBO {p.mean_elbo:.6g}, {p.seconds:.1f} s{end}")
        sys.stderr.flush()

    def close(self):
        """Ends the bar (or writes the last line)."""
        if self._bar is not None:
            self._bar.close()
        elif self._last is not None:
            self._write(end="\n")
        self._last = None
