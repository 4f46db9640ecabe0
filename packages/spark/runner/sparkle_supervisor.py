"""Sparkle Studio job supervisor: runs one spark-submit, detached from the process that submitted it.

Usage: python sparkle_supervisor.py --dir JOB_DIR [--max-log-bytes N] [--tail-bytes N] [--deadline EPOCH_MS]
                                    [--grace-ms N] [--warm] -- COMMAND...

@sparkle-studio/spark starts it as the leader of a new session and process group, and the submitting process may then
exit or be killed at any time. The supervisor:
- runs COMMAND (spark-submit) in the same process group, stdin closed, stdout and stderr into JOB_DIR/spark.log, which
  is capped: output is kept up to MAX minus TAIL bytes, then dropped, and the last TAIL bytes are appended when the
  job ends (so the beginning and the end of the log, where errors are, survive);
- stops the job at the deadline (SIGTERM to the job's processes, SIGKILL after the grace period) and records
  JOB_DIR/timeout.json before it does;
- when COMMAND exits, stops what is left of the process group and records JOB_DIR/exit.json
  {"code", "signal", "at", "timedOut"}.
With --warm, COMMAND is a driver started ahead of any job, waiting for one: the job is assigned when JOB_DIR/job.json
appears (its "deadline" is read from there), and a driver that ends without one removes JOB_DIR.
The values of the secrets the job's plan references are in JOB_DIR/redact.json (a JSON list, written before the job
starts or, for a warm driver, before job.json): the supervisor reads it, removes it, and replaces each value by *** in
everything it writes to the log (JVM and Python output alike).
Only the Python standard library is used.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

NOTE_PREFIX = b"[sparkle] "


def now_ms():
    return int(time.time() * 1000)


def write_json(path, value):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(value, fh)
    os.replace(tmp, path)


class Redactor:
    """Replaces secret values by *** in the output, a line at a time (a value split across two reads is still found)."""

    def __init__(self, path):
        self.path = path
        self.values = []
        self.pending = b""

    def load(self):
        """Reads (and removes) the job's values to redact, once they are there."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                values = json.load(fh)
        except (OSError, ValueError):
            return
        try:
            os.remove(self.path)
        except OSError:
            pass
        if not isinstance(values, list):
            values = []
        encoded = [v.encode("utf-8") for v in values if isinstance(v, str) and v]
        self.values = sorted(set(self.values) | set(encoded), key=len, reverse=True)

    def _apply(self, data):
        for value in self.values:
            data = data.replace(value, b"***")
        return data

    def feed(self, data):
        """The complete lines of the output so far, redacted; a line still being written waits (up to 64 KiB)."""
        if not self.values:
            return data
        data = self.pending + data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < 65536:
            self.pending = data
            return b""
        if cut == 0:
            cut = len(data)
        self.pending = data[cut:]
        return self._apply(data[:cut])

    def flush(self):
        data, self.pending = self.pending, b""
        return self._apply(data)


class CappedLog:
    """An append-only log file that keeps its first (max - tail) bytes and, at close, its last tail bytes."""

    def __init__(self, path, max_bytes, tail_bytes):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.tail_bytes = max(0, min(tail_bytes, max_bytes))
        self.head_limit = max(0, max_bytes - self.tail_bytes)
        self.written = os.fstat(self.fd).st_size
        self.capped = False
        self.dropped = 0
        self.tail = bytearray()

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.written += len(data)

    def write(self, data):
        if not self.capped:
            room = self.head_limit - self.written
            if len(data) <= room:
                self._write_all(data)
                return
            self._write_all(data[: max(0, room)])
            data = data[max(0, room) :]
            self.capped = True
            self._write_all(
                b"\n" + NOTE_PREFIX + b"the log reached its cap of %d bytes: further output is dropped, and its last "
                b"%d bytes are appended when the job ends\n" % (self.head_limit + self.tail_bytes, self.tail_bytes)
            )
        self.dropped += len(data)
        self.tail += data
        if len(self.tail) > self.tail_bytes:
            del self.tail[: len(self.tail) - self.tail_bytes]

    def note(self, text):
        self.write(NOTE_PREFIX + text.encode("utf-8", "replace") + b"\n")

    def close(self):
        if self.capped:
            kept = len(self.tail)
            self._write_all(
                b"\n" + NOTE_PREFIX + b"%d bytes were dropped at the cap; the last %d bytes of output follow:\n"
                % (self.dropped - kept, kept)
            )
            self._write_all(bytes(self.tail))
        os.close(self.fd)


def group_members(pgid):
    """Pids of the live (not zombie) processes in process group pgid, this one excluded."""
    me = os.getpid()
    members = []
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open("/proc/%s/stat" % name, "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 2 and fields[0] not in (b"Z", b"X") and int(fields[2]) == pgid:
                members.append(int(name))
        return members
    try:
        out = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "pgid=", "-o", "stat="], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return members
    for line in out.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == str(pgid) and int(parts[0]) != me and not parts[2].startswith("Z"):
            members.append(int(parts[0]))
    return members


def signal_members(pgid, sig):
    for pid in group_members(pgid):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def wait_members_gone(pgid, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if not group_members(pgid):
            return True
        time.sleep(0.05)
    return not group_members(pgid)


def parse_args(argv):
    if "--" not in argv:
        raise SystemExit("usage: sparkle_supervisor.py --dir DIR [options] -- COMMAND...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    values = {"--dir": None, "--max-log-bytes": "16777216", "--tail-bytes": "1048576", "--deadline": "0", "--grace-ms": "10000"}
    warm = "--warm" in options
    options = [o for o in options if o != "--warm"]
    i = 0
    while i < len(options):
        key = options[i]
        if key not in values or i + 1 >= len(options):
            raise SystemExit("unknown or incomplete option %r" % key)
        values[key] = options[i + 1]
        i += 2
    if not values["--dir"] or not command:
        raise SystemExit("--dir and a command are required")
    return (
        values["--dir"],
        int(values["--max-log-bytes"]),
        int(values["--tail-bytes"]),
        int(values["--deadline"]),
        int(values["--grace-ms"]),
        warm,
        command,
    )


def main():
    job_dir, max_log_bytes, tail_bytes, deadline, grace_ms, warm, command = parse_args(sys.argv[1:])
    job_json = os.path.join(job_dir, "job.json")
    # The job's processes are told apart by their process group: never share one with whoever started this.
    if os.getpgrp() != os.getpid():
        os.setpgid(0, 0)
    pgid = os.getpgrp()
    log = CappedLog(os.path.join(job_dir, "spark.log"), max_log_bytes, tail_bytes)
    redactor = Redactor(os.path.join(job_dir, "redact.json"))
    if not warm:
        redactor.load()
    state = {"child": None, "terminating": False}

    def on_signal(signum, _frame):
        # A cancel signals the whole group; when only this process is signalled, pass it on to the job.
        state["terminating"] = True
        child = state["child"]
        if child is not None and child.poll() is None:
            try:
                child.send_signal(signum)
            except OSError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=job_dir
        )
    except OSError as exc:
        log.note("could not start %s: %s" % (command[0], exc))
        log.close()
        write_json(os.path.join(job_dir, "exit.json"), {"code": 127, "signal": None, "at": now_ms(), "timedOut": False})
        return
    state["child"] = child
    log.note("supervisor %d started %s as pid %d" % (os.getpid(), os.path.basename(command[0]), child.pid))

    timed_out = False
    kill_at = None
    out = child.stdout.fileno()
    open_pipe = True
    drain_until = None
    while True:
        chunk = b""
        if open_pipe:
            ready, _, _ = select.select([out], [], [], 0.2)
            if ready:
                chunk = os.read(out, 65536)
                if not chunk:
                    open_pipe = False
        else:
            time.sleep(0.05)
        # Before the output is written: a warm driver's job (and its secrets) may have arrived since the last look.
        if warm and os.path.exists(job_json):
            warm = False
            redactor.load()
            try:
                with open(job_json, encoding="utf-8") as fh:
                    deadline = int(json.load(fh).get("deadline") or 0)
            except (OSError, ValueError):
                pass
            log.note("assigned a job" + (" with its deadline at %d" % deadline if deadline else ""))
        if chunk:
            log.write(redactor.feed(chunk))
        now = now_ms()
        if deadline and not timed_out and now >= deadline:
            timed_out = True
            write_json(os.path.join(job_dir, "timeout.json"), {"at": now, "deadline": deadline})
            log.note("the job passed its deadline: stopping it (SIGTERM, SIGKILL after %d ms)" % grace_ms)
            signal_members(pgid, signal.SIGTERM)
            kill_at = now + grace_ms
        if kill_at is not None and now >= kill_at:
            log.note("the job did not stop within %d ms: SIGKILL" % grace_ms)
            signal_members(pgid, signal.SIGKILL)
            kill_at = None
        if child.poll() is not None:
            # Output may still sit in the pipe; other processes may hold it open, so stop reading after a moment.
            if drain_until is None:
                drain_until = time.time() + 1.0
            if not open_pipe or time.time() >= drain_until:
                break

    log.write(redactor.flush())
    code = child.returncode
    # What the driver left behind (the Python driver of a killed JVM, for instance) gets a moment, then is stopped.
    if not wait_members_gone(pgid, 3.0):
        signal_members(pgid, signal.SIGTERM)
        if not wait_members_gone(pgid, 2.0):
            signal_members(pgid, signal.SIGKILL)
            wait_members_gone(pgid, 2.0)
    if warm and not os.path.exists(job_json):
        # A warm driver that never got a job: nothing here is anyone's record.
        log.close()
        shutil.rmtree(job_dir, ignore_errors=True)
        return
    record = {"code": None, "signal": None, "at": now_ms(), "timedOut": timed_out}
    if code is not None and code < 0:
        record["signal"] = signal.Signals(-code).name
        log.note("%s was killed by %s" % (os.path.basename(command[0]), record["signal"]))
    else:
        record["code"] = code
        log.note("%s exited with code %s" % (os.path.basename(command[0]), code))
    log.close()
    write_json(os.path.join(job_dir, "exit.json"), record)


if __name__ == "__main__":
    main()
