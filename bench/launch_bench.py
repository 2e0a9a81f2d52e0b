"""Launch to the first usable screen: the console (sandbox mode) against a bare Textual app.

    .venv/bin/python bench/launch_bench.py [--runs 15] [--warmup 1] [--settle 3]

Both targets start in a fresh detached tmux session of exactly 120x40 on a dedicated
tmux server (``tmux -L launchbench``), alternating run by run so they see the same
machine state:

* ``bare`` — a Textual app written into a temporary file: a DataTable of 20 rows x 5
  columns (no Header) and a Footer. First usable screen: the last row (``row-20``) and
  the footer's ``Quit`` on the last line.
* ``console`` — ``.venv/bin/moment-tui --listen 127.0.0.1:0`` in sandbox mode: HOME,
  XDG_CONFIG_HOME and XDG_DATA_HOME point into a fresh temporary directory per run and
  every ``MOMENT_*`` variable is unset. First usable screen: the mode banner
  (``Sandbox``) on the first line and the footer's ``Quit`` on the last.

The clock starts just before ``new-session``; the pane is then captured every
``--poll`` seconds (5 ms) until every marker is on screen. Markers are
``[WHERE:]TEXT`` with WHERE ``first``, ``last`` or a 1-based line number (negative
counts from the bottom); without WHERE, TEXT may be anywhere. Change them with
``--bare-marker`` / ``--console-marker`` when the screens change.

At that moment the app process's VmRSS and VmHWM (``/proc/PID/status``) are read, and
again ``--settle`` seconds later (the console keeps starting its sandbox, listener and
sync in the background); then the session is killed. tmux commands go through one
control-mode client (about 0.2 ms a round trip) instead of a tmux process per poll
(about 4 ms of CPU each, which would compete with the app on 2 cores);
``--via subprocess`` uses a tmux process per command instead. The tmux overhead is
measured with ``true`` (and ``python -c pass``) until the pane is dead, and reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

SOCKET = "launchbench"
WIDTH, HEIGHT = 120, 40
BIN = Path(sys.executable).parent  # .venv/bin: the same interpreter runs both targets
SHELLS = frozenset({"sh", "dash", "bash", "zsh", "ksh", "fish", "env"})
GOAL_RATIO = 1.6
GOAL_RSS_MIB = 60.0

BARE_APP = '''\
"""launch_bench's baseline: a bare Textual app with a 20-row DataTable and a Footer."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer


class Bare(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(f"col-{c}" for c in range(1, 6)))
        table.add_rows(
            [f"row-{r}", *(f"r{r}c{c}" for c in range(2, 6))] for r in range(1, 21)
        )
        table.focus()


if __name__ == "__main__":
    Bare().run()
'''


# --- markers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """TEXT on one line of the pane (``line`` is 1-based, negative from the bottom)."""

    text: str
    line: int | None = None  # None: anywhere

    @classmethod
    def parse(cls, spec: str) -> Marker:
        match = re.fullmatch(r"(first|last|-?\d+):(.+)", spec, re.DOTALL)
        if match is None:
            return cls(spec)
        where, text = match.groups()
        line = {"first": 1, "last": -1}.get(where) or int(where)
        if line == 0 or abs(line) > HEIGHT:
            raise argparse.ArgumentTypeError(f"marker line must be 1..{HEIGHT} or -1..-{HEIGHT}")
        return cls(text, line)

    def found(self, lines: Sequence[str]) -> bool:
        if self.line is None:
            return any(self.text in line for line in lines)
        index = self.line - 1 if self.line > 0 else HEIGHT + self.line
        return index < len(lines) and self.text in lines[index]

    def __str__(self) -> str:
        return self.text if self.line is None else f"{self.line}:{self.text}"


# --- tmux -----------------------------------------------------------------------------


class TmuxError(RuntimeError):
    pass


def tmux_quote(word: str) -> str:
    """One word for tmux's command parser (control mode reads command lines)."""
    if "'" not in word:
        return f"'{word}'"
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


class Tmux:
    """Commands to the dedicated tmux server: through one control-mode client attached
    to an idle holder session (``via="control"``), or one tmux process per command."""

    def __init__(self, env: dict[str, str], via: str) -> None:
        self.env = env
        self.via = via
        self.holder = f"lb{os.getpid()}-hold"
        self.base = ["tmux", "-u", "-L", SOCKET]
        self.client: subprocess.Popen[str] | None = None

    def __enter__(self) -> Tmux:
        # -f /dev/null: a user's tmux.conf (status line, sizes, shell) must not count;
        # it only applies when this call starts the server.
        holder = ["-d", "-s", self.holder, "-x", "80", "-y", "24", "sleep", "2147483647"]
        self._spawn("-f", "/dev/null", "new-session", *holder)
        if self.via == "control":
            self.client = subprocess.Popen(
                [*self.base, "-C", "attach-session", "-t", self.holder],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=self.env,
            )
        # A pane whose program exits stays (dead) until killed: its last screen shows why.
        self.run("set-option", "-g", "remain-on-exit", "on")
        self.run("set-option", "-g", "default-terminal", "tmux-256color")
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(TmuxError, OSError):
            self.run("kill-session", "-t", self.holder)
        if self.client is not None:
            with contextlib.suppress(OSError):
                assert self.client.stdin is not None
                self.client.stdin.close()
            try:
                self.client.wait(5)
            except subprocess.TimeoutExpired:
                self.client.kill()
                self.client.wait()

    def _spawn(self, *args: str) -> list[str]:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, env=self.env, check=False
        )
        if done.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.splitlines()

    def run(self, *args: str) -> list[str]:
        """Run one tmux command; its output lines."""
        if self.client is None:
            return self._spawn(*args)
        stdin, stdout = self.client.stdin, self.client.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(" ".join(map(tmux_quote, args)) + "\n")
        stdin.flush()
        output: list[str] | None = None  # inside our reply's %begin … %end
        while True:
            line = stdout.readline()
            if not line:
                raise TmuxError("the tmux control client exited")
            if output is None:
                # Flag 1: a reply to this client's command; flag 0 (the attach) and
                # notifications (%output, %sessions-changed …) are skipped.
                if line.startswith("%begin ") and line.split()[-1] == "1":
                    output = []
                continue
            if line.startswith(("%end ", "%error ")) and line.split()[-1] == "1":
                if line.startswith("%error"):
                    raise TmuxError(f"tmux {' '.join(args)}: {' '.join(output).strip()}")
                return output
            output.append(line.removesuffix("\n"))

    def capture(self, session: str) -> list[str]:
        return self.run("capture-pane", "-p", "-t", session)

    def pane(self, session: str) -> tuple[int, bool]:
        """The pane's pid, and whether its program has exited."""
        out = self.run("display-message", "-p", "-t", session, "#{pane_pid} #{pane_dead}")
        pid, dead = out[0].split()
        return int(pid), dead == "1"

    def kill(self, session: str) -> None:
        with contextlib.suppress(TmuxError):
            self.run("kill-session", "-t", session)


# --- processes ------------------------------------------------------------------------


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:  # no CONFIG_PROC_CHILDREN: scan every process's parent
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(stat.parent.name))
        return found


def app_process(pane_pid: int) -> int:
    """The app under the pane: the pane itself, or (through a shell or env) its child."""
    pid = pane_pid
    for _ in range(5):
        kids = children(pid)
        if comm(pid) not in SHELLS or not kids:
            break
        pid = kids[0]
    return pid


def memory(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM in MiB (NaN once the process is gone)."""
    values = {"VmRSS": float("nan"), "VmHWM": float("nan")}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def wait_gone(pid: int, timeout: float = 5.0) -> None:
    """Until ``pid`` has exited (the tmux server reaps it); SIGKILL after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return
        if state in "ZX":
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- one launch -----------------------------------------------------------------------


@dataclass
class Target:
    name: str
    argv: list[str]
    markers: list[Marker]


@dataclass
class Sample:
    target: str
    ms: float
    polls: int
    rss_first: float  # MiB at the first usable screen
    hwm_first: float
    rss_settled: float  # MiB --settle seconds later
    hwm_settled: float  # the peak so far
    screen: list[str] = field(default_factory=list, repr=False)


class LaunchFailed(Exception):
    def __init__(self, why: str, screen: list[str]) -> None:
        super().__init__(why)
        self.screen = screen


class Bench:
    def __init__(self, tmux: Tmux, args: argparse.Namespace) -> None:
        self.tmux = tmux
        self.args = args
        self.count = 0

    def _session(self) -> str:
        self.count += 1
        return f"lb{os.getpid()}-{self.count}"

    def _argv(self, home: Path, argv: Sequence[str]) -> list[str]:
        """``argv`` under env: no MOMENT_* variable, HOME and XDG dirs in ``home``."""
        unset = {"MOMENT_API_KEY", "MOMENT_WEBHOOK_SECRET"}
        unset |= {k for k in os.environ if k.startswith("MOMENT_")}
        env = ["env"]
        for name in sorted(unset):
            env += ["-u", name]
        env += [f"HOME={home}", f"XDG_CONFIG_HOME={home}/config", f"XDG_DATA_HOME={home}/data"]
        return [*env, *self.args.env, *argv]

    def _start(self, session: str, argv: Sequence[str]) -> float:
        size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
        started = time.perf_counter()
        self.tmux.run("new-session", "-d", *size, "-s", session, *argv)
        return started

    def launch(self, target: Target) -> Sample:
        session = self._session()
        home = Path(tempfile.mkdtemp(prefix="launchbench-"))
        pid: int | None = None
        try:
            started = self._start(session, self._argv(home, target.argv))
            polls = 0
            while True:
                lines = self.tmux.capture(session)
                elapsed = time.perf_counter() - started
                polls += 1
                if all(marker.found(lines) for marker in target.markers):
                    break
                if polls % 20 == 0 and self.tmux.pane(session)[1]:
                    screen = self.tmux.capture(session)  # what it printed on its way out
                    raise LaunchFailed("the program exited before its first screen", screen)
                if elapsed > self.args.timeout:
                    raise LaunchFailed(f"no first screen after {self.args.timeout:g} s", lines)
                time.sleep(self.args.poll)
            pid = app_process(self.tmux.pane(session)[0])
            rss_first, hwm_first = memory(pid)
            time.sleep(self.args.settle)
            rss_settled, hwm_settled = memory(pid)
            return Sample(
                target.name,
                elapsed * 1000,
                polls,
                rss_first,
                hwm_first,
                rss_settled,
                hwm_settled,
                lines,
            )
        finally:
            if pid is None:
                with contextlib.suppress(TmuxError, IndexError, ValueError):
                    pid = app_process(self.tmux.pane(session)[0])
            self.tmux.kill(session)
            if pid is not None:
                wait_gone(pid)
            shutil.rmtree(home, ignore_errors=True)

    def until_dead(self, argv: Sequence[str]) -> float:
        """Milliseconds from new-session until the pane's program has exited."""
        session = self._session()
        home = Path(tempfile.mkdtemp(prefix="launchbench-"))
        try:
            started = self._start(session, self._argv(home, argv))
            while not self.tmux.pane(session)[1]:
                if time.perf_counter() - started > self.args.timeout:
                    raise LaunchFailed(f"{argv[0]} still running", self.tmux.capture(session))
                time.sleep(self.args.poll)
            return (time.perf_counter() - started) * 1000
        finally:
            self.tmux.kill(session)
            shutil.rmtree(home, ignore_errors=True)

    def round_trip(self, session: str, count: int = 50) -> float:
        """Milliseconds per capture-pane: the resolution of the first-screen clock."""
        began = time.perf_counter()
        for _ in range(count):
            self.tmux.capture(session)
        return (time.perf_counter() - began) * 1000 / count


# --- figures --------------------------------------------------------------------------


def p90(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(samples: dict[str, list[Sample]], failures: dict[str, int]) -> None:
    print()
    print(
        f"{'target':<9}{'runs':>5}{'median':>9}{'p90':>8}{'min':>8}{'max':>8}   "
        f"{'RSS first':>9}{'+settle':>9}{'peak':>7}  (ms; MiB, medians)"
    )
    for name, runs in samples.items():
        ms = [s.ms for s in runs]
        failed = f"   {failures[name]} failed" if failures[name] else ""
        if not ms:
            print(f"{name:<9}{0:>5}   no successful run{failed}")
            continue
        print(
            f"{name:<9}{len(ms):>5}{median(ms):>9.0f}{p90(ms):>8.0f}{min(ms):>8.0f}"
            f"{max(ms):>8.0f}   {median([s.rss_first for s in runs]):>9.1f}"
            f"{median([s.rss_settled for s in runs]):>9.1f}"
            f"{median([s.hwm_settled for s in runs]):>7.1f}{failed}"
        )
    bare = median([s.ms for s in samples["bare"]])
    console = median([s.ms for s in samples["console"]])
    ratio = console / bare
    first = median([s.rss_first for s in samples["console"]])
    settled = median([s.rss_settled for s in samples["console"]])
    peak = median([s.hwm_settled for s in samples["console"]])
    print()
    print(
        f"console / bare (medians): {ratio:.2f}x   goal <= {GOAL_RATIO}x: "
        f"{'met' if ratio <= GOAL_RATIO else 'not met'}"
    )
    print(
        f"console RSS at first screen: {first:.1f} MiB   goal <= {GOAL_RSS_MIB:.0f} MiB: "
        f"{'met' if first <= GOAL_RSS_MIB else 'not met'}   "
        f"(+settle {settled:.1f} MiB, peak {peak:.1f} MiB)"
    )


def show_screen(title: str, lines: Sequence[str]) -> None:
    print(f"--- {title} " + "-" * max(0, WIDTH - len(title) - 5))
    shown = [line.rstrip() for line in lines]
    while shown and not shown[-1]:
        shown.pop()
    for line in shown:
        print(line)
    print("-" * WIDTH)


# --- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each target")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs of each first")
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between captures")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to the second RSS")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per launch")
    parser.add_argument(
        "--bare-marker",
        nargs="+",
        type=Marker.parse,
        default=[Marker("row-20"), Marker("Quit", -1)],
        metavar="[WHERE:]TEXT",
        help="all on screen: the bare app is usable",
    )
    parser.add_argument(
        "--console-marker",
        nargs="+",
        type=Marker.parse,
        default=[Marker("Sandbox", 1), Marker("Quit", -1)],
        metavar="[WHERE:]TEXT",
        help="all on screen: the console is usable",
    )
    parser.add_argument(
        "--console-cmd",
        default=f"{BIN / 'moment-tui'} --listen 127.0.0.1:0",
        help="the console's command line (sandbox mode: no MOMENT_* variable is passed)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for both targets (repeatable)",
    )
    parser.add_argument("--via", choices=["control", "subprocess"], default="control")
    parser.add_argument("--show-screen", action="store_true", help="print each first screen")
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("this benchmark needs tmux: apt-get install -y tmux")
    if any("=" not in e for e in args.env):
        parser.error("--env takes NAME=VALUE")

    with tempfile.TemporaryDirectory(prefix="launchbench-") as folder:
        bare_py = Path(folder) / "bare_app.py"
        bare_py.write_text(BARE_APP)
        targets = [
            Target("bare", [sys.executable, str(bare_py)], args.bare_marker),
            Target("console", shlex.split(args.console_cmd), args.console_marker),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MOMENT_", "TMUX"))}
        with Tmux(env, args.via) as tmux:
            run(Bench(tmux, args), targets, args)


def run(bench: Bench, targets: list[Target], args: argparse.Namespace) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"launch to first usable screen · tmux {WIDTH}x{HEIGHT} · {args.runs} runs each, "
        f"alternating · {os.cpu_count()} cores · load {load} · via {args.via}"
    )
    for target in targets:
        print(f"  {target.name:<8} {shlex.join(target.argv)}")
        print(f"  {'':<8} markers: {', '.join(map(str, target.markers))}")

    overhead = [bench.until_dead(["true"]) for _ in range(max(5, args.runs))]
    python = [bench.until_dead([sys.executable, "-c", "pass"]) for _ in range(max(5, args.runs))]
    print(
        f"tmux overhead (medians): `true` until its pane is dead {median(overhead):.1f} ms; "
        f"`python -c pass` {median(python):.0f} ms; "
        f"one capture-pane {bench.round_trip(bench.tmux.holder):.2f} ms"
    )

    samples: dict[str, list[Sample]] = {t.name: [] for t in targets}
    failures = dict.fromkeys(samples, 0)
    for index in range(args.warmup + args.runs):
        measured = index >= args.warmup
        label = f"run {index - args.warmup + 1}" if measured else f"warm-up {index + 1}"
        for target in targets:
            try:
                sample = bench.launch(target)
            except LaunchFailed as exc:
                failures[target.name] += int(measured)
                print(f"  {label} {target.name}: FAILED: {exc}")
                show_screen(f"{target.name}: last screen", exc.screen)
                continue
            print(
                f"  {label:<10} {target.name:<8} {sample.ms:7.0f} ms  {sample.polls:4d} polls  "
                f"RSS {sample.rss_first:5.1f} → {sample.rss_settled:5.1f} MiB, "
                f"peak {sample.hwm_settled:5.1f}",
                flush=True,
            )
            if args.show_screen:
                show_screen(f"{target.name}: first usable screen", sample.screen)
            if measured:
                samples[target.name].append(sample)

    if not all(samples.values()):
        sys.exit("no successful run of a target: see the screens above")
    report(samples, failures)
    if args.json:
        rows = [
            {k: v for k, v in asdict(s).items() if k != "screen"}
            for runs in samples.values()
            for s in runs
        ]
        args.json.write_text(json.dumps({"overhead_ms": overhead, "samples": rows}, indent=1))


if __name__ == "__main__":
    main()
