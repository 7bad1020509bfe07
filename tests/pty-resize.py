#!/usr/bin/python3
"""pty-resize.py — the progress display of `cnn train` against a terminal
(tests/pty-resize.sh runs it; standard library only: pty, fcntl, termios,
struct).

  pty-resize.py CNN_BIN TMPDIR

1. Resizing: trains on a small generated data set under a pseudo-terminal
   of 120 columns and resizes it while training runs (120, 50, 80, 30, 120,
   50 columns; TIOCSWINSZ on the master and SIGWINCH to the child, the
   child stopped meanwhile so the captured output splits exactly at each
   resize).  The captured output is played on an emulated screen of the
   width in force: a line holding a carriage return (a bar redrawn in
   place) must never run past the last column (it would wrap and leave a
   fragment in the scrollback); after each widening, a line longer than
   the old width shows the width was measured again.  Then SIGINT stops
   the run (exit 130).
2. Plain output: with TERM=dumb and with TERM unset (under the pty), and
   with stderr a pipe, no carriage return and no escape code; each epoch's
   line (with --validate) starts "epoch: " and fits in 100 columns.

Prints one line per failure and exits 1 when any; 0 otherwise.
"""
import errno
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

WIDTHS = [120, 50, 80, 30, 120, 50]
REDRAWS_PER_WIDTH = 4      # bar redraws seen at a width before the next
TRAIN_IMAGES, TEST_IMAGES = 2000, 300
failures = []
WORKDIR = "."   # the children's working directory: TMPDIR


def fail(msg):
    failures.append(msg)


def write_idx(dirname, prefix, n, seed):
    """An IDX image file and label file of n random 28x28 images."""
    rnd = (seed * 2654435761) & 0xffffffff
    labels = bytearray()
    for _ in range(n):
        rnd = (rnd * 1103515245 + 12345) & 0x7fffffff
        labels.append(rnd % 10)
    with open(os.path.join(dirname, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write(os.urandom(n * 28 * 28))
    with open(os.path.join(dirname, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(bytes(labels))


def set_size(fd, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))


def spawn(argv, term, cols):
    """argv under a new pty of cols columns (output post-processing off,
    so bytes arrive as written; stdout to /dev/null): (pid, master fd)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            set_size(1, cols)
            attrs = termios.tcgetattr(1)
            attrs[1] &= ~termios.OPOST
            termios.tcsetattr(1, termios.TCSANOW, attrs)
            os.chdir(WORKDIR)  # a checkpoint of the stopped run goes there
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            env = dict(os.environ, OMP_NUM_THREADS="1")
            env.pop("COLUMNS", None)
            if term is None:
                env.pop("TERM", None)
            else:
                env["TERM"] = term
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    return pid, fd


def read_some(fd, timeout):
    """Bytes the child wrote within timeout seconds; b"" at its end."""
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return None
    try:
        return os.read(fd, 65536)
    except OSError as e:
        if e.errno == errno.EIO:  # the child closed the slave
            return b""
        raise


def drain(fd):
    """Everything already written (the child being stopped)."""
    out = b""
    while True:
        chunk = read_some(fd, 0.05)
        if not chunk:
            return out
        out += chunk


def finish(pid, fd, out):
    while True:
        chunk = read_some(fd, 30)
        if not chunk:
            break
        out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return out, os.waitstatus_to_exitcode(status)


def run_resizing(argv):
    """Train under the pty, resizing it: (output, [(offset, width)], rc)."""
    pid, fd = spawn(argv, "xterm", WIDTHS[0])
    out, schedule, k, deadline = b"", [(0, WIDTHS[0])], 1, time.time() + 120
    while time.time() < deadline:
        chunk = read_some(fd, 1)
        if chunk == b"":
            break
        out += chunk or b""
        if k < len(WIDTHS) and out[schedule[-1][0]:].count(b"\r") >= REDRAWS_PER_WIDTH:
            os.kill(pid, signal.SIGSTOP)
            os.waitpid(pid, os.WUNTRACED)
            out += drain(fd)
            schedule.append((len(out), WIDTHS[k]))
            set_size(fd, WIDTHS[k])
            os.kill(pid, signal.SIGWINCH)
            os.kill(pid, signal.SIGCONT)
            k += 1
        # After the last width has had its redraws: stop training (SIGINT:
        # it ends the step, leaves no bar unfinished, exits 130).
        if k == len(WIDTHS) and out[schedule[-1][0]:].count(b"\r") >= 2 * REDRAWS_PER_WIDTH:
            os.kill(pid, signal.SIGINT)
            k += 1
    out, rc = finish(pid, fd, out)
    if k < len(WIDTHS):
        fail(f"resize: training ended after {k} of {len(WIDTHS)} widths "
             f"(too few redraws); output: {out[-300:]!r}")
    return out, schedule, rc


def play(out, schedule):
    """Play out on a screen of the scheduled widths: the lines holding a
    carriage return that wrapped [(width, text)], and the longest run of
    characters drawn from a line's start after each change of width."""
    text = out.decode("utf-8", "replace")
    cuts = [len(out[:o].decode("utf-8", "replace")) for o, _ in schedule]
    longest = [0] * len(schedule)
    bad, seg, i = [], 0, 0
    col = run = 0            # cursor column; characters since \r or \n
    wrapped = has_cr = reported = False
    line = ""
    while i < len(text):
        while seg + 1 < len(cuts) and i >= cuts[seg + 1]:
            seg += 1
        width, c = schedule[seg][1], text[i]
        i += 1
        if c == "\x1b":  # CSI ... final byte, or ESC and one character
            if i < len(text) and text[i] == "[":
                i += 1
                while i < len(text) and not ("@" <= text[i] <= "~"):
                    i += 1
            i += 1
            continue
        if c == "\n":
            col = run = 0
            wrapped = has_cr = reported = False
            line = ""
            continue
        if c == "\r":
            col = run = 0
            has_cr = True
            line = ""
        else:
            if col == width:  # autowrap: the line goes on a row below
                col, wrapped = 0, True
            col += 1
            run += 1
            line += c
            longest[seg] = max(longest[seg], run)
        if wrapped and has_cr and not reported:
            bad.append((width, line))
            reported = True
    return bad, longest


def check_resizing(cnn, data):
    argv = [cnn, "train", "--data", data, "--epochs", "1000", "--batch", "32", "--threads", "1",
            "--seed", "1", "--validate"]
    out, schedule, rc = run_resizing(argv)
    if rc != 130:
        fail(f"resize: cnn train exited {rc}: {out[-300:]!r}")
    bad, longest = play(out, schedule)
    for width, line in bad[:5]:
        fail(f"resize: a redrawn line wrapped at {width} columns: {line[:160]!r}")
    if len(bad) > 5:
        fail(f"resize: {len(bad) - 5} more wrapped lines")
    for k in range(1, len(schedule)):
        old, new = schedule[k - 1][1], schedule[k][1]
        if new > old and longest[k] <= old:
            fail(f"resize: after widening {old} -> {new} columns no line was longer "
                 f"than {old} (width not measured again?)")
    if b"\r" not in out or b"\x1b[K" not in out:
        fail("resize: no bar redrawn in place on a terminal")


def plain_checks(name, out, want=2):
    text = out.decode("utf-8", "replace")
    if "\r" in text or "\x1b" in text:
        k = min(p for p in (text.find("\r"), text.find("\x1b")) if p >= 0)
        fail(f"{name}: a carriage return or escape code in plain output: "
             f"{text[max(0, k - 60):k + 20]!r}")
    epochs = [ln for ln in text.split("\n") if ln.startswith("epoch: ")]
    if len(epochs) != want:
        fail(f"{name}: {len(epochs)} 'epoch: ' lines, expected {want}: {text[-400:]!r}")
    for ln in epochs:
        if len(ln) > 100 or "val_acc: " not in ln:
            fail(f"{name}: epoch line of {len(ln)} columns (over 100, or no val_acc): {ln!r}")


def check_plain(cnn, data):
    argv = [cnn, "train", "--data", data, "--epochs", "2", "--batch", "64", "--threads", "1",
            "--seed", "1", "--validate"]
    for term in ("dumb", None):
        pid, fd = spawn(argv, term, 120)
        out, rc = finish(pid, fd, b"")
        name = f"TERM={term}" if term else "TERM unset"
        if rc != 0:
            fail(f"{name}: cnn train exited {rc}: {out[-300:]!r}")
        plain_checks(name, out)
    env = dict(os.environ, TERM="xterm", OMP_NUM_THREADS="1")
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                       cwd=WORKDIR)
    if r.returncode != 0:
        fail(f"stderr a pipe: cnn train exited {r.returncode}: {r.stderr[-300:]!r}")
    plain_checks("stderr a pipe", r.stderr)
    # The widest line: "epoch: 100/100", validated, six-figure images/s.
    argv = [cnn, "train", "--data", data, "--model", "logreg", "--epochs", "100", "--batch",
            str(TRAIN_IMAGES), "--threads", "1", "--seed", "1", "--validate"]
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                       cwd=WORKDIR)
    if r.returncode != 0:
        fail(f"100 epochs: cnn train exited {r.returncode}: {r.stderr[-300:]!r}")
    plain_checks("100 epochs", r.stderr, 100)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pty-resize.py CNN_BIN TMPDIR")
    global WORKDIR
    cnn, tmp = sys.argv[1], sys.argv[2]
    WORKDIR = tmp
    write_idx(tmp, "train", TRAIN_IMAGES, 1)
    write_idx(tmp, "t10k", TEST_IMAGES, 2)
    check_resizing(cnn, tmp)
    check_plain(cnn, tmp)
    for f in failures:
        print(f"pty-resize: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
